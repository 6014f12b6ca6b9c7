import Foundation
import GRDB

/// The indexes of the log, in `<store>/index.sqlite`: frames (to seek by position and by
/// recordedAt), events (to find an id, to read a stream), streams (their last version), and the
/// domain state the business rules need. The log is the only source of truth: this file is
/// rebuilt from it when it is missing, damaged or behind, so it is written with
/// `synchronous=NORMAL` and never fsynced on its own.
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

    static let schemaVersion = 1

    init(path: String, readOnly: Bool) throws {
        self.path = path
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        // The writer keeps one transaction open across many accesses (a group commit).
        config.allowsUnsafeTransactions = !readOnly
        config.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
            }
        }
        queue = try DatabaseQueue(path: path, configuration: config)
        if !readOnly { try migrate() }
    }

    private func migrate() throws {
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS frames(
                    first_position INTEGER PRIMARY KEY, count INTEGER NOT NULL, segment INTEGER NOT NULL,
                    offset INTEGER NOT NULL, length INTEGER NOT NULL, first_recorded INTEGER NOT NULL,
                    last_recorded INTEGER NOT NULL, last_hash BLOB NOT NULL, raw_length INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS frames_by_time ON frames(last_recorded);
                CREATE TABLE IF NOT EXISTS streams(
                    stream_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, last_version INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS events(
                    position INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL, version INTEGER NOT NULL, id BLOB NOT NULL);
                CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events(id);
                CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events(stream_id, version);
                CREATE TABLE IF NOT EXISTS domain_state(one INTEGER PRIMARY KEY CHECK (one = 1), position INTEGER NOT NULL, state BLOB NOT NULL);
                INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', \(Self.schemaVersion));
                """)
        }
    }

    /// Deletes every row: the index is about to be rebuilt from the log.
    func reset() throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM frames; DELETE FROM streams; DELETE FROM events; DELETE FROM domain_state;")
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
            try Int64.fetchOne(db, sql: "SELECT position FROM events WHERE id = ?", arguments: [Self.blob(id)])
        }
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
                    SELECT e.position FROM events e JOIN streams s ON s.stream_id = e.stream_id
                    WHERE s.name = ? AND e.version >= ? ORDER BY e.version
                    """, arguments: [name, fromVersion])
        }
    }

    func counts() throws -> (events: Int64, streams: Int64, frames: Int64, rawBytes: Int64) {
        try queue.read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM streams") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT count(*) FROM frames") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT coalesce(sum(raw_length), 0) FROM frames") ?? 0
            )
        }
    }

    func domainState() throws -> (position: Int64, state: Data)? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT position, state FROM domain_state WHERE one = 1").map { ($0[0], $0[1]) }
        }
    }

    func saveDomainState(position: Int64, state: Data) throws {
        try queue.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO domain_state(one, position, state) VALUES (1, ?, ?)",
                arguments: [position, state])
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
        let insertEvent = try db.cachedStatement(sql: "INSERT INTO events(position, stream_id, version, id) VALUES (?,?,?,?)")
        let upsertStream = try db.cachedStatement(
            sql: "INSERT INTO streams(stream_id, name, last_version) VALUES (?,?,?) ON CONFLICT(stream_id) DO UPDATE SET last_version = excluded.last_version")
        var touched: [String: Int64] = [:]
        for row in rows {
            guard let entry = streams[row.stream] else { continue }
            try insertEvent.execute(arguments: [row.position, entry.id, row.version, blob(row.id)])
            touched[row.stream] = row.version
        }
        for (name, version) in touched {
            try upsertStream.execute(arguments: [streams[name]!.id, name, version])
        }
    }
}
