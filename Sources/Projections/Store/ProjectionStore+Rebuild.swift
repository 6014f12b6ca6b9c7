import Events
import Foundation
import GRDB
import Logging

extension ProjectionStore {
    /// Rebuilds one projection from `source` beside its live tables, then swaps them in.
    /// - Returns: the new checkpoint.
    @discardableResult
    public func rebuild(projection name: String, source: any EventSource, batchSize: Int = 20_000) throws -> AsOf {
        let result = try rebuild(projections: [name], source: source, batchSize: batchSize)
        return result[name] ?? .start
    }

    /// Rebuilds projections from `source` without downtime, reading the source once for all.
    ///
    /// 1. In one transaction: drop any leftover `__rebuild` tables, create fresh ones, mark the
    ///    projections `rebuilding`.
    /// 2. Feed every event of the source into the fresh tables, `batchSize` events per write
    ///    transaction. The live tables keep answering queries, and live applies may continue.
    /// 3. In one transaction: apply what the source gained meanwhile, then for each projection
    ///    drop the live tables, rename the fresh ones to the live names, and set the checkpoint
    ///    and the schema version. Readers see the old tables or the new ones, never a mix.
    ///
    /// On failure the fresh tables are dropped and the live ones stay as they were.
    /// - Parameter names: the projections to rebuild, or `nil` for all.
    /// - Returns: each rebuilt projection's checkpoint, by name.
    /// - Throws: a ``ProjectionError``: `.rebuildConflict` when a rebuild of one of them already
    ///   runs, `.sourceBehind` when the source ends before a live checkpoint, or the failure of
    ///   an event.
    ///   - progress: called after each write transaction with the position reached.
    ///   - isCancelled: asked between transactions; when it answers `true` the rebuild stops,
    ///     drops its fresh tables, puts the bookkeeping back and throws `.cancelled`.
    @discardableResult
    public func rebuild(
        projections names: [String]? = nil, source: any EventSource, batchSize: Int = 20_000,
        progress: (_ position: Int64) -> Void = { _ in }, isCancelled: () -> Bool = { false }
    ) throws -> [String: AsOf] {
        let selected = try resolve(names)
        let claimed = claimRebuild(selected.map(\.name))
        guard claimed else {
            throw ProjectionError(
                .rebuildConflict,
                "a rebuild of \(selected.map(\.name).joined(separator: ", ")) is already running")
        }
        defer { releaseRebuild(selected.map(\.name)) }
        // Held (shared) for the whole rebuild: another process that finds `rebuilding` marks
        // and can take the lock exclusively knows they are debris of a process that died.
        let lock = try RebuildLock(projectionsPath: path, exclusive: false, wait: true)
        defer { lock?.release() }

        // 1. Fresh tables beside the live ones.
        var builds: [(projection: any Projection, tables: ProjectionTables)] = []
        var previousStates: [String: ProjectionState] = [:]
        try storage("cannot prepare the rebuild tables") {
            try pool.write { db in
                builds = []
                for p in selected {
                    guard var record = try ProjectionRecord.fetch(db, name: p.name) else { continue }
                    previousStates[p.name] = record.state == .rebuilding
                        ? .running : record.state
                    record.generation += 1
                    record.state = .rebuilding
                    record.rebuildPosition = 0
                    record.updatedAt = Timestamp.now()
                    let tables = ProjectionTables.rebuild(generation: record.generation)
                    try Self.dropTables(db, p, tables)
                    try p.createTables(in: db, tables: tables)
                    try record.update(db)
                    builds.append((p, tables))
                }
            }
        }
        for b in builds {
            logger.info(
                "rebuild started", metadata: ["projection.name": "\(b.projection.name)", "rebuild.generation": "\(b.tables.generation)"])
        }

        var position: Int64 = 0
        var recordedAt: Timestamp?
        do {
            // 2. Large transactions from the source, read (decompressed, parsed) a few chunks
            //    ahead on a second thread while this one writes.
            let chunk = max(1, min(batchSize, 2_000))
            let start = position
            let reading = Prefetch<[RecordedEvent]>(maxQueued: 4) { emit in
                var after = start
                while true {
                    let events = try self.readSource(source, after: after, limit: chunk)
                    guard !events.isEmpty, emit(events) else { return }
                    after = events.last!.position
                }
            }
            defer { reading.cancel() }
            var next = try reading.next()
            while next != nil {
                try pool.write { db in
                    try checkGenerations(db, builds)
                    var fed = 0
                    while let events = next {
                        // Asked before each chunk: a transaction of 20,000 events takes seconds,
                        // and a Ctrl-C rolls it back instead of waiting for it.
                        if isCancelled() {
                            throw ProjectionError(.cancelled, "the rebuild was interrupted at position \(position); the live tables are kept")
                        }
                        try Self.feed(db, events, builds, after: position)
                        position = events.last!.position
                        recordedAt = events.last!.recordedAt
                        fed += events.count
                        next = try reading.next()
                        if fed >= batchSize { break }
                    }
                    try db.run(
                        "UPDATE projections SET rebuildPosition = ? WHERE name IN (SELECT value FROM json_each(?))",
                        [position, JSONText.encode(builds.map(\.projection.name))])
                }
                logger.debug("rebuild progress", metadata: ["event.position": "\(position)"])
                progress(position)
            }
            if isCancelled() {
                throw ProjectionError(.cancelled, "the rebuild was interrupted at position \(position), before the swap; the live tables are kept")
            }
            // 3. The tail, and the swap, in one transaction.
            try pool.write { db in
                try checkGenerations(db, builds)
                while true {
                    let batch = try readSource(source, after: position, limit: max(1, batchSize))
                    guard !batch.isEmpty else { break }
                    try Self.feed(db, batch, builds, after: position)
                    position = batch.last!.position
                    recordedAt = batch.last!.recordedAt
                }
                for b in builds {
                    guard var record = try ProjectionRecord.fetch(db, name: b.projection.name) else { continue }
                    guard position >= record.checkpointPosition else {
                        throw ProjectionError(
                            .sourceBehind,
                            "the source ends at position \(position), before the live checkpoint \(record.checkpointPosition); the live tables are kept",
                            projection: b.projection.name)
                    }
                    try Self.dropTables(db, b.projection, .live)
                    for table in b.projection.tableNames {
                        try db.execute(
                            sql: "ALTER TABLE \(b.tables.quoted(table)) RENAME TO \(table.quotedDatabaseIdentifier)")
                    }
                    record.checkpointRecordedAt = recordedAt
                    record.checkpointPosition = position
                    // The tables were replaced: a reader sees them change here.
                    record.changedPosition = position
                    record.schemaVersion = b.projection.schemaVersion
                    record.state = .running
                    record.lastError = nil
                    record.rebuildPosition = nil
                    record.updatedAt = Timestamp.now()
                    try record.update(db)
                }
            }
        } catch {
            let e = ProjectionError.wrap(error, projection: nil, position: nil, what: "the rebuild failed")
            abandon(builds, previousStates: previousStates, error: e)
            throw e
        }
        var result: [String: AsOf] = [:]
        for b in builds {
            result[b.projection.name] = AsOf(position: position, recordedAt: recordedAt)
            logger.info(
                "rebuild swapped in", metadata: ["projection.name": "\(b.projection.name)", "event.position": "\(position)"])
        }
        return result
    }

