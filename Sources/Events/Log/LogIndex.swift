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
/// Kept small (docs/FORMAT.md): nothing is stored per event but a few bytes in a blob. Event ids
/// are filed by a 48-bit key in 65,536 buckets (one row each) and confirmed against the log on a
/// match (``IDKey``); a stream's positions are delta-coded in chunks of 64 versions
/// (``StreamChunk``), and its name is stored once.
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

    static let schemaVersion = 3

    /// What the index files of one event.
    typealias EventRow = (position: Int64, stream: String, version: Int64, id: UUID)

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
                    name TEXT PRIMARY KEY, last_version INTEGER NOT NULL, positions BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS stream_chunks(
                    name TEXT NOT NULL, first_version INTEGER NOT NULL, positions BLOB NOT NULL,
                    PRIMARY KEY (name, first_version)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS event_ids(bucket INTEGER PRIMARY KEY, entries BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS domain_state(one INTEGER PRIMARY KEY CHECK (one = 1), position INTEGER NOT NULL, state BLOB NOT NULL);
                INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', \(Self.schemaVersion));
                """)
        }
    }

    /// Deletes every row: the index is about to be rebuilt from the log.
    func reset() throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM frames; DELETE FROM streams; DELETE FROM event_ids; DELETE FROM stream_chunks; DELETE FROM domain_state;")
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
        try queue.read { db in try Self.frame(containing: position, in: db) }
    }

    /// The frame that holds `position`, looked up inside the caller's access.
    static func frame(containing position: Int64, in db: Database) throws -> Frame? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(frameColumns) FROM frames WHERE first_position <= ? ORDER BY first_position DESC LIMIT 1"),
            arguments: [position]
        ).map(frame(from:)).flatMap { $0.lastPosition >= position ? $0 : nil }
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

    /// The positions whose id has the same key as `id`: the id is at one of them, or nowhere.
    /// The caller tells which by reading the log.
    func candidates(ofID id: UUID) throws -> [Int64] {
        try queue.read { db in try Self.candidates(ofID: id, in: db) }
    }

    /// The last version of a stream, or nil when it has none.
    func lastVersion(ofStream name: String) throws -> Int64? {
        try queue.read { db in try Self.lastVersion(ofStream: name, in: db) }
    }

    static func lastVersion(ofStream name: String, in db: Database) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT last_version FROM streams WHERE name = ?"), arguments: [name])
    }

    /// Positions of a stream's events from version `from`, in order.
    func positions(stream name: String, fromVersion: Int64 = 0) throws -> [Int64] {
        let from = max(fromVersion, 0)
        let chunks = try queue.read { db -> [(Int64, Data)] in
            guard let stream = try Row.fetchOne(db, sql: "SELECT last_version, positions FROM streams WHERE name = ?", arguments: [name])
            else { return [] }
            var chunks: [(Int64, Data)] = from < StreamChunk.versions ? [(0, stream[1])] : []
            // the other chunks only when the stream has passed its first (most never do)
            guard (stream[0] as Int64) >= StreamChunk.versions else { return chunks }
            chunks += try Row.fetchAll(
                db, sql: "SELECT first_version, positions FROM stream_chunks WHERE name = ? AND first_version >= ? ORDER BY first_version",
                arguments: [name, StreamChunk.firstVersion(of: from)]
            ).map { ($0[0] as Int64, $0[1] as Data) }
            return chunks
        }
        var out: [Int64] = []
        for (firstVersion, blob) in chunks {
            let positions = try blob.withUnsafeBytes { raw in try StreamChunk.decode(raw) }
            for (k, p) in positions.enumerated() where firstVersion + Int64(k) >= from { out.append(p) }
        }
        return out
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

}

extension LogIndex {
    /// Inserts one frame's rows (inside the caller's transaction).
    static func insert(frame: Frame, rows: [EventRow], in db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO frames(\(frameColumns)) VALUES (?,?,?,?,?,?,?,?,?)").execute(arguments: [
            frame.firstPosition, frame.count, frame.segment, frame.offset, frame.length, frame.firstRecordedAt,
            frame.lastRecordedAt, Data(frame.lastHash), frame.rawLength,
        ])
        var buckets: [Int64: [UInt8]] = [:]
        for row in rows {
            let key = IDKey(row.id)
            key.appendEntry(position: row.position, to: &buckets[key.bucket, default: []])
        }
        // In key order: one write per bucket and per stream, each near the last in the B-tree.
        // Bound through SQLite's C API (GRDB's argument arrays cost more than the writes here).
        let addEntries = try db.cachedStatement(
            sql: "INSERT INTO event_ids(bucket, entries) VALUES (?,?) ON CONFLICT(bucket) DO UPDATE SET entries = CAST(entries || excluded.entries AS BLOB)")
        for bucket in buckets.keys.sorted() {
            try buckets[bucket]!.withUnsafeBytes { bytes in
                try RawStatement.run(addEntries, db) { s in
                    sqlite3_bind_int64(s, 1, bucket)
                    sqlite3_bind_blob(s, 2, bytes.baseAddress, Int32(bytes.count), sqliteTransient)
                }
            }
        }
        try StreamChunk.append(
            rows.map { (stream: $0.stream, version: $0.version, position: $0.position) }
                .sorted { ($0.stream, $0.version) < ($1.stream, $1.version) }, in: db)
    }

    /// The positions filed under `id`'s key, looked up inside the caller's access.
    static func candidates(ofID id: UUID, in db: Database) throws -> [Int64] {
        let key = IDKey(id)
        let select = try db.cachedStatement(sql: "SELECT entries FROM event_ids WHERE bucket = ?")
        let s = select.sqliteStatement
        sqlite3_reset(s)
        defer { sqlite3_reset(s) }
        sqlite3_bind_int64(s, 1, key.bucket)
        switch sqlite3_step(s) {
        case SQLITE_ROW:
            let count = Int(sqlite3_column_bytes(s, 0))
            guard count > 0, let bytes = sqlite3_column_blob(s, 0) else { return [] }
            return try key.positions(in: UnsafeRawBufferPointer(start: bytes, count: count))
        case SQLITE_DONE:
            return []
        case let code:
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: select.sql)
        }
    }
}

/// Where an event id is filed in `event_ids` (docs/FORMAT.md). The 16 bytes of the id, as two
/// big-endian 64-bit halves `hi` and `lo`, are mixed into `k = fmix64(hi ^ fmix64(lo))`
/// (MurmurHash3's finalizer); the top 16 bits of `k` are the bucket (the row) and the next 32
/// the tail stored in the row's entry, beside the position. Mixed, not cut from the id: ids that
/// share a time or a node prefix (UUID versions 1, 6 and 7) would crowd a few buckets.
///
/// A key names an id's place, not the id: two ids may share one (with 10 million ids stored, a
/// new id matches a stored key about once in 28 million appends), so a match is confirmed by
/// reading the id at its position in the log, and ids that share a key are all kept.
struct IDKey: Equatable {
    let bucket: Int64
    let tail: UInt32

    init(_ id: UUID) {
        let (hi, lo) = withUnsafeBytes(of: id.uuid) { raw in
            (UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        let k = Self.fmix64(hi ^ Self.fmix64(lo))
        bucket = Int64(k >> 48)
        tail = UInt32(truncatingIfNeeded: k >> 16)
    }

    static func fmix64(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// One entry: the tail, 4 bytes big-endian, then the position as an unsigned LEB128 varint.
    func appendEntry(position: Int64, to entries: inout [UInt8]) {
        entries.append(UInt8(truncatingIfNeeded: tail >> 24))
        entries.append(UInt8(truncatingIfNeeded: tail >> 16))
        entries.append(UInt8(truncatingIfNeeded: tail >> 8))
        entries.append(UInt8(truncatingIfNeeded: tail))
        Varint.append(UInt64(position), to: &entries)
    }

    /// The positions of the entries with this key's tail in a bucket's entries.
    func positions(in entries: UnsafeRawBufferPointer) throws -> [Int64] {
        var out: [Int64] = []
        var i = 0
        while i < entries.count {
            guard i + 4 < entries.count else { throw Self.damaged }
            let t = UInt32(entries[i]) << 24 | UInt32(entries[i + 1]) << 16 | UInt32(entries[i + 2]) << 8 | UInt32(entries[i + 3])
            i += 4
            guard let p = Varint.read(entries, at: &i) else { throw Self.damaged }
            if t == tail { out.append(Int64(p)) }
        }
        return out
    }

    static let damaged = EventStoreError(
        .corruption, "the index's event_ids row is damaged; delete index.sqlite and run admin init to rebuild it from the log")
}

/// A stream's positions in the index: chunks of 64 versions (from 0), each the LEB128 varint of
/// its first position followed by the differences between successive positions (a stream's
/// positions only grow). The first chunk is kept in the stream's own row of `streams` (most
/// streams never pass it), the others in `stream_chunks`.
enum StreamChunk {
    static let versions: Int64 = 64

    static func firstVersion(of version: Int64) -> Int64 { version / versions * versions }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> [Int64] {
        var out: [Int64] = []
        var i = 0
        var position: Int64 = 0
        while i < bytes.count {
            guard let v = Varint.read(bytes, at: &i) else { throw damaged }
            position += Int64(v)
            out.append(position)
        }
        return out
    }

    /// Adds rows, sorted by stream and version, to their streams: a chunk the rows continue is
    /// read, extended and written back once; the stream's last version is set.
    static func append(_ rows: [(stream: String, version: Int64, position: Int64)], in db: Database) throws {
        let readFirst = try db.cachedStatement(sql: "SELECT positions FROM streams WHERE name = ?")
        let readLater = try db.cachedStatement(sql: "SELECT positions FROM stream_chunks WHERE name = ? AND first_version = ?")
        let writeFirst = try db.cachedStatement(
            sql: "INSERT INTO streams(name, last_version, positions) VALUES (?,?,?) ON CONFLICT(name) DO UPDATE SET last_version = excluded.last_version, positions = excluded.positions")
        let writeLater = try db.cachedStatement(sql: "INSERT OR REPLACE INTO stream_chunks(name, first_version, positions) VALUES (?,?,?)")
        let setLastVersion = try db.cachedStatement(sql: "UPDATE streams SET last_version = ? WHERE name = ?")
        var i = 0
        var bytes: [UInt8] = []
        while i < rows.count {
            let stream = rows[i].stream
            let first = firstVersion(of: rows[i].version)
            var last: Int64 = 0
            var expected = first
            bytes.removeAll(keepingCapacity: true)
            if rows[i].version != first {
                // the chunk exists: this stream's earlier versions are in the index already
                let stored: Data? =
                    first == 0
                    ? try Data.fetchOne(readFirst, arguments: [stream])
                    : try Data.fetchOne(readLater, arguments: [stream, first])
                guard let stored else {
                    throw EventStoreError(
                        .corruption, "the index has no positions of stream \(stream) before version \(rows[i].version); delete index.sqlite and run admin init to rebuild it from the log")
                }
                let positions = try stored.withUnsafeBytes { raw in try decode(raw) }
                bytes.append(contentsOf: stored)
                last = positions.last ?? 0
                expected = first + Int64(positions.count)
            }
            while i < rows.count, rows[i].stream == stream, firstVersion(of: rows[i].version) == first {
                guard rows[i].version == expected, rows[i].position > last else {
                    throw EventStoreError(
                        .corruption, "stream \(stream): version \(rows[i].version) at position \(rows[i].position) does not follow version \(expected - 1) at position \(last) in the index")
                }
                Varint.append(UInt64(rows[i].position - last), to: &bytes)
                last = rows[i].position
                expected += 1
                i += 1
            }
            let lastVersion = expected - 1
            if first == 0 {
                try writeFirst.execute(arguments: [stream, lastVersion, Data(bytes)])
            } else {
                try writeLater.execute(arguments: [stream, first, Data(bytes)])
                try setLastVersion.execute(arguments: [lastVersion, stream])
            }
        }
    }

    static let damaged = EventStoreError(
        .corruption, "the index's positions of a stream are damaged; delete index.sqlite and run admin init to rebuild it from the log")
}

/// Unsigned LEB128: 7 bits a byte, low first, the high bit set on every byte but the last.
enum Varint {
    static func append(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// The value at `i` (moved past it), or nil when the bytes end inside it or it is longer
    /// than 9 bytes (positions are under 2^63).
    static func read(_ bytes: UnsafeRawBufferPointer, at i: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count, shift < 63 {
            let b = bytes[i]
            i += 1
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
        return nil
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

    private static func failure(_ db: Database, _ code: Int32, _ statement: Statement) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
            sql: statement.sql)
    }
}
