import Events
import GRDB

extension ProjectionStore {
    /// Searches the practices catalog.
    ///
    /// The text is normalized like the index (case, apostrophes, Latin look-alikes) and each of
    /// its words stemmed and searched as a prefix, all words required; hits are ranked by BM25
    /// (title weighted highest, then tags, summary, body). Without text (or with no word in it)
    /// every practice matching the filters is listed by `practiceId`.
    /// - Parameters:
    ///   - query: the search text, or `nil`.
    ///   - filters: sector, direction, form, oblast, community.
    ///   - limit: how many rows to return (>= 0); `total` and `facets` count all matches.
    public func catalog(query: String?, filters: CatalogFilters = CatalogFilters(), limit: Int = 20) throws
        -> CatalogPage
    {
        guard limit >= 0 else {
            throw ProjectionError(code: .invalidArgument, message: "the limit must be 0 or more, got \(limit)")
        }
        let stems = query.map(UkrainianText.queryStems) ?? []
        let match = UkrainianText.matchExpression(stems: stems)
        return try storage("cannot search the catalog", projection: "catalog") {
            try pool.read { db in
                let asOf = try Self.asOf(db, "catalog")
                var conditions: [String] = []
                var arguments: [(any DatabaseValueConvertible)?] = []
                if let match {
                    conditions.append("catalog_search MATCH ?")
                    arguments.append(match)
                }
                if let v = filters.sector {
                    conditions.append("p.sector = ?")
                    arguments.append(v)
                }
                if let v = filters.direction {
                    conditions.append("EXISTS (SELECT 1 FROM json_each(p.directions) WHERE value = ?)")
                    arguments.append(v)
                }
                if let v = filters.form {
                    conditions.append("EXISTS (SELECT 1 FROM json_each(p.participationForms) WHERE value = ?)")
                    arguments.append(v)
                }
                if let v = filters.oblast {
                    conditions.append("p.oblast = ?")
                    arguments.append(v)
                }
                if let v = filters.community {
                    conditions.append("p.communityId = ?")
                    arguments.append(v)
                }
                let from =
                    match == nil
                    ? "catalog_practice p"
                    : "catalog_search JOIN catalog_practice p ON p.docid = catalog_search.rowid"
                let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")

                // Facets and the total: the match runs once, into a materialized set.
                var facets = CatalogPage.Facets()
                var total = 0
                let facetSQL = """
                    WITH f AS MATERIALIZED (
                        SELECT p.sector, p.oblast, p.communityId, p.directions, p.participationForms
                        FROM \(from) \(whereClause))
                    SELECT 0, NULL, COUNT(*) FROM f
                    UNION ALL SELECT 1, sector, COUNT(*) FROM f WHERE sector IS NOT NULL GROUP BY sector
                    UNION ALL SELECT 2, j.value, COUNT(*) FROM f, json_each(f.directions) j GROUP BY j.value
                    UNION ALL SELECT 3, j.value, COUNT(*) FROM f, json_each(f.participationForms) j GROUP BY j.value
                    UNION ALL SELECT 4, oblast, COUNT(*) FROM f WHERE oblast IS NOT NULL GROUP BY oblast
                    UNION ALL SELECT 5, communityId, COUNT(*) FROM f GROUP BY communityId
                    """
                let facetRows = try Row.fetchCursor(
                    db.cachedStatement(sql: facetSQL), arguments: StatementArguments(arguments))
                while let row = try facetRows.next() {
                    let kind: Int = row[0]
                    let count: Int = row[2]
                    if kind == 0 {
                        total = count
                        continue
                    }
                    guard let value: String = row[1] else { continue }
                    switch kind {
                    case 1: facets.sector[value] = count
                    case 2: facets.direction[value] = count
                    case 3: facets.form[value] = count
                    case 4: facets.oblast[value] = count
                    default: facets.community[value] = count
                    }
                }

                // The page: ids in order first, then their fields.
                var ranked: [(docid: Int64, relevance: Double?)] = []
                if limit > 0, total > 0 {
                    let orderSQL: String
                    if match != nil {
                        orderSQL = """
                            SELECT p.docid, bm25(catalog_search, 10.0, 3.0, 1.0, 5.0) AS score
                            FROM \(from) \(whereClause) ORDER BY score, p.practiceId LIMIT ?
                            """
                    } else {
                        orderSQL = "SELECT p.docid, NULL FROM \(from) \(whereClause) ORDER BY p.practiceId LIMIT ?"
                    }
                    let rows = try Row.fetchCursor(
                        db.cachedStatement(sql: orderSQL), arguments: StatementArguments(arguments + [limit]))
                    while let row = try rows.next() {
                        let score: Double? = row[1]
                        ranked.append((row[0], score.map { -$0 }))
                    }
                }
                var hits: [CatalogPage.Hit] = []
                if !ranked.isEmpty {
                    let details = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT docid, practiceId, title, communityId, oblast, sector, summary, body, tags,
                                directions, participationForms
                            FROM catalog_practice WHERE docid IN (SELECT value FROM json_each(?))
                            """,
                        arguments: [JSONValue.array(ranked.map { .int($0.docid) }).canonicalString])
                    var byDocid: [Int64: Row] = [:]
                    for row in details { byDocid[row[0]] = row }
                    for (i, r) in ranked.enumerated() {
                        guard let row = byDocid[r.docid] else { continue }
                        let tags = JSONText.decode(row[8])
                        hits.append(
                            CatalogPage.Hit(
                                practiceId: row[1], title: row[2], communityId: row[3], oblast: row[4], sector: row[5],
                                snippet: Snippet.make(fields: [row[6], row[7], tags.joined(separator: "; ")], stems: stems),
                                rank: i + 1, relevance: r.relevance, directions: JSONText.decode(row[9]),
                                participationForms: JSONText.decode(row[10]), tags: tags))
                    }
                }
                return CatalogPage(query: query, asOf: asOf, total: total, rows: hits, filters: filters, facets: facets)
            }
        }
    }
}
