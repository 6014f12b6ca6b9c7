/// A competition theme's leaderboard (spec sections 5 and 6).
///
/// JSON: `{"competitionId", "themeCode", "asOf", "rows": [{"rank", "submissionId", "title",
/// "communityId", "oblast", "score", "jurors", "provisional", "place"}]}` plus the extra keys
/// `competitionTitle`, `themeTitle`, `kind`, `minJurors`, `winnersAnnounced` and, per row,
/// `kind` and `award`; a page of a board (``page(limit:offset:)``) also has `page`.
public struct Leaderboard: Sendable, Hashable, Codable {
    public var competitionId: String
    public var themeCode: String
    public var asOf: AsOf
    public var rows: [Entry]
    public var competitionTitle: String?
    public var themeTitle: String?
    /// The community kind the board is narrowed to, or `nil` for every kind.
    public var kind: String?
    public var minJurors: Int
    /// Whether the theme's winners are announced (scoring closed).
    public var winnersAnnounced: Bool
    /// Set on a page of the board: which rows of the whole board `rows` are. `nil` on the
    /// whole board (and then not in its JSON).
    public var page: Page?

    /// Which rows of a board a page holds: from `offset` (0-based, in rank order) at most `limit`
    /// (`nil`: every row from there), out of `total`.
    public struct Page: Sendable, Hashable, Codable {
        public var limit: Int?
        public var offset: Int
        public var total: Int
        public init(limit: Int?, offset: Int, total: Int) {
            self.limit = limit
            self.offset = offset
            self.total = total
        }
    }

    /// The rows from `offset` on, at most `limit` of them (ranks stay those of the whole board:
    /// a page of a board is the same rows the whole board has there).
    public func page(limit: Int?, offset: Int = 0) -> Leaderboard {
        precondition((limit ?? 0) >= 0 && offset >= 0, "a page has a limit and an offset of 0 or more")
        var out = self
        let start = min(offset, rows.count)
        out.rows = Array(rows[start..<(start + min(limit ?? rows.count, rows.count - start))])
        out.page = Page(limit: limit, offset: offset, total: rows.count)
        return out
    }

    /// One submission on the board.
    public struct Entry: Sendable, Hashable, Codable {
        /// The 1-based position in the board's order.
        public var rank: Int
        public var submissionId: String
        public var title: String?
        public var communityId: String
        public var oblast: String?
        /// The exact mean of the current jurors' totals; `nil` when no juror scored.
        public var score: Double?
        /// How many jurors have a current score.
        public var jurors: Int
        /// Fewer than the competition's `minJurors` current scores.
        public var provisional: Bool
        /// The winner's place once announced.
        public var place: Int?
        public var kind: String?
        public var award: String?

        public init(
            rank: Int, submissionId: String, title: String?, communityId: String, oblast: String?, score: Double?,
            jurors: Int, provisional: Bool, place: Int?, kind: String?, award: String?
        ) {
            self.rank = rank
            self.submissionId = submissionId
            self.title = title
            self.communityId = communityId
            self.oblast = oblast
            self.score = score
            self.jurors = jurors
            self.provisional = provisional
            self.place = place
            self.kind = kind
            self.award = award
        }

        enum CodingKeys: String, CodingKey {
            case rank, submissionId, title, communityId, oblast, score, jurors, provisional, place, kind, award
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rank, forKey: .rank)
            try c.encode(submissionId, forKey: .submissionId)
            try c.encode(title, forKey: .title)
            try c.encode(communityId, forKey: .communityId)
            try c.encode(oblast, forKey: .oblast)
            try c.encode(score, forKey: .score)
            try c.encode(jurors, forKey: .jurors)
            try c.encode(provisional, forKey: .provisional)
            try c.encode(place, forKey: .place)
            try c.encode(kind, forKey: .kind)
            try c.encode(award, forKey: .award)
        }
    }

    public init(
        competitionId: String, themeCode: String, asOf: AsOf, rows: [Entry], competitionTitle: String?,
        themeTitle: String?, kind: String?, minJurors: Int, winnersAnnounced: Bool
    ) {
        self.competitionId = competitionId
        self.themeCode = themeCode
        self.asOf = asOf
        self.rows = rows
        self.competitionTitle = competitionTitle
        self.themeTitle = themeTitle
        self.kind = kind
        self.minJurors = minJurors
        self.winnersAnnounced = winnersAnnounced
    }

    enum CodingKeys: String, CodingKey {
        case competitionId, themeCode, asOf, rows, competitionTitle, themeTitle, kind, minJurors, winnersAnnounced, page
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(competitionId, forKey: .competitionId)
        try c.encode(themeCode, forKey: .themeCode)
        try c.encode(asOf, forKey: .asOf)
        try c.encode(rows, forKey: .rows)
        try c.encode(competitionTitle, forKey: .competitionTitle)
        try c.encode(themeTitle, forKey: .themeTitle)
        try c.encode(kind, forKey: .kind)
        try c.encode(minJurors, forKey: .minJurors)
        try c.encode(winnersAnnounced, forKey: .winnersAnnounced)
        try c.encodeIfPresent(page, forKey: .page)
    }
}