    /// Applies a batch to every build, checking that positions follow each other.
    static func feed(
        _ db: Database, _ batch: [RecordedEvent], _ builds: [(projection: any Projection, tables: ProjectionTables)],
        after start: Int64
    ) throws {
        var expected = start + 1
        for event in batch {
            guard event.position == expected else {
                throw ProjectionError(
                    .outOfOrder,
                    "the source gave position \(event.position) where \(expected) was expected",
                    position: event.position)
            }
            expected += 1
        }
        for b in builds {
            // by index: `for event in batch` copies each event (a retain of each of its fields)
            // once per projection
            for i in batch.indices {
                do {
                    try b.projection.apply(batch[i], in: db, tables: b.tables)
                } catch {
                    throw ProjectionError.wrap(
                        error, projection: b.projection.name, position: batch[i].position,
                        what: "cannot apply \(batch[i].type)")
                }
            }
        }
    }

    /// Throws when another rebuild took over one of these projections since this one started.
    func checkGenerations(_ db: Database, _ builds: [(projection: any Projection, tables: ProjectionTables)]) throws {
        for b in builds {
            let record = try ProjectionRecord.fetch(db, name: b.projection.name)
            guard record?.generation == b.tables.generation else {
                throw ProjectionError(
                    .rebuildConflict, "another rebuild started meanwhile; this one stops",
                    projection: b.projection.name)
            }
        }
    }

