import ArgumentParser
import DemoHistory
import Events
import Foundation
import Logging
import Projections
import Workers

// Measurements that `scripts/bench.sh` runs on its store (each prints `name: value` lines).
// They measure; they never assert. Hidden from `admin --help`.

extension Admin {
    static let benchCommands: [any ParsableCommand.Type] = [BenchAppenders.self, BenchLatency.self, BenchSearch.self, BenchTimeTravel.self]
}

/// Percentiles of a sample (nearest rank).
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }

func elapsed(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// The path of this executable.
func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

struct BenchLatency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-latency", abstract: "Append-to-visible latency with `admin workers` running in another process.",
        shouldDisplay: false)
    @OptionGroup var global: GlobalOptions
    @Option var appends: Int = 1000

    func run() throws {
        global.bootstrapLogging()
        do {
            let layout = global.layout
            let reader = try EventLogReader(layout: layout)
            let projections = try openProjections(.folder(layout))
            defer { try? projections.close() }
            _ = try projections.catchUp(source: LogEventSource(reader: reader))
            let worker = Process()
            worker.executableURL = URL(fileURLWithPath: selfExecutable())
            worker.arguments = ["workers", "--store", layout.root, "--poll", "1"]
            worker.standardError = FileHandle.nullDevice
            try worker.run()
            defer {
                worker.terminate()
                worker.waitUntilExit()
            }
            Thread.sleep(forTimeInterval: 1)
            let store = try EventStore(layout: layout)
            defer { store.close() }
            let oblasts = ["UA-05", "UA-07", "UA-12", "UA-18", "UA-26", "UA-32", "UA-46", "UA-53", "UA-63", "UA-71"]
            var visible: [Double] = []
            var acknowledged: [Double] = []
            let run = UUID().uuidString.prefix(8).lowercased()
            for i in 0..<appends {
                let id = "bench-\(run)-\(i)"
                let event = ProposedEvent(
                    stream: "community-\(id)", type: "CommunityRegistered", occurredAt: .now(), expectedVersion: -1,
                    data: [
                        "communityId": .string(id), "name": .string("Громада \(i)"), "oblast": .string(oblasts[i % oblasts.count]),
                        "kind": "rural", "settlements": 3, "population": 4200, "council": ["name": .string("Рада \(i)")],
                    ], metadata: ["actor": "bench"])
                let t0 = ContinuousClock.now
                let position = try store.append([event]).positions[0]
                let acked = elapsed(since: t0)
                let t1 = ContinuousClock.now
                while try projections.checkpoint(of: "regions").position < position {
                    if elapsed(since: t1) > 10 { throw EventStoreError(.io, "the workers did not apply position \(position) within 10 s") }
                    usleep(200)
                }
                acknowledged.append(acked)
                visible.append(elapsed(since: t1))
            }
            print("appends: \(appends) (one event each, fsynced; workers in another process)")
            print("append acknowledged ms: median \(ms(percentile(acknowledged, 50))) p99 \(ms(percentile(acknowledged, 99)))")
            print("append-to-visible ms: median \(ms(percentile(visible, 50))) p99 \(ms(percentile(visible, 99))) max \(ms(visible.max() ?? .nan))")
        } catch { throw fail(error) }
    }
}

