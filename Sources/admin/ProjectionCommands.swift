import ArgumentParser
import Events
import Foundation
import Logging
import Projections
import Rendering
import ServiceLifecycle
import Workers

extension Admin {
    static let projectionCommands: [any ParsableCommand.Type] = [
        Stats.self, Project.self, WorkersCommand.self, Rebuild.self, Query.self, Replay.self,
    ]
}

/// Opens the live read models of a store. One-shot commands build no search index in the
/// background (`backgroundIndexing`); long-running ones (workers) do.
///
/// The file is derived from the log: when it is damaged (not a database, truncated), it is
/// moved aside, never deleted, and the read models are rebuilt from the log, with a warning.
/// The read models of a PostgreSQL store are in a folder of the host's (``ReadModelFolder``),
/// checked first to be of this store's log.
func openProjections(_ access: StoreAccess, backgroundIndexing: Bool = false) throws -> ProjectionStore {
    try ReadModelFolder.check(access)
    do {
        return try ProjectionStore(
            path: access.projectionsPath, logger: Logger(label: "hromada.projections"),
            backgroundIndexing: backgroundIndexing)
    } catch let error as ProjectionError where error.code == .damaged {
        return try rebuildDamagedProjections(access, error, backgroundIndexing: backgroundIndexing)
    }
}

/// Moves the damaged projections file aside, builds fresh read models from the log, says so.
func rebuildDamagedProjections(
    _ access: StoreAccess, _ error: ProjectionError, backgroundIndexing: Bool = false
) throws -> ProjectionStore {
    let moved = try ProjectionStore.moveAside(path: access.projectionsPath)
    let store = try ProjectionStore(
        path: access.projectionsPath, logger: Logger(label: "hromada.projections"), backgroundIndexing: backgroundIndexing)
    do {
        let reader = try access.makeReader()
        let report = try store.catchUp(source: LogEventSource(reader: reader))
        let reason = error.briefCause ?? error.message
        printError(
            "warning: the read models were damaged (\(reason)); moved the file aside to \(moved) and rebuilt them from the log (\(report.eventsRead) events)")
        return store
    } catch {
        try? store.close()
        throw error
    }
}

/// Runs `body` on the live read models and closes them. When SQLite finds the file damaged
/// part-way (a malformed page), the file is moved aside, rebuilt from the log, and `body` runs
/// once more on the rebuilt read models.
func withProjections<T>(_ access: StoreAccess, _ body: (ProjectionStore) throws -> T) throws -> T {
    let store = try openProjections(access)
    do {
        defer { try? store.close() }
        return try body(store)
    } catch let error as ProjectionError where error.code == .damaged {
        let fresh = try rebuildDamagedProjections(access, error)
        defer { try? fresh.close() }
        return try body(fresh)
    }
}

struct Project: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the read models up to the head once, then exit.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this projection (\(StandardProjections.names.joined(separator: ", "))).")
    var projection: String?

    func validate() throws {
        if let projection, !StandardProjections.names.contains(projection) {
            throw ValidationError("--projection must be one of \(StandardProjections.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        global.bootstrapLogging()
        do {
            let reader = try global.logReader()
            try withProjections(try global.storeAccess()) { store in
                let names = projection.map { [$0] }
                let stale = try store.status().filter { $0.isStale && (names?.contains($0.name) ?? true) }.map(\.name)
                if !stale.isEmpty {
                    print("rebuilding stale projections: \(stale.joined(separator: ", "))")
                    _ = try store.rebuild(projections: stale, source: LogEventSource(reader: reader))
                }
                let started = Date()
                let report = try store.catchUp(source: LogEventSource(reader: reader), projections: names)
                let seconds = Date().timeIntervalSince(started)
                print("applied \(report.eventsRead) events in \(String(format: "%.2f", seconds)) s; head position \(try reader.head().position)")
                for (name, asOf) in report.checkpoints.sorted(by: { $0.key < $1.key }) {
                    print("  \(name): checkpoint \(asOf.position)")
                }
            }
        } catch { throw fail(error) }
    }
}

struct Rebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild read models from the log beside the live ones, then swap them in atomically.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this projection.") var projection: String?
    @Flag(help: "Print timing as JSON.") var json = false

    func validate() throws {
        if let projection, !StandardProjections.names.contains(projection) {
            throw ValidationError("--projection must be one of \(StandardProjections.names.joined(separator: ", "))")
        }
    }

    struct Result: Encodable {
        var events: Int64
        var seconds: Double
        var projections: Int
    }

    func run() throws {
        global.bootstrapLogging()
        Interrupt.install(cooperative: true)
        do {
            let reader = try global.logReader()
            let head = try reader.head().position
            let started = Date()
            let rebuilt = try withProjections(try global.storeAccess()) { store in
                let progress = ProgressLine(label: "rebuilding", unit: "events")
                defer { progress.finish() }
                return try store.rebuild(
                    projections: projection.map { [$0] }, source: LogEventSource(reader: reader),
                    progress: { progress.update(done: Int($0), fraction: head > 0 ? Double($0) / Double(head) : nil) },
                    isCancelled: { Interrupt.requested })
            }
            let seconds = Date().timeIntervalSince(started)
            let position = rebuilt.values.map(\.position).max() ?? head
            if json {
                try printJSON(Result(events: position, seconds: seconds, projections: rebuilt.count))
            } else {
                print("rebuilt \(rebuilt.keys.sorted().joined(separator: ", ")) from \(position) events in \(String(format: "%.2f", seconds)) s (\(Int(Double(position) / max(seconds, 1e-9))) events/s)")
            }
        } catch { throw fail(error) }
    }
}

