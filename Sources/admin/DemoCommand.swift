import ArgumentParser
import DemoHistory
import Events
import Foundation
import Projections
import Rendering
import Workers

/// The main job: a realistic generated history into the store, read models built, snapshots
/// taken along the way, and a short tour.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The main job: a generated multi-year history into the store, read models built, results shown.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "About this many events.") var events: Int = 30_000
    @Option(help: "Seed of the generator (the same seed gives the same history).") var seed: UInt64 = 2020
    @Option(help: "Where snapshots go.") var snapshots: String = "./snapshots"
    @Option(help: "Snapshots taken along the import.") var phases: Int = 4

    func validate() throws {
        if events < 1000 { throw ValidationError("--events must be at least 1000") }
        if phases < 1 || phases > 20 { throw ValidationError("--phases must be 1...20") }
    }

    func run() throws {
        global.bootstrapLogging()
        do { try demo() } catch { throw fail(error) }
    }

    private func step(_ text: String) { print("\n== \(text)") }

    private func demo() throws {
        let layout = global.layout
        let progress = Progress()
        step("1. A history of about \(events) events: communities of every oblast, competitions 2018 on, jury, network, seminars, catalog")
        let file = FileManager.default.temporaryDirectory.path + "/hromada-demo-\(seed)-\(events).jsonl"
        let generator = HistoryGenerator(seed: seed, targetEvents: events)
        let count = try generator.write(toPath: file)
        defer { try? FileManager.default.removeItem(atPath: file) }
        print("generated \(count) events (seed \(seed))")

        step("2. Import into \(layout.root), building read models and taking a snapshot after each of \(phases) phases")
        try layout.initialize()
        let store = try EventStore(layout: layout, options: global.storeOptions())
        let projections = try openProjections(.folder(layout))
        defer { try? projections.close() }
        let reader = try EventLogReader(layout: layout)
        let snapshotStore = SnapshotStore(directory: snapshots)
        let lines = try LineReader(path: file)
        let perPhase = (count + phases - 1) / phases
        let started = Date()
        var totals = EventStore.ImportResult()
        for phase in 1...phases {
            var left = perPhase
            let result = try store.importLines(options: EventStore.ImportOptions(), next: {
                guard left > 0 else { return nil }
                left -= 1
                let line = try lines.next()
                if let _ = line { progress.update("importing", done: lines.lineNumber, of: count) }
                return line
            })
            totals.appended += result.appended
            totals.duplicates += result.duplicates
            progress.done()
            let caught = try projections.catchUp(source: LogEventSource(reader: reader))
            let snap = try snapshotStore.create(from: projections, source: LogEventSource(reader: reader))
            let headTime = try reader.head().recordedAt?.rfc3339 ?? "-"
            print("phase \(phase): head \(store.head) (recorded \(headTime)), \(caught.eventsRead) events projected, snapshot \(snap.info.name)\(snap.isNew ? "" : " (already there)")")
        }
        store.close()
        let seconds = Date().timeIntervalSince(started)
        print("imported \(totals.appended) new events (\(totals.duplicates) already in the log) in \(String(format: "%.1f", seconds)) s")

        let verify = try LogVerifier(layout: layout).verify()
        print("verify: \(verify.ok ? "ok" : "DAMAGED"), \(verify.events) events, head hash \(verify.headHash ?? "-")")

        step("3. The leaderboard of the 2020 competition, theme 1 (Влада та громада: інформування, діалог, участь)")
        print(try projections.leaderboard(competitionId: "bp-2020", themeCode: "1").renderText().firstLines(14))

        step("4. Regional statistics")
        print(try projections.regions().renderText())

        step("5. The practices catalog: «бюджет участі» (finds бюджету, бюджетний, ...)")
        print(try projections.catalog(query: "бюджет участі", limit: 5).renderText())

        step("6. Time travel: the same leaderboard as it stood on 1 October 2020, before the winners")
        let machine = TimeMachine(reader: reader, snapshots: snapshotStore)
        let at = Timestamp(rfc3339: "2020-10-01T23:59:59Z")!
        let t0 = Date()
        let past = try machine.state(at: try machine.position(at: at), projections: ["leaderboard"])
        defer { past.discard() }
        print(try past.store.leaderboard(competitionId: "bp-2020", themeCode: "1").renderText().firstLines(14))
        let r = past.report
        print(
            "answered in \(String(format: "%.2f", Date().timeIntervalSince(t0))) s from \(r.snapshot.map { "snapshot \($0)" } ?? "an empty state") + \(r.eventsReplayed) events replayed; the live read models were not touched")

        step("Next")
        print("""
            admin stats --store \(layout.root)
            admin query leaderboard --competition bp-2021 --theme 2 --store \(layout.root)
            admin query catalog громадський бюджет --oblast UA-53 --store \(layout.root)
            admin query regions --at 2019-12-31 --json --store \(layout.root)
            admin history submission-bp-2020-00001 --store \(layout.root)
            admin workers --store \(layout.root)      # follow the log; Ctrl-C stops
            """)
    }
}

/// A progress line on a terminal (standard error), nothing otherwise.
final class Progress {
    private let isTerminal = isatty(2) != 0
    private var last = Date.distantPast

    func update(_ what: String, done: Int, of total: Int) {
        guard isTerminal, Date().timeIntervalSince(last) > 0.1 else { return }
        last = Date()
        let pct = total > 0 ? done * 100 / total : 0
        FileHandle.standardError.write(Data("\r\(what) \(done)/\(total) (\(pct)%)   ".utf8))
    }

    func done() {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

extension String {
    /// The first `n` lines, and how many more there are.
    func firstLines(_ n: Int) -> String {
        let lines = split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > n else { return self }
        return lines.prefix(n).joined(separator: "\n") + "\n… \(lines.count - n) more lines"
    }
}