struct BenchSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-search", abstract: "Catalog search latency over at least N practices (adds practices when fewer).",
        shouldDisplay: false)
    @OptionGroup var global: GlobalOptions
    @Option var practices: Int = 10_000
    @Option var queries: Int = 1000

    func run() throws {
        global.bootstrapLogging()
        do {
            let layout = global.layout
            let reader = try EventLogReader(layout: layout)
            let projections = try openProjections(.folder(layout))
            defer { try? projections.close() }
            _ = try projections.catchUp(source: LogEventSource(reader: reader))
            var total = try projections.catalog(query: nil, limit: 1).total
            if total < practices {
                // Republish existing practices under new ids until there are enough.
                var templates: [RecordedEvent] = []
                try reader.forEach { e in
                    if e.kind == .practicePublished { templates.append(e) }
                    return true
                }
                guard !templates.isEmpty else { throw EventStoreError(.notFound, "the store has no published practice to copy") }
                let store = try EventStore(layout: layout)
                var n = 0
                let run = UUID().uuidString.prefix(8).lowercased()
                while total < practices {
                    var batch: [ProposedEvent] = []
                    for _ in 0..<min(1000, practices - total) {
                        let t = templates[n % templates.count]
                        var data = t.data
                        let id = "bench-\(run)-\(n)"
                        data["practiceId"] = .string(id)
                        data.removeValue(forKey: "sourceSubmissionId")
                        batch.append(ProposedEvent(stream: "practice-\(id)", type: "PracticePublished", occurredAt: .now(), data: data))
                        n += 1
                    }
                    total += try store.append(batch).appended
                }
                store.close()
                _ = try projections.catchUp(source: LogEventSource(reader: reader))
                total = try projections.catalog(query: nil, limit: 1).total
            }
            let words = [
                "бюджет", "бюджет участі", "молодь", "школа", "ЦНАП", "консультації", "сортування відходів",
                "енергоефективність", "культурна спадщина", "мешканців", "стратегія розвитку", "прозорість",
                "петиції", "інклюзивний", "Мереф'янська", "громадський бюджет", "ярмарок", "старостат", "рада", "освіта",
            ]
            let sectors: [String?] = [nil, nil, nil, "education", "governance", "youth-sports"]
            var durations: [Double] = []
            var found = 0
            for i in 0..<queries {
                let filters = CatalogFilters(sector: sectors[i % sectors.count])
                let t0 = ContinuousClock.now
                let page = try projections.catalog(query: words[i % words.count], filters: filters, limit: 20)
                durations.append(elapsed(since: t0))
                found += page.total
            }
            print("catalog practices: \(total); queries: \(queries) (20 rows, snippets, facets)")
            print("search ms: median \(ms(percentile(durations, 50))) p99 \(ms(percentile(durations, 99))) max \(ms(durations.max() ?? .nan)); mean hits \(found / max(queries, 1))")
        } catch { throw fail(error) }
    }
}

struct BenchTimeTravel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-timetravel",
        abstract: "A full rebuild, a snapshot, and `query leaderboard --at T` for random T with a snapshot every 10%.",
        shouldDisplay: false)
    @OptionGroup var global: GlobalOptions
    @Option var queries: Int = 20
    @Option var seed: UInt64 = 7

    func run() throws {
        global.bootstrapLogging()
        do {
            let layout = global.layout
            let reader = try EventLogReader(layout: layout)
            let projections = try openProjections(.folder(layout))
            defer { try? projections.close() }
            let head = try reader.head().position
            guard head >= 10 else { throw EventStoreError(.notFound, "the store holds too few events") }

            var t0 = ContinuousClock.now
            _ = try projections.rebuild(projections: nil, source: LogEventSource(reader: reader))
            let rebuild = elapsed(since: t0)
            print("full rebuild of every read model: \(String(format: "%.3f", rebuild)) s (\(head) events, \(Int(Double(head) / rebuild)) events/s)")

            let dir = FileManager.default.temporaryDirectory.path + "/hromada-bench-snapshots-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let snapshots = SnapshotStore(directory: dir)
            t0 = ContinuousClock.now
            _ = try snapshots.create(from: projections, source: LogEventSource(reader: reader))
            let snapshot = elapsed(since: t0)
            print("snapshot of every read model at the head: \(String(format: "%.3f", snapshot)) s (\(String(format: "%.3f", snapshot / rebuild)) of a rebuild)")

            // a snapshot every 10% of the log
            let machine = TimeMachine(reader: reader, snapshots: snapshots)
            t0 = ContinuousClock.now
            for k in 1...9 {
                let p = head * Int64(k) / 10
                let past = try machine.state(at: p)
                _ = try snapshots.create(from: past.store, source: LogEventSource(reader: reader, upTo: p))
                past.discard()
            }
            print("setup: 9 more snapshots at every 10% in \(String(format: "%.1f", elapsed(since: t0))) s")

            var rng = SplitMix64(state: seed)
            var times: [Double] = []
            var replayed: [Int] = []
            for _ in 0..<queries {
                let p = Int64(rng.next() % UInt64(head)) + 1
                guard let at = try reader.event(at: p)?.recordedAt else { continue }
                t0 = ContinuousClock.now
                let position = try machine.position(at: at)
                let past = try machine.state(at: position, projections: ["leaderboard"])
                // before the competition is announced the answer is "no such competition": still an answer
                _ = try? past.store.leaderboard(competitionId: "bp-2020", themeCode: "1")
                times.append(elapsed(since: t0))
                replayed.append(past.report.eventsReplayed)
                past.discard()
            }
            let median = percentile(times, 50)
            let worst = times.max() ?? .nan
            print("query leaderboard --at T (random T, \(times.count) runs): median \(ms(median)) ms, max \(ms(worst)) ms; median \(percentile(replayed.map(Double.init), 50)) events replayed")
            print("ratio to a full rebuild: median \(String(format: "%.4f", median / rebuild)), max \(String(format: "%.4f", worst / rebuild)) (goal <= 0.1)")
        } catch { throw fail(error) }
    }
}
