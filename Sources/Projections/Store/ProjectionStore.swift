import Events
import Foundation
import GRDB
import Logging
import Synchronization

/// The read models of a store, in one SQLite file (WAL) opened through one `DatabasePool`.
///
/// Every projection owns its tables and has a row in the `projections` bookkeeping table: its
/// schema version, its checkpoint (the last event its tables reflect), its state and last error.
/// Events are applied exactly once: ``apply(events:projection:)`` folds a batch and moves the
/// checkpoint in one write transaction, skipping what the checkpoint already covers.
/// ``rebuild(projections:source:batchSize:)`` builds fresh tables beside the live ones while
/// queries keep reading the live ones, then swaps them in one transaction.
///
/// Queries (``leaderboard(competitionId:themeCode:kind:)``, ``regions()``,
/// ``catalog(query:filters:limit:)``, ``network()``, ``seminars()``) read the live tables in one
/// read transaction together with the checkpoint they report as `asOf`.
public final class ProjectionStore: Sendable {
    /// The file name the store uses inside a store directory.
    public static let fileName = "projections.sqlite"

    /// The path of the SQLite file.
    public let path: String
    /// The projections this store maintains, in the order they are applied.
    public let projections: [any Projection]
    let pool: DatabasePool
    let logger: Logger
    /// Projections with a rebuild running in this process.
    let rebuildsRunning = Mutex<Set<String>>([])
    /// The in-memory catalog search index (see ``CatalogSearchStrategy``).
    let catalogIndex = Mutex(CatalogIndexCache())
    /// Whether searches may build the in-memory index on a background thread.
    let backgroundIndexing: Bool
    /// Background work on the pool: none starts once `close()` began, and `close()` waits for
    /// what runs, so no thread ever uses a closed connection.
    let background = BackgroundWork()

