import Foundation
import GRDB
import GRDBSQLite

/// The indexes of the log, in `<store>/index.sqlite`: frames (to seek by position and by
/// recordedAt), event ids (to find an id: idempotent appends), stream events (to read a stream),
/// streams (their last version), and the domain state the business rules need (zstd-compressed
/// JSON). The log is the only source of truth: this file is rebuilt from it when it is missing,
/// damaged, of another schema version, or behind, so it is written with `synchronous=NORMAL` and
/// never fsynced on its own.
///
/// Kept small: the per-event tables are `WITHOUT ROWID` B-trees holding only their key and a
/// position (no row table beside the indexes), and a stream's name is stored once.
final class LogIndex {
    let queue: DatabaseQueue
    let path: String

    /// A frame as the index knows it.
    struct Frame: Equatable, Sendable {
        var firstPosition: Int64
        var count: Int64
        var segment: Int64
        var offset: Int64
        var length: Int64
        var firstRecordedAt: Int64
        var lastRecordedAt: Int64
        var lastHash: [UInt8]
        var rawLength: Int64
        var lastPosition: Int64 { firstPosition + count - 1 }
    }

    static let schemaVersion = 2

    init(path: String, readOnly: Bool) throws {
        self.path = path
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        // The writer keeps one transaction open across many accesses (a group commit).
        config.allowsUnsafeTransactions = !readOnly
        config.prepareDatabase { db in
            if !db.configuration.readonly {
                // A larger page cache than SQLite's 2 MB default: ids arrive in random order, and
                // every insert into event_ids touches a random leaf.
                try db.execute(sql: "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384")
            }
        }
        queue = try DatabaseQueue(path: path, configuration: config)
        if readOnly {
            try checkSchema()
        } else {
            try migrate()
        }
    }

    private init(queue: DatabaseQueue, path: String) {
        self.queue = queue
        self.path = path
    }

    /// An in-memory index for a reader: a copy of the index file at `path` when there is one of
    /// this schema and it can be read, else an empty one. `immutable`: the file is read without
    /// locking it or creating its `-wal`/`-shm` files (no writer has it open); otherwise those
    /// files exist and SQLite's locking is used.
    static func inMemory(copying path: String?, immutable: Bool) throws -> LogIndex {
        if let path {
            let queue = try DatabaseQueue()
            if (try? queue.writeWithoutTransaction({ db in try copyFile(path, immutable: immutable, into: db) })) != nil {
                let index = LogIndex(queue: queue, path: path)
                if (try? index.checkSchema()) != nil, (try? index.lastFrame()) != nil { return index }
            }
        }
        let index = LogIndex(queue: try DatabaseQueue(), path: ":memory:")
        try index.migrate()
        return index
    }

