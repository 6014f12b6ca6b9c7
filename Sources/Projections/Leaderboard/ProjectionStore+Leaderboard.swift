import Events
import GRDB

extension ProjectionStore {
    /// The leaderboard of one competition theme (spec section 5).
    ///
    /// A submission's score is the exact mean of its current jurors' totals; withdrawn
    /// submissions are out; fewer than `minJurors` current scores make a row provisional. Order:
    /// non-provisional first, score descending (no score last), more jurors first, earlier
    /// `SubmissionFiled` position; `rank` is the 1-based position in that order.
    /// - Parameters:
    ///   - kind: `urban`, `settlement` or `rural` to keep only communities of that kind (ranks
    ///     are then counted within the kind), or `nil` for all.
    /// - Throws: ``ProjectionError`` `.notFound` for an unknown competition or theme,
    ///   `.invalidArgument` for an unknown kind.
    public func leaderboard(competitionId: String, themeCode: String, kind: String? = nil) throws -> Leaderboard {
        try checkKind(kind)
        return try storage("cannot read the leaderboard", projection: "leaderboard") {
            try pool.read { db in
                let competition = try Self.competition(db, competitionId)
                guard let theme = competition.themes.first(where: { $0.code == themeCode }) else {
                    throw ProjectionError(
                        .notFound,
                        "competition \(competitionId) has no theme \"\(themeCode)\" (themes: \(competition.themes.map(\.code).joined(separator: ", ")))",
                        projection: "leaderboard")
                }
                return try Self.board(db, competition, theme, kind: kind, asOf: Self.asOf(db, "leaderboard"))
            }
        }
    }

    /// The leaderboards of every theme of a competition, in the order the themes were announced.
    /// - Throws: ``ProjectionError`` `.notFound` for an unknown competition.
    public func leaderboards(competitionId: String, kind: String? = nil) throws -> [Leaderboard] {
        try checkKind(kind)
        return try storage("cannot read the leaderboard", projection: "leaderboard") {
            try pool.read { db in
                let competition = try Self.competition(db, competitionId)
                let asOf = try Self.asOf(db, "leaderboard")
                return try competition.themes.map { try Self.board(db, competition, $0, kind: kind, asOf: asOf) }
            }
        }
    }

    /// The competitions the leaderboard knows, in the order they were announced.
    public func competitions() throws -> [String] {
        try storage("cannot read the competitions", projection: "leaderboard") {
            try pool.read { db in
                try String.fetchAll(db, sql: "SELECT competitionId FROM leaderboard_competition ORDER BY announcedPosition")
            }
        }
    }

    func checkKind(_ kind: String?) throws {
        if let kind, !Vocabulary.communityKinds.contains(kind) {
            throw ProjectionError(
                .invalidArgument,
                "unknown community kind \"\(kind)\" (known: \(Vocabulary.communityKinds.joined(separator: ", ")))")
        }
    }

    struct CompetitionInfo {
        var id: String
        var title: String?
        var minJurors: Int
        var themes: [(code: String, title: String?, announced: Bool)]
    }

    static func competition(_ db: Database, _ id: String) throws -> CompetitionInfo {
        guard
            let row = try CompetitionRow.fetchOne(
                db, sql: "SELECT title, minJurors FROM leaderboard_competition WHERE competitionId = ?", arguments: [id])
        else {
            let known = try String.fetchAll(
                db, sql: "SELECT competitionId FROM leaderboard_competition ORDER BY competitionId")
            throw ProjectionError(
                .notFound,
                "no competition \(id) is announced (competitions: \(known.isEmpty ? "none yet" : known.joined(separator: ", ")))",
                projection: "leaderboard")
        }
        let themes = try ThemeRow.fetchAll(
            db,
            sql: "SELECT themeCode, title, winnersAnnounced FROM leaderboard_theme WHERE competitionId = ? ORDER BY ordinal",
            arguments: [id]
        ).map { (code: $0.themeCode, title: $0.title, announced: $0.winnersAnnounced) }
        return CompetitionInfo(id: id, title: row.title, minJurors: row.minJurors, themes: themes)
    }

    static func board(
        _ db: Database, _ competition: CompetitionInfo, _ theme: (code: String, title: String?, announced: Bool),
        kind: String?, asOf: AsOf
    ) throws -> Leaderboard {
        // Each submission's scores counted by their primary key (a correlated lookup), not by a
        // GROUP BY over the join: that needs a temporary B-tree and costs 6x as much on a
        // 5,000-row board (docs/PERFORMANCE.md).
        struct Candidate {
            var entry: Leaderboard.Entry
            var filed: Int64
        }
        var candidates: [Candidate] = []
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT s.submissionId, s.title, s.communityId, c.oblast, c.kind, s.filedPosition, s.place, s.award,
                    (SELECT COUNT(*) FROM leaderboard_score sc WHERE sc.submissionId = s.submissionId),
                    (SELECT SUM(sc.total) FROM leaderboard_score sc WHERE sc.submissionId = s.submissionId)
                FROM leaderboard_submission s
                LEFT JOIN leaderboard_community c ON c.communityId = s.communityId
                WHERE s.competitionId = ? AND s.themeCode = ? AND s.withdrawn = 0
                """,
            arguments: [competition.id, theme.code])
        while let row = try rows.next() {
            let rowKind: String? = row[4]
            if let kind, rowKind != kind { continue }
            let jurors: Int = row[8]
            let total: Int64? = row[9]
            let score = jurors > 0 ? Double(total ?? 0) / Double(jurors) : nil
            candidates.append(
                Candidate(
                    entry: Leaderboard.Entry(
                        rank: 0, submissionId: row[0], title: row[1], communityId: row[2],
                        oblast: row[3], score: score, jurors: jurors,
                        provisional: jurors < competition.minJurors, place: row[6], kind: rowKind,
                        award: row[7]),
                    filed: row[5]))
        }
        candidates.sort { a, b in
            if a.entry.provisional != b.entry.provisional { return !a.entry.provisional }
            switch (a.entry.score, b.entry.score) {
            case let (x?, y?) where x != y: return x > y
            case (_?, nil): return true
            case (nil, _?): return false
            default: break
            }
            if a.entry.jurors != b.entry.jurors { return a.entry.jurors > b.entry.jurors }
            return a.filed < b.filed
        }
        let entries = candidates.enumerated().map { i, c in
            var e = c.entry
            e.rank = i + 1
            return e
        }
        return Leaderboard(
            competitionId: competition.id, themeCode: theme.code, asOf: asOf, rows: entries,
            competitionTitle: competition.title, themeTitle: theme.title, kind: kind, minJurors: competition.minJurors,
            winnersAnnounced: theme.announced)
    }
}

// The rows of the leaderboard's queries, by column name.

private struct CompetitionRow: Decodable, FetchableRecord {
    var title: String?
    var minJurors: Int
}

private struct ThemeRow: Decodable, FetchableRecord {
    var themeCode: String
    var title: String?
    var winnersAnnounced: Bool
}