    /// Opens (creating if needed) the projections file at `path`, runs the bookkeeping
    /// migrations and creates the tables of every projection that has none yet.
    ///
    /// Tables built by another schema version stay as they are: ``status()`` reports them as
    /// stale and ``rebuild(projections:source:batchSize:)`` replaces them.
    /// - Parameters:
    ///   - path: the SQLite file, e.g. `<store>/projections.sqlite`.
    ///   - projections: the read models to maintain; names must be unique.
    ///   - logger: receives rebuild progress (info) and failures (error).
    /// - Throws: a ``ProjectionError`` with code `.storage` when the file cannot be opened.
    public init(
        path: String, projections: [any Projection] = StandardProjections.all,
        logger: Logger = Logger(label: "hromada.projections"), backgroundIndexing: Bool = true
    ) throws {
        precondition(Set(projections.map(\.name)).count == projections.count, "projection names must be unique")
        self.path = path
        self.projections = projections
        self.logger = logger
        self.backgroundIndexing = backgroundIndexing
        var config = Configuration()
        config.label = "projections"
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536")
        }
        do {
            try Self.checkShape(path)
            pool = try DatabasePool(path: path, configuration: config)
            try Bookkeeping.migrator.migrate(pool)
            try pool.write { db in
                for projection in projections where try ProjectionRecord.fetch(db, name: projection.name) == nil {
                    try projection.createTables(in: db, tables: .live)
                    try ProjectionRecord(
                        name: projection.name, schemaVersion: projection.schemaVersion, checkpointPosition: 0,
                        checkpointRecordedAt: nil, state: .running, lastError: nil,
                        updatedAt: Timestamp.now(), generation: 0, rebuildPosition: nil
                    ).insert(db)
                }
            }
            try clearInterruptedRebuilds()
        } catch {
            throw ProjectionError.wrap(
                error, projection: nil, position: nil, what: "cannot open the projections file \(path)")
        }
    }

    /// Opens `<directory>/projections.sqlite`.
    public convenience init(
        directory: String, projections: [any Projection] = StandardProjections.all,
        logger: Logger = Logger(label: "hromada.projections"), backgroundIndexing: Bool = true
    ) throws {
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        try self.init(
            path: dir + "/" + Self.fileName, projections: projections, logger: logger,
            backgroundIndexing: backgroundIndexing)
    }

    /// Refuses, as `.damaged`, a file that cannot be a SQLite database: bytes that do not start
    /// with SQLite's header, or fewer bytes than the header says the database has (a truncated
    /// copy). An absent or empty file is a new database. Cheap: it reads 100 bytes.
    static func checkShape(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        guard size > 0 else { return }
        try handle.seek(toOffset: 0)
        let header = [UInt8](try handle.read(upToCount: 100) ?? Data())
        func damaged(_ why: String) -> ProjectionError {
            ProjectionError(.damaged, "\(path) is \(why)")
        }
        guard header.count == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw damaged("not a SQLite database")
        }
        let rawPageSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        let pages = header[28..<32].reduce(0) { $0 << 8 | UInt64($1) }
        let changeCounter = header[24..<28].reduce(0) { $0 << 8 | UInt64($1) }
        let validFor = header[92..<96].reduce(0) { $0 << 8 | UInt64($1) }
        // The page count is trustworthy only when "version-valid-for" equals the change counter.
        if pages > 0, validFor == changeCounter, pages * UInt64(pageSize) > size {
            throw damaged("truncated: \(size) bytes where its header says \(pages * UInt64(pageSize))")
        }
    }

    /// Moves a damaged projections file (and its `-wal`, `-shm`) aside, beside it, under a name
    /// stamped with the time, so that a fresh one can be built from the log; nothing is deleted.
    /// - Returns: the new path of the main file.
    public static func moveAside(path: String, now: Timestamp = .now()) throws -> String {
        let stamp = now.rfc3339.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ".", with: "")
        let target = path + ".damaged-" + stamp
        let fm = FileManager.default
        for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: path + suffix) {
            try fm.moveItem(atPath: path + suffix, toPath: target + suffix)
        }
        return target
    }

    /// Closes the connections; later calls fail. Background work started by searches is
    /// finished first, and none starts afterwards.
    public func close() throws {
        background.close()
        try pool.close()
    }

    /// The projection named `name`.
    /// - Throws: ``ProjectionError`` `.unknownProjection`, listing the known names.
    public func projection(named name: String) throws(ProjectionError) -> any Projection {
        guard let p = projections.first(where: { $0.name == name }) else {
            throw ProjectionError(
                .unknownProjection,
                "no projection is named \"\(name)\" (known: \(projections.map(\.name).joined(separator: ", ")))")
        }
        return p
    }

    func resolve(_ names: [String]?) throws(ProjectionError) -> [any Projection] {
        guard let names else { return projections }
        var result: [any Projection] = []
        for name in names where !result.contains(where: { $0.name == name }) {
            result.append(try projection(named: name))
        }
        return result
    }

    // MARK: - Status

    /// Each projection's bookkeeping: stored against code schema version, checkpoint, state.
    public func status() throws -> [ProjectionStatus] {
        let records = try storage("cannot read the projections' status") {
            try pool.read { db in try ProjectionRecord.fetchAll(db) }
        }
        return projections.compactMap { p in
            guard let r = records.first(where: { $0.name == p.name }) else { return nil }
            var status = ProjectionStatus(
                name: p.name, codeSchemaVersion: p.schemaVersion, storedSchemaVersion: r.schemaVersion,
                checkpoint: r.asOf, state: r.state, lastError: r.lastError,
                updatedAt: r.updatedAt, rebuildPosition: r.rebuildPosition, changedPosition: r.changedPosition)
            status.generation = r.generation
            return status
        }
    }

    /// What a read model's rows are as of, as the web service reads it on every request: the
    /// bookkeeping of the projections `names` (those that exist, in no set order) and whether the
    /// latest replay check of each one's current build found it different from the log — in one
    /// read of one prepared statement, without decoding records (the records' Codable decoding,
    /// a second read for the checks and preparing both each time were a quarter of the service's
    /// CPU under load).
    public func rowVersions(_ names: [String]) throws -> [RowVersion] {
        try storage("cannot read the projections' status") {
            try pool.read { db in
                let statement = try db.cachedStatement(
                    sql: """
                        SELECT p.name, p.schemaVersion, p.checkpointPosition, p.checkpointRecordedAt, p.state,
                            p.generation, p.changedPosition,
                            EXISTS (SELECT 1 FROM audits a WHERE a.projection = p.name AND a.generation = p.generation
                                AND a.status = 'differs')
                        FROM projections p WHERE p.name IN (SELECT value FROM json_each(?))
                        """)
                return try Row.fetchAll(statement, arguments: [JSONText.encode(names)]).map { row in
                    RowVersion(
                        name: row[0], schemaVersion: row[1], checkpointPosition: row[2], checkpointRecordedAt: row[3],
                        state: row[4], generation: row[5], changedPosition: row[6], differsFromLog: row[7])
                }
            }
        }
    }

    /// The checkpoint of one projection: the last event its live tables reflect.
    public func checkpoint(of name: String) throws -> AsOf {
        _ = try projection(named: name)
        return try storage("cannot read the checkpoint", projection: name) {
            try pool.read { db in try ProjectionRecord.fetch(db, name: name)?.asOf ?? .start }
        }
    }

    // MARK: - Applying

    /// Applies `events` to one projection in one write transaction that also moves its checkpoint.
    ///
    /// Events at or below the checkpoint are skipped (so offering a batch twice changes nothing);
    /// the next event must be the one right after the checkpoint (positions are dense). On a
    /// failure nothing of the batch is kept, and the projection is marked `failed` with the error.
    /// - Returns: the new checkpoint.
    /// - Throws: a ``ProjectionError``: `.outOfOrder` for a gap, `.staleSchema` when the tables
    ///   need a rebuild, `.malformedEvent` or `.storage` naming the event's position.
    @discardableResult
    public func apply(events: [RecordedEvent], projection name: String) throws -> AsOf {
        let projection = try projection(named: name)
        do {
            return try pool.write { db in try applyInTransaction(db, events: events, projection: projection) }
        } catch {
            let e = ProjectionError.wrap(error, projection: name, position: nil, what: "cannot apply events")
            if e.code == .malformedEvent || (e.code == .storage && e.position != nil) {
                markFailed(name, error: e)
            }
            throw e
        }
    }

    /// Applies `events` to every projection, each in its own transaction (one failing projection
    /// does not hold back the others); throws the first failure after trying them all.
    /// - Returns: each projection's new checkpoint, by name.
    @discardableResult
    public func apply(events: [RecordedEvent]) throws -> [String: AsOf] {
        var result: [String: AsOf] = [:]
        var firstError: (any Error)?
        for p in projections {
            do {
                result[p.name] = try apply(events: events, projection: p.name)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        return result
    }

    func applyInTransaction(_ db: Database, events: [RecordedEvent], projection: any Projection) throws -> AsOf {
        guard var record = try ProjectionRecord.fetch(db, name: projection.name) else {
            throw ProjectionError(.unknownProjection, "has no bookkeeping row", projection: projection.name)
        }
        guard record.schemaVersion == projection.schemaVersion else {
            throw ProjectionError(
                .staleSchema,
                "the tables were built by schema version \(record.schemaVersion), the code is at \(projection.schemaVersion): rebuild it",
                projection: projection.name)
        }
        var last = record.checkpointPosition
        var lastRecordedAt: Timestamp?
        var changed = record.changedPosition
        // by index, not `for event in events`: no copy of each event per projection
        for i in events.indices where events[i].position > last {
            let position = events[i].position
            guard position == last + 1 else {
                throw ProjectionError(
                    .outOfOrder,
                    "expected the event at position \(last + 1) next, got position \(position)",
                    projection: projection.name, position: position)
            }
            let changes = db.totalChangesCount
            do {
                try projection.apply(events[i], in: db, tables: .live)
            } catch {
                throw ProjectionError.wrap(
                    error, projection: projection.name, position: position, what: "cannot apply \(events[i].type)")
            }
            if db.totalChangesCount != changes { changed = position }
            last = position
            lastRecordedAt = events[i].recordedAt
        }
        if last > record.checkpointPosition {
            // Not known before (tables built before it was kept): none since the old checkpoint.
            record.changedPosition = changed ?? record.checkpointPosition
            record.checkpointPosition = last
            record.checkpointRecordedAt = lastRecordedAt
            record.updatedAt = Timestamp.now()
            if record.state == .failed {
                record.state = .running
                record.lastError = nil
            }
            try record.update(db)
        }
        return record.asOf
    }

    func markFailed(_ name: String, error: ProjectionError) {
        do {
            try pool.write { db in
                guard var record = try ProjectionRecord.fetch(db, name: name) else { return }
                if record.state != .rebuilding { record.state = .failed }
                record.lastError = error.description
                record.updatedAt = Timestamp.now()
                try record.update(db)
            }
        } catch {
            logger.error(
                "cannot record a projection's failure", metadata: ["projection.name": "\(name)", "error": "\(error)"])
        }
        logger.error(
            "projection failed",
            metadata: [
                "projection.name": "\(name)", "event.position": "\(error.position.map(String.init) ?? "-")",
                "error": "\(error.description)",
            ])
    }

    // MARK: - Catching up

    /// The outcome of ``catchUp(source:projections:upTo:batchSize:)``.
    public struct CatchUpReport: Sendable, Hashable {
        /// Events read from the source.
        public var eventsRead: Int
        /// Each projection's checkpoint afterwards, by name.
        public var checkpoints: [String: AsOf]
    }

    /// Brings projections up to the source's head (or to `upTo`) once, batch by batch.
    ///
    /// Each projection gets each batch in its own transaction. A projection that fails (or is
    /// stale) is left behind while the others carry on; the first such failure is thrown at the
    /// end.
    /// - Parameters:
    ///   - names: the projections to bring up, or `nil` for all.
    ///   - upTo: the last position to apply (time travel: the last event recorded at or before T).
    ///   - isCancelled: asked before each batch; once it answers `true` the catch-up stops there
    ///     (every batch applied so far is committed with its checkpoint, so stopping is clean).
    @discardableResult
    public func catchUp(
        source: any EventSource, projections names: [String]? = nil, upTo: Int64? = nil, batchSize: Int = 10_000,
        isCancelled: () -> Bool = { false }
    ) throws -> CatchUpReport {
        var pending = try resolve(names)
        let records = try storage("cannot read the checkpoints") {
            try pool.read { db in try ProjectionRecord.fetchAll(db) }
        }
        var checkpoints: [String: AsOf] = [:]
        for r in records where pending.contains(where: { $0.name == r.name }) { checkpoints[r.name] = r.asOf }
        var position = pending.map { checkpoints[$0.name]?.position ?? 0 }.min() ?? 0
        var firstError: ProjectionError?
        var read = 0
        while !pending.isEmpty, upTo.map({ position < $0 }) ?? true, !isCancelled() {
            var batch = try readSource(source, after: position, limit: max(1, batchSize))
            if let upTo, let cut = batch.firstIndex(where: { $0.position > upTo }) { batch.removeSubrange(cut...) }
            guard let last = batch.last else { break }
            read += batch.count
            var failed: [String] = []
            for p in pending where (checkpoints[p.name]?.position ?? 0) < last.position {
                do {
                    checkpoints[p.name] = try apply(events: batch, projection: p.name)
                } catch let e as ProjectionError {
                    if firstError == nil { firstError = e }
                    failed.append(p.name)
                }
            }
            pending.removeAll { failed.contains($0.name) }
            position = last.position
        }
        if let firstError { throw firstError }
        return CatchUpReport(eventsRead: read, checkpoints: checkpoints)
    }

    func readSource(_ source: any EventSource, after position: Int64, limit: Int) throws -> [RecordedEvent] {
        do {
            return try source.events(after: position, limit: limit)
        } catch {
            throw ProjectionError.wrap(
                error, projection: nil, position: nil, what: "cannot read events after position \(position)"
            ).with(code: .source)
        }
    }

    // MARK: - Support

    /// Runs `body`, turning a storage failure into a ``ProjectionError``.
    func storage<T>(_ what: String, projection: String? = nil, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw ProjectionError.wrap(error, projection: projection, position: nil, what: what)
        }
    }

    /// The checkpoint of `name` as a query inside a read transaction sees it.
    static func asOf(_ db: Database, _ name: String) throws -> AsOf {
        try ProjectionRecord.fetch(db, name: name)?.asOf ?? .start
    }
}

extension ProjectionError {
    /// The same error with another code, unless it already is a projection error of its own kind.
    func with(code: Code) -> ProjectionError {
        guard self.code == .storage else { return self }
        var e = self
        e.code = code
        return e
    }
}
