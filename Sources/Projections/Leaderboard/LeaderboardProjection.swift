import Events
import GRDB

/// The competition leaderboards (spec section 5): submissions per competition and theme with
/// their jurors' current scores, withdrawals and winners' places.
///
/// Tables (live names): `leaderboard_competition`, `leaderboard_theme`, `leaderboard_community`,
/// `leaderboard_submission`, `leaderboard_score`. Scores are kept per juror (a re-score replaces
/// the row, a retraction deletes it), so the mean and the jurors' count are computed when asked.
public struct LeaderboardProjection: Projection {
    public let name = "leaderboard"
    public let schemaVersion = 1
    public let tableNames = [
        "leaderboard_competition", "leaderboard_theme", "leaderboard_community", "leaderboard_submission",
        "leaderboard_score",
    ]

    public init() {}

    public func createTables(in db: Database, tables t: ProjectionTables) throws {
        try db.execute(
            sql: """
                CREATE TABLE \(t.quoted("leaderboard_competition")) (
                    competitionId TEXT PRIMARY KEY NOT NULL,
                    title TEXT,
                    year INTEGER,
                    minJurors INTEGER NOT NULL,
                    submissionDeadline TEXT,
                    announcedPosition INTEGER NOT NULL
                );
                CREATE TABLE \(t.quoted("leaderboard_theme")) (
                    competitionId TEXT NOT NULL,
                    themeCode TEXT NOT NULL,
                    title TEXT,
                    ordinal INTEGER NOT NULL,
                    winnersAnnounced INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (competitionId, themeCode)
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("leaderboard_community")) (
                    communityId TEXT PRIMARY KEY NOT NULL,
                    name TEXT,
                    oblast TEXT,
                    kind TEXT
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("leaderboard_submission")) (
                    submissionId TEXT PRIMARY KEY NOT NULL,
                    competitionId TEXT NOT NULL,
                    themeCode TEXT NOT NULL,
                    communityId TEXT NOT NULL,
                    title TEXT,
                    filedPosition INTEGER NOT NULL,
                    withdrawn INTEGER NOT NULL DEFAULT 0,
                    place INTEGER,
                    award TEXT
                );
                CREATE INDEX \(t.indexName("leaderboard_submission", "by_theme"))
                    ON \(t.quoted("leaderboard_submission")) (competitionId, themeCode);
                CREATE TABLE \(t.quoted("leaderboard_score")) (
                    submissionId TEXT NOT NULL,
                    jurorId TEXT NOT NULL,
                    total INTEGER NOT NULL,
                    scoredPosition INTEGER NOT NULL,
                    PRIMARY KEY (submissionId, jurorId)
                ) WITHOUT ROWID;
                """)
    }

    struct SQL: Sendable {
        let upsertCompetition, deleteThemes, insertTheme, extendDeadline: String
        let clearPlaces, setPlace, markAnnounced: String
        let upsertCommunity: String
        let fileSubmission, amendTitle, amendCommunity, amendTheme, withdraw: String
        let upsertScore, deleteScore: String

        init(_ t: ProjectionTables) {
            let competition = t.quoted("leaderboard_competition")
            let theme = t.quoted("leaderboard_theme")
            let community = t.quoted("leaderboard_community")
            let submission = t.quoted("leaderboard_submission")
            let score = t.quoted("leaderboard_score")
            upsertCompetition = """
                INSERT INTO \(competition) (competitionId, title, year, minJurors, submissionDeadline, announcedPosition)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (competitionId) DO UPDATE SET title = excluded.title, year = excluded.year,
                    minJurors = excluded.minJurors, submissionDeadline = excluded.submissionDeadline
                """
            deleteThemes = "DELETE FROM \(theme) WHERE competitionId = ?"
            insertTheme = "INSERT OR REPLACE INTO \(theme) (competitionId, themeCode, title, ordinal) VALUES (?, ?, ?, ?)"
            extendDeadline = "UPDATE \(competition) SET submissionDeadline = ? WHERE competitionId = ?"
            clearPlaces = """
                UPDATE \(submission) SET place = NULL, award = NULL
                WHERE competitionId = ? AND themeCode = ? AND place IS NOT NULL
                """
            setPlace = "UPDATE \(submission) SET place = ?, award = ? WHERE submissionId = ?"
            markAnnounced = "UPDATE \(theme) SET winnersAnnounced = 1 WHERE competitionId = ? AND themeCode = ?"
            upsertCommunity = """
                INSERT INTO \(community) (communityId, name, oblast, kind) VALUES (?, ?, ?, ?)
                ON CONFLICT (communityId) DO UPDATE SET name = excluded.name, oblast = excluded.oblast, kind = excluded.kind
                """
            fileSubmission = """
                INSERT INTO \(submission) (submissionId, competitionId, themeCode, communityId, title, filedPosition)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (submissionId) DO UPDATE SET competitionId = excluded.competitionId,
                    themeCode = excluded.themeCode, communityId = excluded.communityId, title = excluded.title
                """
            amendTitle = "UPDATE \(submission) SET title = ? WHERE submissionId = ?"
            amendCommunity = "UPDATE \(submission) SET communityId = ? WHERE submissionId = ?"
            amendTheme = "UPDATE \(submission) SET themeCode = ? WHERE submissionId = ?"
            withdraw = "UPDATE \(submission) SET withdrawn = 1 WHERE submissionId = ?"
            upsertScore = """
                INSERT INTO \(score) (submissionId, jurorId, total, scoredPosition) VALUES (?, ?, ?, ?)
                ON CONFLICT (submissionId, jurorId) DO UPDATE SET total = excluded.total,
                    scoredPosition = excluded.scoredPosition
                """
            deleteScore = "DELETE FROM \(score) WHERE submissionId = ? AND jurorId = ?"
        }
    }

