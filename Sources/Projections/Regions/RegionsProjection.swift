import Events
import GRDB

/// Regional statistics (spec section 5): per oblast, the facts every figure is counted from.
///
/// Tables (live names): `regions_community`, `regions_submission`, `regions_score`,
/// `regions_seminar`, `regions_attendance`, `regions_practice`. The projection keeps its own copy
/// of every fact it needs (registrations, scores, ...), so it can be rebuilt alone; the figures
/// are aggregated when asked.
public struct RegionsProjection: Projection {
    public let name = "regions"
    public let schemaVersion = 1
    public let tableNames = [
        "regions_community", "regions_submission", "regions_score", "regions_seminar", "regions_attendance",
        "regions_practice",
    ]

    public init() {}

    public func createTables(in db: Database, tables t: ProjectionTables) throws {
        try db.execute(
            sql: """
                CREATE TABLE \(t.quoted("regions_community")) (
                    communityId TEXT PRIMARY KEY NOT NULL,
                    oblast TEXT,
                    population INTEGER NOT NULL DEFAULT 0,
                    registered INTEGER NOT NULL DEFAULT 0,
                    member INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("regions_submission")) (
                    submissionId TEXT PRIMARY KEY NOT NULL,
                    competitionId TEXT NOT NULL,
                    themeCode TEXT NOT NULL,
                    communityId TEXT NOT NULL,
                    withdrawn INTEGER NOT NULL DEFAULT 0,
                    place INTEGER
                );
                CREATE INDEX \(t.indexName("regions_submission", "by_theme"))
                    ON \(t.quoted("regions_submission")) (competitionId, themeCode);
                CREATE TABLE \(t.quoted("regions_score")) (
                    submissionId TEXT NOT NULL,
                    jurorId TEXT NOT NULL,
                    total INTEGER NOT NULL,
                    PRIMARY KEY (submissionId, jurorId)
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("regions_seminar")) (
                    seminarId TEXT PRIMARY KEY NOT NULL,
                    oblast TEXT,
                    participants INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("regions_attendance")) (
                    seminarId TEXT NOT NULL,
                    communityId TEXT NOT NULL,
                    PRIMARY KEY (seminarId, communityId)
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("regions_practice")) (
                    practiceId TEXT PRIMARY KEY NOT NULL,
                    communityId TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
    }

    struct SQL: Sendable {
        let register, join, leave: String
        let file, amendCommunity, amendTheme, withdraw, clearPlaces, setPlace: String
        let upsertScore, deleteScore: String
        let upsertSeminar, clearAttendance, attend: String
        let publish, movePractice, unpublish: String

        init(_ t: ProjectionTables) {
            let community = t.quoted("regions_community")
            let submission = t.quoted("regions_submission")
            let score = t.quoted("regions_score")
            let seminar = t.quoted("regions_seminar")
            let attendance = t.quoted("regions_attendance")
            let practice = t.quoted("regions_practice")
            register = """
                INSERT INTO \(community) (communityId, oblast, population, registered) VALUES (?, ?, ?, 1)
                ON CONFLICT (communityId) DO UPDATE SET oblast = excluded.oblast, population = excluded.population,
                    registered = 1
                """
            join = """
                INSERT INTO \(community) (communityId, member) VALUES (?, 1)
                ON CONFLICT (communityId) DO UPDATE SET member = 1
                """
            leave = "UPDATE \(community) SET member = 0 WHERE communityId = ?"
            file = """
                INSERT INTO \(submission) (submissionId, competitionId, themeCode, communityId) VALUES (?, ?, ?, ?)
                ON CONFLICT (submissionId) DO UPDATE SET competitionId = excluded.competitionId,
                    themeCode = excluded.themeCode, communityId = excluded.communityId
                """
            amendCommunity = "UPDATE \(submission) SET communityId = ? WHERE submissionId = ?"
            amendTheme = "UPDATE \(submission) SET themeCode = ? WHERE submissionId = ?"
            withdraw = "UPDATE \(submission) SET withdrawn = 1 WHERE submissionId = ?"
            clearPlaces = """
                UPDATE \(submission) SET place = NULL WHERE competitionId = ? AND themeCode = ? AND place IS NOT NULL
                """
            setPlace = "UPDATE \(submission) SET place = ? WHERE submissionId = ?"
            upsertScore = """
                INSERT INTO \(score) (submissionId, jurorId, total) VALUES (?, ?, ?)
                ON CONFLICT (submissionId, jurorId) DO UPDATE SET total = excluded.total
                """
            deleteScore = "DELETE FROM \(score) WHERE submissionId = ? AND jurorId = ?"
            upsertSeminar = """
                INSERT INTO \(seminar) (seminarId, oblast, participants) VALUES (?, ?, ?)
                ON CONFLICT (seminarId) DO UPDATE SET oblast = excluded.oblast, participants = excluded.participants
                """
            clearAttendance = "DELETE FROM \(attendance) WHERE seminarId = ?"
            attend = "INSERT OR IGNORE INTO \(attendance) (seminarId, communityId) VALUES (?, ?)"
            publish = "INSERT OR REPLACE INTO \(practice) (practiceId, communityId) VALUES (?, ?)"
            movePractice = "UPDATE \(practice) SET communityId = ? WHERE practiceId = ?"
            unpublish = "DELETE FROM \(practice) WHERE practiceId = ?"
        }
    }

    static let sql = SQLTexts(SQL.init)

    public func apply(_ event: RecordedEvent, in db: Database, tables: ProjectionTables) throws {
        let p = Payload(event)
        switch event.kind {
        case .juryScoreAdded:
            var total: Int64 = 0
            for (_, points) in p.object("scores") ?? [:] {
                guard let n = points.intValue else {
                    throw ProjectionError.malformed(event, field: "scores", "must map criteria to integers")
                }
                total += n
            }
            try db.run(Self.sql(tables).upsertScore, [try p.id("submissionId"), try p.id("jurorId"), total])
        case .juryScoreRetracted:
            try db.run(Self.sql(tables).deleteScore, [try p.id("submissionId"), try p.id("jurorId")])
        case .submissionFiled:
            try db.run(
                Self.sql(tables).file,
                [try p.id("submissionId"), try p.id("competitionId"), try p.id("themeCode"), try p.id("communityId")])
        case .submissionAmended:
            let sql = Self.sql(tables)
            let id = try p.id("submissionId")
            let changes = p.object("changes") ?? [:]
            if let community = changes["communityId"]?.stringValue, !community.isEmpty {
                try db.run(sql.amendCommunity, [community, id])
            }
            if let theme = changes["themeCode"]?.stringValue, !theme.isEmpty { try db.run(sql.amendTheme, [theme, id]) }
        case .submissionWithdrawn:
            try db.run(Self.sql(tables).withdraw, [try p.id("submissionId")])
        case .winnersAnnounced:
            let sql = Self.sql(tables)
            try db.run(sql.clearPlaces, [try p.id("competitionId"), try p.id("themeCode")])
            for (i, winner) in (event.data["winners"]?.arrayValue ?? []).enumerated() {
                guard let id = winner["submissionId"]?.stringValue, let place = winner["place"]?.intValue else {
                    throw ProjectionError.malformed(
                        event, field: "winners[\(i)]", "needs a submissionId and an integer place")
                }
                try db.run(sql.setPlace, [place, id])
            }
        case .communityRegistered:
            try db.run(
                Self.sql(tables).register, [try p.id("communityId"), p.string("oblast"), p.integer("population") ?? 0])
        case .communityJoinedNetwork:
            try db.run(Self.sql(tables).join, [try p.id("communityId")])
        case .communityLeftNetwork:
            try db.run(Self.sql(tables).leave, [try p.id("communityId")])
        case .seminarHeld:
            let sql = Self.sql(tables)
            let id = try p.id("seminarId")
            try db.run(sql.upsertSeminar, [id, p.string("oblast"), p.integer("participants") ?? 0])
            try db.run(sql.clearAttendance, [id])
            for community in p.strings("communityIds") { try db.run(sql.attend, [id, community]) }
        case .practicePublished:
            try db.run(Self.sql(tables).publish, [try p.id("practiceId"), try p.id("communityId")])
        case .practiceRevised:
            if let community = p.object("changes")?["communityId"]?.stringValue, !community.isEmpty {
                try db.run(Self.sql(tables).movePractice, [community, try p.id("practiceId")])
            }
        case .practiceUnpublished:
            try db.run(Self.sql(tables).unpublish, [try p.id("practiceId")])
        case .competitionAnnounced, .submissionDeadlineExtended, nil:
            break
        }
    }
}
