/// What narrows a catalog search; `nil` fields do not filter.
public struct CatalogFilters: Sendable, Hashable, Codable {
    /// One of the sectors (`education`, `governance`, ...).
    public var sector: String?
    /// One of the directions (`budget-process`, ...): practices that list it.
    public var direction: String?
    /// One of the participation forms (`consultation`, ...): practices that list it.
    public var form: String?
    /// An ISO 3166-2:UA code: practices of communities of that oblast.
    public var oblast: String?
    /// A community id.
    public var community: String?

    public init(
        sector: String? = nil, direction: String? = nil, form: String? = nil, oblast: String? = nil,
        community: String? = nil
    ) {
        self.sector = sector
        self.direction = direction
        self.form = form
        self.oblast = oblast
        self.community = community
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sector, forKey: .sector)
        try c.encode(direction, forKey: .direction)
        try c.encode(form, forKey: .form)
        try c.encode(oblast, forKey: .oblast)
        try c.encode(community, forKey: .community)
    }
}

/// One page of a catalog search (spec section 6).
///
/// JSON: `{"query", "asOf", "total", "rows": [{"practiceId", "title", "communityId", "oblast",
/// "sector", "snippet", "rank"}]}` plus `filters`, `facets` (per filter, the number of matching
/// practices for each value) and, per row, `relevance`, `directions`, `participationForms`, `tags`.
public struct CatalogPage: Sendable, Hashable, Codable {
    /// The search text as given (`nil`: list everything).
    public var query: String?
    public var asOf: AsOf
    /// How many practices match the text and the filters (the rows are the first `limit`).
    public var total: Int
    public var rows: [Hit]
    public var filters: CatalogFilters
    public var facets: Facets

    /// One practice found.
    public struct Hit: Sendable, Hashable, Codable {
        public var practiceId: String
        public var title: String
        public var communityId: String
        public var oblast: String?
        public var sector: String?
        /// A cut of the original text, matched words between `[` and `]`.
        public var snippet: String
        /// 1-based position in relevance order (by `practiceId` without search text).
        public var rank: Int
        /// BM25 relevance (higher is better; title weighted most), `nil` without search text.
        public var relevance: Double?
        public var directions: [String]
        public var participationForms: [String]
        public var tags: [String]

        public init(
            practiceId: String, title: String, communityId: String, oblast: String?, sector: String?,
            snippet: String, rank: Int, relevance: Double?, directions: [String], participationForms: [String],
            tags: [String]
        ) {
            self.practiceId = practiceId
            self.title = title
            self.communityId = communityId
            self.oblast = oblast
            self.sector = sector
            self.snippet = snippet
            self.rank = rank
            self.relevance = relevance
            self.directions = directions
            self.participationForms = participationForms
            self.tags = tags
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(practiceId, forKey: .practiceId)
            try c.encode(title, forKey: .title)
            try c.encode(communityId, forKey: .communityId)
            try c.encode(oblast, forKey: .oblast)
            try c.encode(sector, forKey: .sector)
            try c.encode(snippet, forKey: .snippet)
            try c.encode(rank, forKey: .rank)
            try c.encode(relevance, forKey: .relevance)
            try c.encode(directions, forKey: .directions)
            try c.encode(participationForms, forKey: .participationForms)
            try c.encode(tags, forKey: .tags)
        }
    }

    /// For each filter, the number of matching practices per value (a practice counts once
    /// under each of its directions and forms).
    public struct Facets: Sendable, Hashable, Codable {
        public var sector: [String: Int] = [:]
        public var direction: [String: Int] = [:]
        public var form: [String: Int] = [:]
        public var oblast: [String: Int] = [:]
        public var community: [String: Int] = [:]

        public init() {}
    }

    public init(
        query: String?, asOf: AsOf, total: Int, rows: [Hit], filters: CatalogFilters, facets: Facets
    ) {
        self.query = query
        self.asOf = asOf
        self.total = total
        self.rows = rows
        self.filters = filters
        self.facets = facets
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(query, forKey: .query)
        try c.encode(asOf, forKey: .asOf)
        try c.encode(total, forKey: .total)
        try c.encode(rows, forKey: .rows)
        try c.encode(filters, forKey: .filters)
        try c.encode(facets, forKey: .facets)
    }
}
