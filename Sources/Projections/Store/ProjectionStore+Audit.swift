import Events
import GRDB

/// The last replay check of one projection (`admin replay --check`, or the workers'
/// `--audit-every`), kept beside the bookkeeping.
public struct AuditRecord: Sendable, Hashable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "audits"

    public enum Status: String, Sendable, Hashable, Codable, DatabaseValueConvertible {
        /// Every table equalled the log's fold.
        case equal
        /// Some rows differed from the log's fold.
        case differs
        /// Built by another schema version: not comparable.
        case stale
    }

    public var projection: String
    public var checkedAt: Timestamp
    /// The position the projection stood at and to which the log was folded.
    public var position: Int64
    public var status: Status
    public var differences: Int
    /// The projection's build generation when checked: a rebuild since makes the verdict old.
    public var generation: Int

    public init(projection: String, checkedAt: Timestamp, position: Int64, status: Status, differences: Int, generation: Int) {
        self.projection = projection
        self.checkedAt = checkedAt
        self.position = position
        self.status = status
        self.differences = differences
        self.generation = generation
    }

    /// Whether the verdict is of the tables served now (`generations`: ``ProjectionStore/generations()``),
    /// not of tables a rebuild has replaced since.
    public func isCurrent(in generations: [String: Int]) -> Bool {
        generations[projection] == generation
    }
}

extension ErrorCode {
    /// A replay check found the read model different from the log: it is not served until
    /// rebuilt.
    public static let differsFromLog = ErrorCode("differs-from-log")
}

extension ProjectionStore {
    /// Each projection's build generation (numbers its rebuilds), by name.
    public func generations() throws -> [String: Int] {
        try storage("cannot read the projections' generations") {
            try pool.read { db in
                Dictionary(uniqueKeysWithValues: try ProjectionRecord.fetchAll(db).map { ($0.name, $0.generation) })
            }
        }
    }

    /// Records the verdicts of a replay check (one row per projection: the latest).
    public func record(audits: [AuditRecord]) throws {
        try storage("cannot record the replay check") {
            try pool.write { db in
                for a in audits { try a.save(db) }
            }
        }
    }

    /// The latest verdict on each projection, whether or not a rebuild has made it old.
    public func audits() throws -> [AuditRecord] {
        try storage("cannot read the replay checks") {
            try pool.read { db in try AuditRecord.order(Column("projection")).fetchAll(db) }
        }
    }

    /// Refuses to answer from a projection whose latest replay check, for its current build,
    /// found it different from the log.
    /// - Throws: ``ProjectionError`` `.differsFromLog` naming the projection, when and how much.
    public func requireMatchesLog(_ names: [String]) throws {
        let found = try storage("cannot read the replay checks") {
            try pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT a.projection, a.checkedAt, a.differences, a.position FROM audits a
                        JOIN projections p ON p.name = a.projection AND p.generation = a.generation
                        WHERE a.status = 'differs' AND a.projection IN (SELECT value FROM json_each(?))
                        """, arguments: [JSONText.encode(names)])
                .map { (name: $0["projection"] as String, at: $0["checkedAt"] as String, n: $0["differences"] as Int) }
            }
        }
        guard let first = found.first else { return }
        throw ProjectionError(
            .differsFromLog,
            "it differs from the log (\(first.n) \(first.n == 1 ? "difference" : "differences") found by a replay check at \(first.at)); it is not served until rebuilt: admin rebuild --projection \(first.name)",
            projection: first.name)
    }
}