    static let sql = SQLTexts(SQL.init)

    public func apply(_ event: RecordedEvent, in db: Database, tables: ProjectionTables) throws {
        let p = Payload(event)
        switch event.kind {
        case .juryScoreAdded:
            let sql = Self.sql(tables)
            var total: Int64 = 0
            for (_, points) in p.object("scores") ?? [:] {
                guard let n = points.intValue else {
                    throw ProjectionError.malformed(event, field: "scores", "must map criteria to integers")
                }
                total += n
            }
            try db.run(sql.upsertScore, [try p.id("submissionId"), try p.id("jurorId"), total, event.position])
        case .juryScoreRetracted:
            try db.run(Self.sql(tables).deleteScore, [try p.id("submissionId"), try p.id("jurorId")])
        case .submissionFiled:
            try db.run(
                Self.sql(tables).fileSubmission,
                [
                    try p.id("submissionId"), try p.id("competitionId"), try p.id("themeCode"),
                    try p.id("communityId"), p.string("title"), event.position,
                ])
        case .submissionAmended:
            let sql = Self.sql(tables)
            let id = try p.id("submissionId")
            let changes = p.object("changes") ?? [:]
            if let title = changes["title"]?.stringValue { try db.run(sql.amendTitle, [title, id]) }
            if let community = changes["communityId"]?.stringValue, !community.isEmpty {
                try db.run(sql.amendCommunity, [community, id])
            }
            if let theme = changes["themeCode"]?.stringValue, !theme.isEmpty { try db.run(sql.amendTheme, [theme, id]) }
        case .submissionWithdrawn:
            try db.run(Self.sql(tables).withdraw, [try p.id("submissionId")])
        case .communityRegistered:
            try db.run(
                Self.sql(tables).upsertCommunity,
                [try p.id("communityId"), p.string("name"), p.string("oblast"), p.string("kind")])
        case .competitionAnnounced:
            let sql = Self.sql(tables)
            let id = try p.id("competitionId")
            try db.run(
                sql.upsertCompetition,
                [id, p.string("title"), p.integer("year"), max(1, p.integer("minJurors") ?? 1),
                 p.string("submissionDeadline"), event.position])
            try db.run(sql.deleteThemes, [id])
            for (ordinal, theme) in (event.data["themes"]?.arrayValue ?? []).enumerated() {
                guard let code = theme["code"]?.stringValue else {
                    throw ProjectionError.malformed(event, field: "themes[\(ordinal)].code", "is required")
                }
                try db.run(sql.insertTheme, [id, code, theme["title"]?.stringValue, ordinal])
            }
        case .submissionDeadlineExtended:
            try db.run(Self.sql(tables).extendDeadline, [p.string("submissionDeadline"), try p.id("competitionId")])
        case .winnersAnnounced:
            let sql = Self.sql(tables)
            let competition = try p.id("competitionId")
            let theme = try p.id("themeCode")
            try db.run(sql.clearPlaces, [competition, theme])
            for (i, winner) in (event.data["winners"]?.arrayValue ?? []).enumerated() {
                guard let id = winner["submissionId"]?.stringValue, let place = winner["place"]?.intValue else {
                    throw ProjectionError.malformed(
                        event, field: "winners[\(i)]", "needs a submissionId and an integer place")
                }
                try db.run(sql.setPlace, [place, winner["award"]?.stringValue, id])
            }
            try db.run(sql.markAnnounced, [competition, theme])
        case .communityJoinedNetwork, .communityLeftNetwork, .seminarHeld, .practicePublished, .practiceRevised,
            .practiceUnpublished, nil:
            break
        }
    }
}