    /// Copies the database file at `path` into `db` with SQLite's online backup, opened read-only.
    private static func copyFile(_ path: String, immutable: Bool, into db: Database) throws {
        var escaped = ""
        for c in path.unicodeScalars {
            switch c {
            case "%": escaped += "%25"
            case "?": escaped += "%3f"
            case "#": escaped += "%23"
            default: escaped.unicodeScalars.append(c)
            }
        }
        let uri = "file:" + escaped + (immutable ? "?immutable=1" : "?mode=ro")
        var source: OpaquePointer?
        defer { sqlite3_close(source) }
        var code = sqlite3_open_v2(uri, &source, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nil)
        guard code == SQLITE_OK, let source else {
            throw EventStoreError(.io, "cannot read the index \(path): SQLite error \(code)")
        }
        sqlite3_busy_timeout(source, 10_000)
        guard let backup = sqlite3_backup_init(db.sqliteConnection, "main", source, "main") else {
            throw EventStoreError(.io, "cannot copy the index \(path): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
        }
        code = sqlite3_backup_step(backup, -1)
        sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE else { throw EventStoreError(.io, "cannot copy the index \(path): SQLite error \(code)") }
    }

    /// The schema version the file holds (nil for a new, empty file).
    private func storedSchema(_ db: Database) throws -> Int? {
        guard try db.tableExists("meta") else { return nil }
        return try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema'")
    }

    func checkSchema() throws {
        let stored = try queue.read { db in try storedSchema(db) }
        if let stored, stored != Self.schemaVersion {
            throw EventStoreError(
                .io,
                "the index \(path) has schema version \(stored), this build reads \(Self.schemaVersion): any writing command (admin init) rebuilds it from the log")
        }
    }

    /// Creates the tables; a file of another schema version is refused (the writer then deletes
    /// it and rebuilds the index from the log).
    func migrate() throws {
        try queue.write { db in
            if let stored = try storedSchema(db), stored != Self.schemaVersion {
                throw EventStoreError(.io, "the index \(path) has schema version \(stored), not \(Self.schemaVersion)")
            }
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS frames(
                    first_position INTEGER PRIMARY KEY, count INTEGER NOT NULL, segment INTEGER NOT NULL,
                    offset INTEGER NOT NULL, length INTEGER NOT NULL, first_recorded INTEGER NOT NULL,
                    last_recorded INTEGER NOT NULL, last_hash BLOB NOT NULL, raw_length INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS frames_by_time ON frames(last_recorded);
                CREATE TABLE IF NOT EXISTS streams(
                    name TEXT PRIMARY KEY, stream_id INTEGER NOT NULL, last_version INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS event_ids(id BLOB PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS stream_events(
                    stream_id INTEGER NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL,
                    PRIMARY KEY (stream_id, version)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS domain_state(one INTEGER PRIMARY KEY CHECK (one = 1), position INTEGER NOT NULL, state BLOB NOT NULL);
                INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', \(Self.schemaVersion));
                """)
        }
    }

    /// Deletes every row: the index is about to be rebuilt from the log.
    func reset() throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM frames; DELETE FROM streams; DELETE FROM event_ids; DELETE FROM stream_events; DELETE FROM domain_state;")
        }
    }

    static func frame(from row: Row) -> Frame {
        Frame(
            firstPosition: row[0], count: row[1], segment: row[2], offset: row[3], length: row[4],
            firstRecordedAt: row[5], lastRecordedAt: row[6], lastHash: [UInt8](row[7] as Data), rawLength: row[8])
    }

    static let frameColumns = "first_position, count, segment, offset, length, first_recorded, last_recorded, last_hash, raw_length"

    func lastFrame() throws -> Frame? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.frameColumns) FROM frames ORDER BY first_position DESC LIMIT 1")
                .map(Self.frame(from:))
        }
    }

    /// Frames holding positions from `position` on, in order, at most `limit`.
    func frames(from position: Int64, limit: Int) throws -> [Frame] {
        try queue.read { db in
            let start =
                try Int64.fetchOne(
                    db, sql: "SELECT first_position FROM frames WHERE first_position <= ? ORDER BY first_position DESC LIMIT 1",
                    arguments: [position]) ?? 0
            return try Row.fetchAll(
                db, sql: "SELECT \(Self.frameColumns) FROM frames WHERE first_position >= ? ORDER BY first_position LIMIT ?",
                arguments: [start, limit]
            ).map(Self.frame(from:))
        }
    }

    /// The frame that holds `position`.
    func frame(containing position: Int64) throws -> Frame? {
        try queue.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT \(Self.frameColumns) FROM frames WHERE first_position <= ? ORDER BY first_position DESC LIMIT 1",
                arguments: [position]
            ).map(Self.frame(from:)).flatMap { $0.lastPosition >= position ? $0 : nil }
        }
    }

    /// The last frame whose first event was recorded at or before `ms`.
    func lastFrame(recordedAtOrBefore ms: Int64) throws -> Frame? {
        try queue.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT \(Self.frameColumns) FROM frames WHERE first_recorded <= ? ORDER BY first_position DESC LIMIT 1",
                arguments: [ms]
            ).map(Self.frame(from:))
        }
    }

    func position(ofID id: UUID) throws -> Int64? {
        try queue.read { db in
            try Int64.fetchOne(db, sql: "SELECT position FROM event_ids WHERE id = ?", arguments: [Self.blob(id)])
        }
    }

    /// The id the next new stream gets: one past the largest given. Read from `stream_events`,
    /// whose primary key starts with the stream id (one B-tree step), not from `streams`, keyed by
    /// name (a scan of every stream: 5 ms at 100,000 streams, which every writer paid on opening).
    /// The two agree: a stream's row and its first event's are written in one transaction.
    func nextStreamID() throws -> Int64 {
        (try queue.read { db in try Int64.fetchOne(db, sql: "SELECT max(stream_id) FROM stream_events") } ?? 0) + 1
    }

    func streamInfo(_ name: String) throws -> (streamID: Int64, lastVersion: Int64)? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT stream_id, last_version FROM streams WHERE name = ?", arguments: [name])
                .map { ($0[0], $0[1]) }
        }
    }

    /// Positions of a stream's events from version `from`, in order.
    func positions(stream name: String, fromVersion: Int64 = 0) throws -> [Int64] {
        try queue.read { db in
            try Int64.fetchAll(
                db,
                sql: """
                    SELECT e.position FROM stream_events e JOIN streams s ON s.stream_id = e.stream_id
                    WHERE s.name = ? AND e.version >= ? ORDER BY e.version
                    """, arguments: [name, fromVersion])
        }
    }

    func counts() throws -> (events: Int64, streams: Int64, frames: Int64, rawBytes: Int64) {
        try queue.read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT coalesce(max(first_position + count - 1), 0) FROM frames") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM streams") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM frames") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT coalesce(sum(raw_length), 0) FROM frames") ?? 0
            )
        }
    }

    /// The saved domain state (its JSON) and the position it reflects; nil when none is saved
    /// or it does not decompress (it is then folded again from the log).
    func domainState() throws -> (position: Int64, state: Data)? {
        let row = try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT position, state FROM domain_state WHERE one = 1").map { ($0[0] as Int64, $0[1] as Data) }
        }
        guard let row, let json = ZstdDecompressor.decompressFrame(row.1) else { return nil }
        return (row.0, json)
    }

    /// The position of the saved domain state, without reading the state.
    func domainStatePosition() throws -> Int64? {
        try queue.read { db in try Int64.fetchOne(db, sql: "SELECT position FROM domain_state WHERE one = 1") }
    }

    func saveDomainState(position: Int64, state: DomainState) throws {
        let compressed = try state.encodedJSON().withUnsafeBytes { try ZstdCompressor(level: 3).compress($0) }
        try queue.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO domain_state(one, position, state) VALUES (1, ?, ?)",
                arguments: [position, Data(compressed)])
        }
    }

    static func blob(_ id: UUID) -> Data {
        withUnsafeBytes(of: id.uuid) { Data($0) }
    }
}

extension LogIndex {
    /// Inserts one frame's rows (inside the caller's transaction).
    static func insert(
        frame: Frame, rows: [(position: Int64, stream: String, version: Int64, id: UUID)],
        streams: [String: LogWriter.StreamEntry], in db: Database
    ) throws {
        try db.cachedStatement(sql: "INSERT INTO frames(\(frameColumns)) VALUES (?,?,?,?,?,?,?,?,?)").execute(arguments: [
            frame.firstPosition, frame.count, frame.segment, frame.offset, frame.length, frame.firstRecordedAt,
            frame.lastRecordedAt, Data(frame.lastHash), frame.rawLength,
        ])
        let insertID = try db.cachedStatement(sql: "INSERT INTO event_ids(id, position) VALUES (?,?)")
        let insertStreamEvent = try db.cachedStatement(sql: "INSERT INTO stream_events(stream_id, version, position) VALUES (?,?,?)")
        let upsertStream = try db.cachedStatement(
            sql: "INSERT INTO streams(name, stream_id, last_version) VALUES (?,?,?) ON CONFLICT(name) DO UPDATE SET last_version = excluded.last_version")
        var touched: [String: Int64] = [:]
        // Two rows per event: bound through SQLite's C API (GRDB's argument arrays cost more
        // than the inserts themselves here).
        for row in rows {
            guard let entry = streams[row.stream] else { continue }
            try withUnsafeBytes(of: row.id.uuid) { id in
                try RawStatement.run(insertID, db) { s in
                    sqlite3_bind_blob(s, 1, id.baseAddress, 16, sqliteTransient)
                    sqlite3_bind_int64(s, 2, row.position)
                }
            }
            try RawStatement.run(insertStreamEvent, db) { s in
                sqlite3_bind_int64(s, 1, entry.id)
                sqlite3_bind_int64(s, 2, row.version)
                sqlite3_bind_int64(s, 3, row.position)
            }
            touched[row.stream] = row.version
        }
        for (name, version) in touched {
            try upsertStream.execute(arguments: [name, streams[name]!.id, version])
        }
    }

    /// The position of an id, looked up inside the caller's access.
    static func position(ofID id: UUID, in db: Database) throws -> Int64? {
        let select = try db.cachedStatement(sql: "SELECT position FROM event_ids WHERE id = ?")
        return try withUnsafeBytes(of: id.uuid) { raw in
            try RawStatement.fetchInt64(select, db) { s in
                sqlite3_bind_blob(s, 1, raw.baseAddress, 16, sqliteTransient)
            }
        }
    }
}

/// SQLITE_TRANSIENT: SQLite copies a bound value before the call returns.
let sqliteTransient = unsafeBitCast(Int(-1), to: sqlite3_destructor_type.self)

/// Runs a prepared statement bound through SQLite's C API, for the hottest paths of the index.
enum RawStatement {
    static func run(_ statement: Statement, _ db: Database, bind: (OpaquePointer) -> Void) throws {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        sqlite3_clear_bindings(s)
        bind(s)
        let code = sqlite3_step(s)
        guard code == SQLITE_DONE else { throw failure(db, code, statement) }
    }

    static func fetchInt64(_ statement: Statement, _ db: Database, bind: (OpaquePointer) -> Void) throws -> Int64? {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        sqlite3_clear_bindings(s)
        bind(s)
        defer { sqlite3_reset(s) }
        switch sqlite3_step(s) {
        case SQLITE_ROW: return sqlite3_column_int64(s, 0)
        case SQLITE_DONE: return nil
        case let code: throw failure(db, code, statement)
        }
    }

    private static func failure(_ db: Database, _ code: Int32, _ statement: Statement) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
            sql: statement.sql)
    }
}
