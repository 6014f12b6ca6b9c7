import ArgumentParser
import Events
import Foundation
import Rendering
import Logging
import Projections
import Workers

/// `admin snapshot create|list|verify|restore|prune`: snapshots of the read models.
struct Snapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Snapshots of the read models: consistent, compressed copies at one log position.",
        discussion: """
            Snapshots live in --snapshots DIR (default ./snapshots), one folder each: \
            <position>-<recordedAt>/manifest.json and projections.sqlite.zst. Time travel (--at) starts \
            from the newest usable one at or before T.
            """,
        subcommands: [
            SnapshotCreate.self, SnapshotList.self, SnapshotVerify.self, SnapshotRestore.self, SnapshotPrune.self,
        ])
}

/// `--snapshots DIR`, shared by the snapshot commands.
struct SnapshotFolderOptions: ParsableArguments {
    @Option(help: "The snapshots folder (default: ./snapshots).") var snapshots: String = "./snapshots"

    func validate() throws {
        if snapshots.isEmpty { throw ValidationError("--snapshots must not be empty") }
    }

    func store(logger: Logger = Logger(label: "hromada.snapshots")) -> SnapshotStore {
        SnapshotStore(directory: snapshots, tool: "hromada-ledger admin", logger: logger)
    }
}

/// A size in bytes for people: `812 B`, `1.4 MB`.
func humanBytes(_ n: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
}

/// A snapshot as `list --json` and `verify --json` print it.
func snapshotJSON(_ info: SnapshotStore.Info) -> JSONValue {
    var object: [String: JSONValue] = [
        "name": .string(info.name), "usable": .bool(info.isUsable),
        "problem": info.problem.map { .string($0.message) } ?? .null,
        "problemCode": info.problem.map { .string($0.code.description) } ?? .null,
    ]
    if let m = info.manifest {
        object["position"] = .int(m.position)
        object["recordedAt"] = .string(m.recordedAt)
        object["chainHash"] = .string(m.chainHash)
        object["createdAt"] = .string(m.createdAt)
        object["compressedBytes"] = .int(m.content.compressedBytes)
        object["rawBytes"] = .int(m.content.rawBytes)
        object["projections"] = .array(
            m.projections.map { .object(["name": .string($0.name), "schemaVersion": .int(Int64($0.schemaVersion))]) })
    }
    return .object(object)
}

struct SnapshotCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Bring the read models up to the head and snapshot them (or snapshot the state as of --at).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var folder: SnapshotFolderOptions
    @Option(help: "Snapshot the state as of T (a date, a date-time, or position:N), rebuilt beside the live read models.")
    var at: String?
    @Option(help: "zstd level, 1 (fast) to 19 (small).") var level: Int32 = SnapshotStore.defaultCompressionLevel

    func validate() throws {
        if let at, TimePoint(at) == nil {
            throw ValidationError("--at must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N")
        }
        if !(1...19).contains(level) { throw ValidationError("--level must be between 1 and 19") }
    }

    func run() throws {
        Interrupt.install()
        global.bootstrapLogging()
        do {
            let reader = try global.logReader()
            let snapshots = SnapshotStore(directory: folder.snapshots, compressionLevel: level, tool: "hromada-ledger admin")
            let created: SnapshotStore.Created
            if let at = at.flatMap(TimePoint.init) {
                let position = try at.position(in: reader)
                let past = try TimeMachine(reader: reader, snapshots: snapshots).state(at: position)
                defer { past.discard() }
                created = try snapshots.create(from: past.store, source: LogEventSource(reader: reader, upTo: position))
            } else {
                let store = try openProjections(try global.storeAccess())
                defer { try? store.close() }
                created = try snapshots.create(from: store, source: LogEventSource(reader: reader))
            }
            let m = created.info.manifest
            if created.isNew {
                print("snapshot \(created.info.name) written: position \(m?.position ?? 0), recorded at \(m?.recordedAt ?? "?")")
                if let m {
                    print("  \(humanBytes(m.content.compressedBytes)) compressed from \(humanBytes(m.content.rawBytes)); projections \(m.projections.map { "\($0.name) v\($0.schemaVersion)" }.joined(separator: ", "))")
                }
            } else {
                print("snapshot \(created.info.name) exists already at position \(m?.position ?? 0); nothing written")
            }
        } catch { throw fail(error) }
    }
}

struct SnapshotList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the snapshots, oldest first, and say why any would be skipped.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var folder: SnapshotFolderOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        Interrupt.install()
        do {
            let reader = try global.readerIfStore()
            let infos = try folder.store().list(reader: reader)
            if json {
                printJSON(JSONValue.array(infos.map(snapshotJSON)))
                return
            }
            if infos.isEmpty {
                print("no snapshots in \(folder.snapshots)")
                return
            }
            print("NAME".padding(toLength: 38, withPad: " ", startingAt: 0) + "  POSITION  RECORDED AT           SIZE       STATUS")
            for i in infos {
                let position = i.manifest.map { String($0.position) } ?? "?"
                let recorded = i.manifest?.recordedAt ?? "?"
                let size = i.manifest.map { humanBytes($0.content.compressedBytes) } ?? "?"
                let status = i.problem.map { "skipped (\($0.code)): \($0.message)" } ?? (reader == nil ? "not checked (no store)" : "usable")
                print(
                    i.name.padding(toLength: 38, withPad: " ", startingAt: 0) + "  "
                        + String(repeating: " ", count: max(0, 8 - position.count)) + position + "  "
                        + recorded.padding(toLength: 20, withPad: " ", startingAt: 0) + "  "
                        + size.padding(toLength: 9, withPad: " ", startingAt: 0) + "  " + status)
            }
        } catch { throw fail(error) }
    }
}

