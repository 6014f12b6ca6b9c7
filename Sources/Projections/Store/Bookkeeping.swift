import Events
import GRDB

/// The lifecycle of a projection's live tables.
public enum ProjectionState: String, Sendable, Hashable, Codable {
    /// Applying events normally.
    case running
    /// The last apply failed (see `lastError`); the tables hold the state at the checkpoint.
    case failed
    /// A copy is being built beside the live tables, which still answer queries.
    case rebuilding
}

/// One row of the `projections` bookkeeping table.
struct ProjectionRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "projections"

    var name: String
    /// The schema version the live tables were built with.
    var schemaVersion: Int
    /// The last event the live tables reflect (0: none).
    var checkpointPosition: Int64
    /// That event's `recordedAt` (stored as RFC 3339 text).
    var checkpointRecordedAt: Timestamp?
    var state: ProjectionState
    var lastError: String?
    /// When the row last changed (the machine clock; stored as RFC 3339 text).
    var updatedAt: Timestamp
    /// Numbers the builds (index names carry it).
    var generation: Int
    /// How far a running rebuild has come, or `nil`.
    var rebuildPosition: Int64?
    /// The last event that changed a row of the live tables (`nil`: not known yet, for tables
    /// built before it was kept). A dashboard refreshes a read model only when this moves.
    var changedPosition: Int64?

    enum Columns {
        static let name = Column(CodingKeys.name)
    }

    var asOf: AsOf {
        AsOf(position: checkpointPosition, recordedAt: checkpointRecordedAt)
    }

    static func fetch(_ db: Database, name: String) throws -> ProjectionRecord? {
        try ProjectionRecord.fetchOne(db, key: name)
    }
}

/// A projection's bookkeeping as stored, undecoded: what ``ProjectionStore/rowVersions(_:)``
/// reads for the web service on every request.
public struct RowVersion: Sendable, Equatable {
    public var name: String
    /// The schema version the live tables were built with.
    public var schemaVersion: Int
    public var checkpointPosition: Int64
    /// The checkpoint event's `recordedAt` as stored (RFC 3339 text).
    public var checkpointRecordedAt: String?
    /// A ``ProjectionState`` raw value.
    public var state: String
    public var generation: Int
    public var changedPosition: Int64?
    /// The latest replay check of this build found the tables different from the log.
    public var differsFromLog: Bool
}

enum Bookkeeping {
    /// The migrations of the bookkeeping table, by name. Projections' own tables are versioned by
    /// their `schemaVersion` instead, and replaced by rebuilds.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-projections-bookkeeping") { db in
            try db.create(table: ProjectionRecord.databaseTableName) { t in
                t.primaryKey("name", .text)
                t.column("schemaVersion", .integer).notNull()
                t.column("checkpointPosition", .integer).notNull().defaults(to: 0)
                t.column("checkpointRecordedAt", .text)
                t.column("state", .text).notNull().defaults(to: ProjectionState.running.rawValue)
                t.column("lastError", .text)
                t.column("updatedAt", .text).notNull()
                t.column("generation", .integer).notNull().defaults(to: 0)
                t.column("rebuildPosition", .integer)
            }
        }
        migrator.registerMigration("v2-audits") { db in
            try db.create(table: AuditRecord.databaseTableName) { t in
                t.primaryKey("projection", .text)
                t.column("checkedAt", .text).notNull()
                t.column("position", .integer).notNull()
                t.column("status", .text).notNull()
                t.column("differences", .integer).notNull()
                t.column("generation", .integer).notNull()
            }
        }
        migrator.registerMigration("v3-changed-position") { db in
            try db.alter(table: ProjectionRecord.databaseTableName) { t in t.add(column: "changedPosition", .integer) }
        }
        return migrator
    }
}

/// What `status()` reports for one projection.
public struct ProjectionStatus: Sendable, Hashable, Codable {
    public var name: String
    /// The schema version of the code.
    public var codeSchemaVersion: Int
    /// The schema version the live tables were built with.
    public var storedSchemaVersion: Int
    /// The last event the live tables reflect.
    public var checkpoint: AsOf
    public var state: ProjectionState
    public var lastError: String?
    /// When the bookkeeping row last changed (machine clock).
    public var updatedAt: Timestamp?
    /// How far a running rebuild has come.
    public var rebuildPosition: Int64?
    /// The last event that changed a row of the live tables (nil: not known; take the checkpoint).
    public var changedPosition: Int64?
    /// Numbers the builds of the live tables: each rebuild raises it (not in the JSON).
    public var generation: Int = 0

    /// The live tables were built by another version of the code: they need a rebuild.
    public var isStale: Bool { storedSchemaVersion != codeSchemaVersion }

    /// How far the live tables are behind a log whose head is `position`, recorded at
    /// `recordedAt`: in events, and in seconds of recordedAt (0 when caught up).
    public func lag(behind position: Int64, recordedAt: Timestamp?) -> (events: Int64, seconds: Double) {
        let events = max(0, position - checkpoint.position)
        guard events > 0, let head = recordedAt else { return (events, 0) }
        return (events, Double(head.milliseconds - (checkpoint.recordedAt?.milliseconds ?? head.milliseconds)) / 1000)
    }

    enum CodingKeys: String, CodingKey {
        case name, codeSchemaVersion, storedSchemaVersion, checkpoint, state, lastError, updatedAt,
            rebuildPosition, isStale
    }

    public init(
        name: String, codeSchemaVersion: Int, storedSchemaVersion: Int, checkpoint: AsOf, state: ProjectionState,
        lastError: String?, updatedAt: Timestamp?, rebuildPosition: Int64?, changedPosition: Int64? = nil
    ) {
        self.name = name
        self.codeSchemaVersion = codeSchemaVersion
        self.storedSchemaVersion = storedSchemaVersion
        self.checkpoint = checkpoint
        self.state = state
        self.lastError = lastError
        self.updatedAt = updatedAt
        self.rebuildPosition = rebuildPosition
        self.changedPosition = changedPosition
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        codeSchemaVersion = try c.decode(Int.self, forKey: .codeSchemaVersion)
        storedSchemaVersion = try c.decode(Int.self, forKey: .storedSchemaVersion)
        checkpoint = try c.decode(AsOf.self, forKey: .checkpoint)
        state = try c.decode(ProjectionState.self, forKey: .state)
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        updatedAt = try c.decodeIfPresent(String.self, forKey: .updatedAt).flatMap(Timestamp.init(rfc3339:))
        rebuildPosition = try c.decodeIfPresent(Int64.self, forKey: .rebuildPosition)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(codeSchemaVersion, forKey: .codeSchemaVersion)
        try c.encode(storedSchemaVersion, forKey: .storedSchemaVersion)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(state, forKey: .state)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(updatedAt?.rfc3339, forKey: .updatedAt)
        try c.encode(rebuildPosition, forKey: .rebuildPosition)
        try c.encode(isStale, forKey: .isStale)
    }
}
