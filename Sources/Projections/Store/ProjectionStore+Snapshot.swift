import Events
import Foundation
import GRDB

extension ProjectionStore {
    /// Writes a consistent copy of every read model to a new SQLite file at `path` (no WAL).
    ///
    /// The copy is one `VACUUM INTO`, which reads the live file in a single read transaction:
    /// it holds the tables and the checkpoints of one moment, while writers go on. Tables of a
    /// rebuild running beside the live ones are left out of the copy, whose bookkeeping then
    /// says `running`.
    /// - Parameter path: the file to create; it must not exist yet.
    /// - Returns: each projection's bookkeeping as the copy holds it (read back from the copy).
    /// - Throws: a ``ProjectionError`` `.storage` when the copy cannot be written.
    @discardableResult
    public func copy(to path: String) throws -> [ProjectionStatus] {
        try storage("cannot copy the read models to \(path)") {
            try pool.unsafeRead { db in
                // VACUUM INTO syncs its output as the connection's `synchronous` says; the copy
                // is a scratch file the caller compresses (and syncs) or reads back, so not
                // syncing it saves writing its every page to disk twice.
                let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? 1
                try db.execute(sql: "PRAGMA synchronous = OFF")
                defer { try? db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
                try db.execute(sql: "VACUUM INTO ?", arguments: [path])
            }
        }
        return try storage("cannot read back the copy \(path)") {
            let copy = try DatabaseQueue(path: path)
            defer { try? copy.close() }
            // Tables of a rebuild running beside the live ones are left out: dropped from the
            // copy, which is then compacted. Without them the copy is final as VACUUM INTO wrote it.
            let hasRebuild = try copy.read { db in
                try projections.contains { p in
                    try p.tableNames.contains { try db.tableExists($0 + ProjectionTables.rebuildSuffix) }
                }
                    || Bool.fetchOne(
                        db, sql: "SELECT EXISTS (SELECT 1 FROM projections WHERE state = ?)",
                        arguments: [ProjectionState.rebuilding]) == true
            }
            if hasRebuild {
                try copy.write { db in
                    for p in projections {
                        try Self.dropTables(db, p, .rebuild(generation: 0))
                    }
                    try db.execute(
                        sql: "UPDATE projections SET state = ?, rebuildPosition = NULL WHERE state = ?",
                        arguments: [ProjectionState.running, ProjectionState.rebuilding])
                }
                try copy.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") }
            }
            let records = try copy.read { db in try ProjectionRecord.fetchAll(db) }
            return records.map { r in
                ProjectionStatus(
                    name: r.name,
                    codeSchemaVersion: projections.first { $0.name == r.name }?.schemaVersion ?? r.schemaVersion,
                    storedSchemaVersion: r.schemaVersion, checkpoint: r.asOf,
                    state: r.state, lastError: r.lastError,
                    updatedAt: r.updatedAt, rebuildPosition: r.rebuildPosition)
            }
        }
    }

    /// Replaces every read model with the content of the SQLite file at `path` (a copy made by
    /// ``copy(to:)``), in one write transaction through SQLite's backup API.
    ///
    /// Readers see the old content or the new one, never a mix. A running rebuild in this
    /// process is abandoned by the swap (its generation no longer matches).
    /// - Throws: a ``ProjectionError`` `.storage` when the file cannot be read or is not a
    ///   projections file.
    public func restore(from path: String) throws {
        try storage("cannot restore the read models from \(path)") {
            var config = Configuration()
            config.readonly = true
            let source = try DatabaseQueue(path: path, configuration: config)
            defer { try? source.close() }
            let hasBookkeeping = try source.read { db in try db.tableExists(ProjectionRecord.databaseTableName) }
            guard hasBookkeeping else {
                throw ProjectionError(.storage, "\(path) holds no projections bookkeeping table")
            }
            try source.backup(to: pool)
        }
    }
}
