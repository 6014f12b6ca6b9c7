import Events
import GRDB

/// The regional seminars (spec section 5): each seminar with its date, place, direction,
/// participants and the communities that attended.
///
/// Tables (live names): `seminars_seminar` (one row per seminar, `communityIds` as a JSON array)
/// and `seminars_attendance` (seminar, community), for joins.
public struct SeminarsProjection: Projection {
    public let name = "seminars"
    public let schemaVersion = 1
    public let tableNames = ["seminars_seminar", "seminars_attendance"]

    public init() {}

    public func createTables(in db: Database, tables t: ProjectionTables) throws {
        try db.execute(
            sql: """
                CREATE TABLE \(t.quoted("seminars_seminar")) (
                    seminarId TEXT PRIMARY KEY NOT NULL,
                    title TEXT,
                    direction TEXT,
                    oblast TEXT,
                    city TEXT,
                    date TEXT,
                    participants INTEGER NOT NULL DEFAULT 0,
                    communityIds TEXT NOT NULL,
                    heldPosition INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("seminars_attendance")) (
                    seminarId TEXT NOT NULL,
                    communityId TEXT NOT NULL,
                    PRIMARY KEY (seminarId, communityId)
                ) WITHOUT ROWID;
                """)
    }

    struct SQL: Sendable {
        let upsert, clearAttendance, attend: String

        init(_ t: ProjectionTables) {
            let seminar = t.quoted("seminars_seminar")
            let attendance = t.quoted("seminars_attendance")
            upsert = """
                INSERT OR REPLACE INTO \(seminar)
                    (seminarId, title, direction, oblast, city, date, participants, communityIds, heldPosition)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            clearAttendance = "DELETE FROM \(attendance) WHERE seminarId = ?"
            attend = "INSERT OR IGNORE INTO \(attendance) (seminarId, communityId) VALUES (?, ?)"
        }
    }

    static let sql = SQLTexts(SQL.init)

    public func apply(_ event: RecordedEvent, in db: Database, tables: ProjectionTables) throws {
        guard event.kind == .seminarHeld else { return }
        let p = Payload(event)
        let sql = Self.sql(tables)
        let id = try p.id("seminarId")
        var communities: [String] = []
        for c in p.strings("communityIds") where !communities.contains(c) { communities.append(c) }
        try db.run(
            sql.upsert,
            [
                id, p.string("title"), p.string("direction"), p.string("oblast"), p.string("city"), p.string("date"),
                p.integer("participants") ?? 0, JSONText.encode(communities), event.position,
            ])
        try db.run(sql.clearAttendance, [id])
        for c in communities { try db.run(sql.attend, [id, c]) }
    }
}