struct SnapshotVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check snapshots against their checksums and the log's hash chain; exit 1 if any is damaged or foreign.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var folder: SnapshotFolderOptions
    @Argument(help: "Snapshot names or positions (default: all).") var names: [String] = []
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        Interrupt.install()
        do {
            let reader = try global.logReader()
            let store = folder.store()
            let names = self.names.isEmpty ? try store.list(reader: nil, projections: []).map(\.name) : self.names
            var results: [SnapshotStore.Info] = []
            for name in names { results.append(try store.verify(name, reader: reader)) }
            let bad = results.filter { r in r.problem.map { $0.code != .stale } ?? false }
            if json {
                printJSON(JSONValue.array(results.map(snapshotJSON)))
            } else {
                if results.isEmpty { print("no snapshots in \(folder.snapshots)") }
                for r in results {
                    switch r.problem {
                    case nil: print("ok       \(r.name)")
                    case let p? where p.code == .stale: print("stale    \(r.name): intact, but \(p.message)")
                    case let p?: print("REFUSED  \(r.name): \(p.message)")
                    }
                }
            }
            if !bad.isEmpty {
                if !json { printError("error: \(bad.count) of \(results.count) snapshots are refused (damaged, unreadable or of another history)") }
                throw ExitCode(1)
            }
        } catch let code as ExitCode {
            throw code
        } catch { throw fail(error) }
    }
}

struct SnapshotRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put the read models back at a snapshot's position (verified first); workers catch up from there.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var folder: SnapshotFolderOptions
    @Argument(help: "The snapshot's name or position (default: the newest usable one).") var name: String?
    @Flag(name: .customLong("catch-up"), help: "Then bring the read models up to the head at once.")
    var catchUp = false

    func run() throws {
        Interrupt.install()
        global.bootstrapLogging()
        do {
            let reader = try global.logReader()
            let snapshots = folder.store()
            let store = try openProjections(try global.storeAccess())
            defer { try? store.close() }
            let chosen: String
            if let name {
                chosen = name
            } else {
                guard let newest = try snapshots.list(reader: reader, projections: store.projections).last(where: \.isUsable) else {
                    throw SnapshotError(.notFound, "no usable snapshot in \(folder.snapshots) (see `admin snapshot list`)")
                }
                chosen = newest.name
            }
            let manifest = try snapshots.restore(chosen, into: store, reader: reader)
            print("restored the read models to position \(manifest.position) (recorded at \(manifest.recordedAt))")
            if catchUp {
                let report = try store.catchUp(source: LogEventSource(reader: reader))
                print("caught up: \(report.eventsRead) events applied; head position \(try reader.head().position)")
            } else {
                print("run `admin project` or the workers to catch up to the head")
            }
        } catch { throw fail(error) }
    }
}

struct SnapshotPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove old snapshots: keep the newest N, and/or one a day for D days and one a month before that.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var folder: SnapshotFolderOptions
    @Option(help: "Keep the newest N snapshots.") var keep: Int?
    @Option(help: "Keep one a day (the newest of each day, by recordedAt) for D days.") var daily: Int?
    @Option(help: "With --daily, keep one a month before that for M months (default: every month).") var monthly: Int?
    @Flag(help: "Also remove snapshots that cannot be used (damaged, stale, another history).") var unusable = false
    @Flag(name: .customLong("dry-run"), help: "Only say what would be removed.") var dryRun = false

    func validate() throws {
        if keep == nil && daily == nil { throw ValidationError("give --keep N and/or --daily D") }
        if let keep, keep < 0 { throw ValidationError("--keep must be >= 0") }
        if let daily, daily <= 0 { throw ValidationError("--daily must be > 0") }
        if let monthly, monthly <= 0 { throw ValidationError("--monthly must be > 0") }
        if monthly != nil && daily == nil { throw ValidationError("--monthly goes with --daily") }
    }

    func run() throws {
        Interrupt.install()
        global.bootstrapLogging()
        do {
            let reader = try global.readerIfStore()
            let retention: SnapshotRetention =
                daily.map { .daily(forDays: $0, thenMonthlyForMonths: monthly, keepLast: keep ?? 1) } ?? .keep(keep ?? 0)
            let removed = try folder.store().prune(retention, reader: reader, unusable: unusable, dryRun: dryRun)
            for name in removed { print("\(dryRun ? "would remove" : "removed") \(name)") }
            print("\(removed.count) snapshot\(removed.count == 1 ? "" : "s") \(dryRun ? "would be " : "")removed")
        } catch { throw fail(error) }
    }
}