struct WorkersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "Run the projection workers: catch up, then follow the log until SIGTERM/SIGINT.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds between polls when no change is notified.") var poll: Double = 1
    @Option(name: .customLong("snapshot-every"), help: "Take a snapshot every N events applied (0: never).")
    var snapshotEvery: Int = 0
    @Option(name: .customLong("snapshot-minutes"), help: "Take a snapshot every T minutes when events were applied (0: never).")
    var snapshotMinutes: Double = 0
    @Option(help: "Where snapshots go.") var snapshots: String = "./snapshots"
    @Option(
        name: .customLong("audit-every"),
        help: "Run the replay check (replay --check) every T minutes; a read model found to differ is not served until rebuilt (0: never).")
    var auditEvery: Double = 0
    @Option(help: "Publish signed receipts of the log's head into this folder (with --receipt-key).")
    var receipts: String?
    @Option(name: .customLong("receipt-key"), help: "The private key receipts are signed with (admin keys create).")
    var receiptKey: String?
    @Option(name: .customLong("receipt-every"), help: "Publish a receipt every N new events (0: not by count).")
    var receiptEvery: Int = 0
    @Option(name: .customLong("receipt-minutes"), help: "Publish a receipt every T minutes with new events (0: not by time).")
    var receiptMinutes: Double = 0

    func validate() throws {
        if poll <= 0 { throw ValidationError("--poll must be > 0") }
        if snapshotEvery < 0 || snapshotMinutes < 0 { throw ValidationError("snapshot intervals must be >= 0") }
        if auditEvery < 0 { throw ValidationError("--audit-every must be >= 0") }
        if (receipts == nil) != (receiptKey == nil) { throw ValidationError("--receipts and --receipt-key go together") }
        if receiptEvery < 0 || receiptMinutes < 0 { throw ValidationError("receipt intervals must be >= 0") }
        if receipts != nil, receiptEvery == 0, receiptMinutes == 0 {
            throw ValidationError("with --receipts, say how often: --receipt-every N or --receipt-minutes T")
        }
    }

    func run() async throws {
        global.bootstrapLogging()
        do {
            let reader = try global.logReader()
            let store = try openProjections(try global.storeAccess(), backgroundIndexing: true)
            let watcher = try global.storeAccess().makeWatcher(.milliseconds(Int(poll * 1000)))
            var hooks: [any WorkerHook] = []
            if let snapshotHook = try makeSnapshotHook(
                access: try global.storeAccess(), directory: snapshots, everyEvents: snapshotEvery, everyMinutes: snapshotMinutes)
            {
                hooks.append(snapshotHook)
            }
            if auditEvery > 0 { hooks.append(AuditPolicy(audit: ReplayAudit(reader: reader), everyMinutes: auditEvery)) }
            if let receipts, let receiptKey {
                hooks.append(
                    ReceiptPolicy(
                        reader: reader, key: try ReceiptKeys.loadPrivate(receiptKey), directory: receipts,
                        everyEvents: receiptEvery > 0 ? Int64(receiptEvery) : nil,
                        everyMinutes: receiptMinutes > 0 ? receiptMinutes : nil))
            }
            let hook: (any WorkerHook)? = hooks.isEmpty ? nil : WorkerHooks(hooks)
            let worker = ProjectionWorker(
                projections: store, source: LogEventSource(reader: reader), watcher: watcher, hook: hook,
                logger: Logger(label: "hromada.workers"))
            var logger = Logger(label: "hromada.workers")
            logger.logLevel = global.logLevel
            let group = ServiceGroup(
                configuration: .init(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            printError("workers running on \(try global.storeAccess().name); SIGTERM or Ctrl-C stops them")
            try await group.run()
            try? store.close()
            printError("workers stopped cleanly")
        } catch { throw fail(error) }
    }
}

/// Options every query shares.
struct QueryOptions: ParsableArguments {
    @Flag(help: "Print JSON (shapes in docs/READ-MODELS.md), stamped with the position and recordedAt it reflects.")
    var json = false
    @Option(help: "Answer as of recorded time T: a date (its end, UTC), a date-time, or position:N.")
    var at: String?
    @Option(help: "Where snapshots are looked for (time travel).") var snapshots: String = "./snapshots"

    func validate() throws {
        if let at, TimePoint(at) == nil {
            throw ValidationError("--at must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N")
        }
    }
}

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a read model: leaderboard, regions, catalog, network, seminars.",
        subcommands: [LeaderboardQuery.self, RegionsQuery.self, CatalogQuery.self, NetworkQuery.self, SeminarsQuery.self])
}

