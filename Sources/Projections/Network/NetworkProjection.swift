import Events
import GRDB

/// The network register (spec section 5): the communities in the network now, with their join
/// date, what they share, and how many seminars they attended.
///
/// Tables (live names): `network_community` (names and oblasts from registrations),
/// `network_member` (one row per current member; leaving deletes it, joining again re-adds it
/// with the new date), `network_attendance` (seminar, community).
public struct NetworkProjection: Projection {
    public let name = "network"
    public let schemaVersion = 1
    public let tableNames = ["network_community", "network_member", "network_attendance"]

    public init() {}

    public func createTables(in db: Database, tables t: ProjectionTables) throws {
        try db.execute(
            sql: """
                CREATE TABLE \(t.quoted("network_community")) (
                    communityId TEXT PRIMARY KEY NOT NULL,
                    name TEXT,
                    oblast TEXT
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("network_member")) (
                    communityId TEXT PRIMARY KEY NOT NULL,
                    joinedAt TEXT NOT NULL,
                    joinedPosition INTEGER NOT NULL,
                    sectors TEXT NOT NULL,
                    directions TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("network_attendance")) (
                    communityId TEXT NOT NULL,
                    seminarId TEXT NOT NULL,
                    PRIMARY KEY (communityId, seminarId)
                ) WITHOUT ROWID;
                """)
    }

    struct SQL: Sendable {
        let register, join, leave, clearAttendance, attend: String

        init(_ t: ProjectionTables) {
            let community = t.quoted("network_community")
            let member = t.quoted("network_member")
            let attendance = t.quoted("network_attendance")
            register = """
                INSERT INTO \(community) (communityId, name, oblast) VALUES (?, ?, ?)
                ON CONFLICT (communityId) DO UPDATE SET name = excluded.name, oblast = excluded.oblast
                """
            join = """
                INSERT OR REPLACE INTO \(member) (communityId, joinedAt, joinedPosition, sectors, directions)
                VALUES (?, ?, ?, ?, ?)
                """
            leave = "DELETE FROM \(member) WHERE communityId = ?"
            clearAttendance = "DELETE FROM \(attendance) WHERE seminarId = ?"
            attend = "INSERT OR IGNORE INTO \(attendance) (communityId, seminarId) VALUES (?, ?)"
        }
    }

    static let sql = SQLTexts(SQL.init)

    public func apply(_ event: RecordedEvent, in db: Database, tables: ProjectionTables) throws {
        let p = Payload(event)
        switch event.kind {
        case .communityRegistered:
            try db.run(Self.sql(tables).register, [try p.id("communityId"), p.string("name"), p.string("oblast")])
        case .communityJoinedNetwork:
            try db.run(
                Self.sql(tables).join,
                [
                    try p.id("communityId"), event.occurredAt.rfc3339, event.position,
                    JSONText.encode(p.strings("sectors")), JSONText.encode(p.strings("directions")),
                ])
        case .communityLeftNetwork:
            try db.run(Self.sql(tables).leave, [try p.id("communityId")])
        case .seminarHeld:
            let sql = Self.sql(tables)
            let id = try p.id("seminarId")
            try db.run(sql.clearAttendance, [id])
            for community in p.strings("communityIds") { try db.run(sql.attend, [community, id]) }
        case .competitionAnnounced, .submissionDeadlineExtended, .winnersAnnounced, .submissionFiled,
            .submissionAmended, .submissionWithdrawn, .juryScoreAdded, .juryScoreRetracted, .practicePublished,
            .practiceRevised, .practiceUnpublished, nil:
            break
        }
    }
}
