import Dispatch
import Synchronization
import Events
import GRDB

/// How ``ProjectionStore/catalog(query:filters:limit:strategy:)`` answers.
public enum CatalogSearchStrategy: Sendable, Hashable {
    /// The in-memory index when one is built for the current catalog content, else FTS5 (and an
    /// in-memory index is then built in the background for the next searches).
    case automatic
    /// Always the FTS5 query.
    case sqlite
    /// Always the in-memory index, built first if needed.
    case memory
}

/// The in-memory search index of a store, and the one being built.
struct CatalogIndexCache: Sendable {
    var index: CatalogSearchIndex?
    var building: CatalogSearchIndex.Key?
}

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
    ///   - strategy: FTS5, the in-memory index, or whichever is ready (the answers are the same).
    public func catalog(
        query: String?, filters: CatalogFilters = CatalogFilters(), limit: Int = 20,
        strategy: CatalogSearchStrategy = .automatic
    ) throws -> CatalogPage {
        guard limit >= 0 else {
            throw ProjectionError(.invalidArgument, "the limit must be 0 or more, got \(limit)")
        }
        let stems = query.map(UkrainianText.queryStems) ?? []
        let match = UkrainianText.matchExpression(stems: stems)
        return try storage("cannot search the catalog", projection: "catalog") {
            try pool.read { db in
                let asOf = try Self.asOf(db, "catalog")
                let key = try Self.catalogKey(db)
                var index: CatalogSearchIndex?
                switch strategy {
                case .sqlite:
                    break
                case .automatic:
                    index = catalogIndex.withLock { $0.index?.key == key ? $0.index : nil }
                    if index == nil { scheduleCatalogIndex(key) }
                case .memory:
                    index = catalogIndex.withLock { $0.index?.key == key ? $0.index : nil }
                    if index == nil {
                        let built = try CatalogSearchIndex(db, key: key)
                        catalogIndex.withLock { $0.index = built }
                        index = built
                    }
                }
                let found: CatalogSearchIndex.Result
                if let index {
                    found = index.search(stems: match == nil ? [] : stems, filters: filters, limit: limit)
                } else {
                    found = try Self.searchSQL(db, match: match, filters: filters, limit: limit)
                }
                return try Self.page(db, query: query, asOf: asOf, found: found, filters: filters, stems: stems)
            }
        }
    }

    /// The total, the facets and the first `limit` documents, by FTS5.
    static func searchSQL(_ db: Database, match: String?, filters: CatalogFilters, limit: Int) throws
        -> CatalogSearchIndex.Result
    {
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
        let facetRows = try Row.fetchCursor(db.cachedStatement(sql: facetSQL), arguments: StatementArguments(arguments))
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

        // The first `limit` documents in order.
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
        return CatalogSearchIndex.Result(total: total, facets: facets, top: ranked)
    }

    /// The page: the ranked documents' fields, with snippets cut from their original text.
    static func page(
        _ db: Database, query: String?, asOf: AsOf, found: CatalogSearchIndex.Result, filters: CatalogFilters,
        stems: [String]
    ) throws -> CatalogPage {
        var hits: [CatalogPage.Hit] = []
        if !found.top.isEmpty {
            let details = try PracticeRow.fetchAll(
                db,
                sql: """
                    SELECT docid, practiceId, title, communityId, oblast, sector, summary, body, tags,
                        directions, participationForms
                    FROM catalog_practice WHERE docid IN (SELECT value FROM json_each(?))
                    """,
                arguments: [JSONValue.array(found.top.map { .int($0.docid) }).canonicalString])
            let byDocid = Dictionary(details.map { ($0.docid, $0) }, uniquingKeysWith: { a, _ in a })
            for (i, r) in found.top.enumerated() {
                guard let row = byDocid[r.docid] else { continue }
                let tags = row.tags.values
                hits.append(
                    CatalogPage.Hit(
                        practiceId: row.practiceId, title: row.title, communityId: row.communityId, oblast: row.oblast,
                        sector: row.sector,
                        snippet: Snippet.make(fields: [row.summary, row.body, tags.joined(separator: "; ")], stems: stems),
                        rank: i + 1, relevance: r.relevance, directions: row.directions.values,
                        participationForms: row.participationForms.values, tags: tags))
            }
        }
        return CatalogPage(
            query: query, asOf: asOf, total: found.total, rows: hits, filters: filters, facets: found.facets)
    }

    /// The key of the catalog's current content: the rebuild generation and the content version.
    static func catalogKey(_ db: Database) throws -> CatalogSearchIndex.Key {
        let generation = try ProjectionRecord.fetch(db, name: "catalog")?.generation ?? 0
        let version = try Int64.fetchOne(db, sql: "SELECT contentVersion FROM catalog_state WHERE id = 1") ?? 0
        return CatalogSearchIndex.Key(generation: generation, contentVersion: version)
    }

    /// Builds the in-memory search index now, for the catalog's current content, so that the
    /// next searches use it. Long-running processes may call it once at start; searches keep it
    /// up to date by themselves (rebuilding it in the background after the catalog changes).
    public func warmUpCatalogSearch() throws {
        try storage("cannot build the catalog search index", projection: "catalog") {
            try pool.read { db in
                let key = try Self.catalogKey(db)
                if catalogIndex.withLock({ $0.index?.key == key }) { return }
                let built = try CatalogSearchIndex(db, key: key)
                catalogIndex.withLock { $0.index = built }
            }
        }
    }

    /// Starts building an index for `key` in the background, unless one is built or building,
    /// background indexing is off, or the store is closing.
    func scheduleCatalogIndex(_ key: CatalogSearchIndex.Key) {
        guard backgroundIndexing else { return }
        let start = catalogIndex.withLock { state -> Bool in
            guard state.index?.key != key, state.building != key else { return false }
            state.building = key
            return true
        }
        guard start else { return }
        let started = background.run { [self] in
            defer { catalogIndex.withLock { if $0.building == key { $0.building = nil } } }
            do {
                try warmUpCatalogSearch()
            } catch {
                logger.warning("cannot build the catalog search index", metadata: ["error": "\(error)"])
            }
        }
        if !started { catalogIndex.withLock { if $0.building == key { $0.building = nil } } }
    }
}

/// One practice of the catalog, as a page shows it, by column name.
private struct PracticeRow: Decodable, FetchableRecord {
    var docid: Int64
    var practiceId: String
    var title: String
    var communityId: String
    var oblast: String?
    var sector: String?
    var summary: String
    var body: String
    var tags: JSONList
    var directions: JSONList
    var participationForms: JSONList
}

/// Work a store runs on background threads, and the gate that `close()` shuts.
///
/// `run` and `close` take the same lock: after `close` returns, nothing started by `run` is
/// still running and nothing new starts.
final class BackgroundWork: Sendable {
    /// Whether closing began; the group counts what runs.
    private let closed = Mutex(false)
    private let group = DispatchGroup()

    /// Starts `work` on a global queue; `false` (and nothing run) once closing began.
    @discardableResult
    func run(_ work: @escaping @Sendable () -> Void) -> Bool {
        let admitted = closed.withLock { closed -> Bool in
            guard !closed else { return false }
            group.enter()
            return true
        }
        guard admitted else { return false }
        DispatchQueue.global(qos: .utility).async { [self] in
            work()
            group.leave()
        }
        return true
    }

    /// Refuses new work and waits for what runs.
    func close() {
        closed.withLock { $0 = true }
        group.wait()
    }
}
