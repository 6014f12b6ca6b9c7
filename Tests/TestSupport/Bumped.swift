import Events
import GRDB
import Projections

/// A projection with a bumped schema version: what the code looks like after a change.
public struct Bumped: Projection {
    public let base: any Projection
    public var by: Int

    public init(base: any Projection, by: Int = 1) {
        self.base = base
        self.by = by
    }

    public var name: String { base.name }
    public var schemaVersion: Int { base.schemaVersion + by }
    public var tableNames: [String] { base.tableNames }
    public func createTables(in db: Database, tables: ProjectionTables) throws { try base.createTables(in: db, tables: tables) }
    public func apply(_ event: RecordedEvent, in db: Database, tables: ProjectionTables) throws {
        try base.apply(event, in: db, tables: tables)
    }
}