    /// Drops the `__rebuild` tables after a failure and puts the bookkeeping back.
    func abandon(
        _ builds: [(projection: any Projection, tables: ProjectionTables)], previousStates: [String: ProjectionState],
        error: ProjectionError
    ) {
        do {
            try pool.write { db in
                for b in builds {
                    guard var record = try ProjectionRecord.fetch(db, name: b.projection.name),
                        record.generation == b.tables.generation
                    else { continue }
                    try Self.dropTables(db, b.projection, b.tables)
                    record.state = previousStates[b.projection.name] ?? .running
                    record.rebuildPosition = nil
                    record.lastError = "rebuild failed: \(error.description)"
                    record.updatedAt = Timestamp.now()
                    try record.update(db)
                }
            }
        } catch {
            logger.error("cannot clean up after a failed rebuild", metadata: ["error": "\(error)"])
        }
        logger.error("rebuild failed", metadata: ["error": "\(error.description)"])
    }

    static func dropTables(_ db: Database, _ projection: any Projection, _ tables: ProjectionTables) throws {
        for table in projection.tableNames {
            try db.execute(sql: "DROP TABLE IF EXISTS \(tables.quoted(table))")
        }
    }

    /// Clears what a rebuild killed mid-way (kill -9, power loss) left: `rebuilding` marks and
    /// `__rebuild` tables. Runs when the store opens, only when no process holds the rebuild
    /// lock (a live rebuild in another process keeps its tables). Reads first; writes only when
    /// there is debris.
    /// - Returns: the projections whose interrupted rebuild was cleared.
    @discardableResult
    func clearInterruptedRebuilds() throws -> [String] {
        let debris = try pool.read { db -> (marked: [String], tables: [String]) in
            let marked = try String.fetchAll(
                db, sql: "SELECT name FROM projections WHERE state = ? OR rebuildPosition IS NOT NULL",
                arguments: [ProjectionState.rebuilding])
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND instr(name, ?) > 0",
                arguments: [ProjectionTables.rebuildSuffix])
            return (marked, tables)
        }
        guard !debris.marked.isEmpty || !debris.tables.isEmpty else { return [] }
        guard let lock = try RebuildLock(projectionsPath: path, exclusive: true, wait: false) else { return [] }
        defer { lock.release() }
        try pool.write { db in
            for table in debris.tables {
                try db.execute(sql: "DROP TABLE IF EXISTS \(table.quotedDatabaseIdentifier)")
            }
            for name in debris.marked {
                guard var record = try ProjectionRecord.fetch(db, name: name) else { continue }
                if record.state == .rebuilding { record.state = .running }
                record.rebuildPosition = nil
                record.updatedAt = Timestamp.now()
                try record.update(db)
            }
        }
        logger.warning(
            "cleared an interrupted rebuild",
            metadata: ["projections": "\(debris.marked.joined(separator: ","))", "tables.dropped": "\(debris.tables.count)"])
        return debris.marked
    }

    func claimRebuild(_ names: [String]) -> Bool {
        rebuildsRunning.withLock { running in
            guard running.isDisjoint(with: names) else { return false }
            running.formUnion(names)
            return true
        }
    }

    func releaseRebuild(_ names: [String]) {
        rebuildsRunning.withLock { $0.subtract(names) }
    }
}

/// An advisory lock (`flock`) on `<projections file>.rebuild-lock`: rebuilds hold it shared
/// while they run; the cleanup of an interrupted rebuild needs it exclusively.
final class RebuildLock {
    private var fd: Int32

    /// Takes the lock; `nil` when `wait` is false and another holder prevents it.
    init?(projectionsPath: String, exclusive: Bool, wait: Bool) throws {
        let path = projectionsPath + ".rebuild-lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ProjectionError(
                .storage, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var operation = exclusive ? LOCK_EX : LOCK_SH
        if !wait { operation |= LOCK_NB }
        while flock(fd, operation) != 0 {
            if errno == EINTR { continue }
            let reason = errno
            close(fd)
            fd = -1
            if reason == EWOULDBLOCK { return nil }
            throw ProjectionError(.storage, "cannot lock \(path): \(String(cString: strerror(reason)))")
        }
    }

    func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