/// Runs `body` against the live read models, or against the state as of `--at`.
func answer<T: Encodable & TextRenderable>(
    global: GlobalOptions, options: QueryOptions, projections: [String], _ body: (ProjectionStore) throws -> T
) throws {
    global.bootstrapLogging()
    let (result, note) = try queryResult(global: global, at: options.at, snapshots: options.snapshots, projections: projections, body)
    if options.json {
        try printJSON(result)
    } else {
        print(result.renderText())
        if let note { print(note) }
    }
}

/// What `body` answers on the live read models (refusing one a replay check found different
/// from the log), or as of `at` with a note saying how that past was built.
func queryResult<T>(
    global: GlobalOptions, at: String?, snapshots: String, projections: [String], _ body: (ProjectionStore) throws -> T
) throws -> (result: T, note: String?) {
    if let at = at.flatMap(TimePoint.init) {
        let travelled = try timeTravel(access: try global.storeAccess(), at: at, snapshots: snapshots, projections: projections, body)
        return (travelled.result, travelled.note)
    }
    let result = try withProjections(try global.storeAccess()) { store in
        try store.requireMatchesLog(projections)
        return try body(store)
    }
    return (result, nil)
}

struct LeaderboardQuery: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leaderboard", abstract: "A competition's leaderboard per theme.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: QueryOptions
    @Option(help: "The competition's id, e.g. bp-2020.") var competition: String
    @Option(help: "One theme's code (default: every theme).") var theme: String?
    @Option(help: "Only communities of this kind: urban, settlement, rural.") var kind: String?
    @Option(help: "At most N rows of each board (a page; the JSON then has \"page\").") var limit: Int?
    @Option(help: "Skip the first N rows of each board, in rank order (with or without --limit).") var offset: Int?

    func validate() throws {
        if let kind, !["urban", "settlement", "rural"].contains(kind) {
            throw ValidationError("--kind must be urban, settlement or rural")
        }
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if let offset, offset < 0 { throw ValidationError("--offset must be 0 or more") }
    }

    func run() throws {
        let page = (limit != nil || offset != nil) ? (limit: limit, offset: offset ?? 0) : nil
        do {
            try answer(global: global, options: options, projections: ["leaderboard"]) {
                try LeaderboardSet.value($0, competitionId: competition, themeCode: theme, kind: kind, page: page)
            }
        } catch { throw fail(error) }
    }
}

struct RegionsQuery: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "regions", abstract: "Regional statistics per oblast.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: QueryOptions

    func run() throws {
        do { try answer(global: global, options: options, projections: ["regions"]) { try $0.regions() } } catch {
            throw fail(error)
        }
    }
}

struct CatalogQuery: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "Full-text search of the practices catalog (Ukrainian); no TEXT lists all.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: QueryOptions
    @Argument(help: "Words to search for.") var text: [String] = []
    @Option(help: "Only practices of this sector (e.g. governance, education).") var sector: String?
    @Option(help: "Only practices of this direction (budget-process, administrative-services, strategic-planning).") var direction: String?
    @Option(help: "Only practices with this participation form (informing, consultation, dialogue, active-involvement).") var form: String?
    @Option(help: "Only practices of communities in this oblast (ISO 3166-2 code, e.g. UA-53).") var oblast: String?
    @Option(help: "Only practices of this community (its id).") var community: String?
    @Option(help: "How many hits to show (1...10000); the total is counted in full.") var limit: Int = 20

    func validate() throws {
        if limit < 1 || limit > 10_000 { throw ValidationError("--limit must be 1...10000") }
    }

    func run() throws {
        do {
            let filters = CatalogFilters(sector: sector, direction: direction, form: form, oblast: oblast, community: community)
            let query = text.isEmpty ? nil : text.joined(separator: " ")
            try answer(global: global, options: options, projections: ["catalog"]) {
                try $0.catalog(query: query, filters: filters, limit: limit)
            }
        } catch { throw fail(error) }
    }
}

struct NetworkQuery: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "network", abstract: "The communities in the network now.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: QueryOptions

    func run() throws {
        do { try answer(global: global, options: options, projections: ["network"]) { try $0.network() } } catch {
            throw fail(error)
        }
    }
}

struct SeminarsQuery: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seminars", abstract: "Each seminar with attendance.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: QueryOptions

    func run() throws {
        do { try answer(global: global, options: options, projections: ["seminars"]) { try $0.seminars() } } catch {
            throw fail(error)
        }
    }
}
