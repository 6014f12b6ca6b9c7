import Events
import GRDB

/// The practices catalog (spec section 5): every published practice with its current fields,
/// and an FTS5 index over their normalized text.
///
/// Tables (live names):
/// - `catalog_community`: names and oblasts from registrations (a practice's oblast comes from
///   its community).
/// - `catalog_practice`: one row per published practice, original text for display; `docid` is
///   the row id the index uses. Unpublishing deletes the row.
/// - `catalog_search`: FTS5 table (`title`, `summary`, `body`, `tags`) holding the text as
///   ``UkrainianText/indexText(_:)`` normalizes it, `rowid` = `catalog_practice.docid`.
/// - `catalog_state`: one row, `contentVersion` = the position of the last event that changed
///   what a search can find (in-memory search indexes are keyed by it).
public struct CatalogProjection: Projection {
    public let name = "catalog"
    public let schemaVersion = 1
    public let tableNames = ["catalog_community", "catalog_practice", "catalog_search", "catalog_state"]

    public init() {}

    /// The fields a `PracticeRevised` may change, as `catalog_practice` columns.
    static let revisable: [(key: String, column: String, list: Bool, indexed: Bool)] = [
        ("title", "title", false, true), ("sector", "sector", false, false),
        ("directions", "directions", true, false), ("participationForms", "participationForms", true, false),
        ("summary", "summary", false, true), ("body", "body", false, true), ("tags", "tags", true, true),
        ("sourceSubmissionId", "sourceSubmissionId", false, false),
    ]

    public func createTables(in db: Database, tables t: ProjectionTables) throws {
        try db.execute(
            sql: """
                CREATE TABLE \(t.quoted("catalog_community")) (
                    communityId TEXT PRIMARY KEY NOT NULL,
                    name TEXT,
                    oblast TEXT
                ) WITHOUT ROWID;
                CREATE TABLE \(t.quoted("catalog_practice")) (
                    docid INTEGER PRIMARY KEY,
                    practiceId TEXT NOT NULL UNIQUE,
                    communityId TEXT NOT NULL,
                    oblast TEXT,
                    title TEXT NOT NULL,
                    sector TEXT,
                    directions TEXT NOT NULL,
                    participationForms TEXT NOT NULL,
                    summary TEXT NOT NULL,
                    body TEXT NOT NULL,
                    tags TEXT NOT NULL,
                    sourceSubmissionId TEXT,
                    publishedAt TEXT NOT NULL,
                    revisedAt TEXT,
                    publishedPosition INTEGER NOT NULL
                );
                CREATE INDEX \(t.indexName("catalog_practice", "by_community"))
                    ON \(t.quoted("catalog_practice")) (communityId);
                CREATE VIRTUAL TABLE \(t.quoted("catalog_search")) USING fts5(
                    title, summary, body, tags, tokenize = 'unicode61 remove_diacritics 0'
                );
                CREATE TABLE \(t.quoted("catalog_state")) (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    contentVersion INTEGER NOT NULL
                );
                INSERT INTO \(t.quoted("catalog_state")) (id, contentVersion) VALUES (1, 0);
                """)
    }

    struct SQL: Sendable {
        let register, relocate, findDocid, communityOblast: String
        let insertPractice, replacePractice, insertSearch, replaceSearch: String
        let deletePractice, deleteSearch, changed: String
        let practiceTable, searchTable: String

        init(_ t: ProjectionTables) {
            let community = t.quoted("catalog_community")
            let practice = t.quoted("catalog_practice")
            let search = t.quoted("catalog_search")
            practiceTable = practice
            searchTable = search
            register = """
                INSERT INTO \(community) (communityId, name, oblast) VALUES (?, ?, ?)
                ON CONFLICT (communityId) DO UPDATE SET name = excluded.name, oblast = excluded.oblast
                """
            relocate = "UPDATE \(practice) SET oblast = ? WHERE communityId = ? AND oblast IS NOT ?"
            findDocid = "SELECT docid FROM \(practice) WHERE practiceId = ?"
            communityOblast = "SELECT oblast FROM \(community) WHERE communityId = ?"
            insertPractice = """
                INSERT INTO \(practice) (practiceId, communityId, oblast, title, sector, directions, participationForms,
                    summary, body, tags, sourceSubmissionId, publishedAt, publishedPosition)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            replacePractice = """
                UPDATE \(practice) SET communityId = ?, oblast = ?, title = ?, sector = ?, directions = ?,
                    participationForms = ?, summary = ?, body = ?, tags = ?, sourceSubmissionId = ?, publishedAt = ?,
                    revisedAt = NULL, publishedPosition = ?
                WHERE docid = ?
                """
            insertSearch = "INSERT INTO \(search) (rowid, title, summary, body, tags) VALUES (?, ?, ?, ?, ?)"
            replaceSearch = "UPDATE \(search) SET title = ?, summary = ?, body = ?, tags = ? WHERE rowid = ?"
            deletePractice = "DELETE FROM \(practice) WHERE docid = ?"
            deleteSearch = "DELETE FROM \(search) WHERE rowid = ?"
            changed = "UPDATE \(t.quoted("catalog_state")) SET contentVersion = ? WHERE id = 1"
        }
    }

    static let sql = SQLTexts(SQL.init)

    /// The text the index holds for a list of tags.
    static func tagsText(_ tags: [String]) -> String {
        UkrainianText.indexText(tags.joined(separator: " ; "))
    }

    public func apply(_ event: RecordedEvent, in db: Database, tables: ProjectionTables) throws {
        let p = Payload(event)
        switch event.kind {
        case .practicePublished:
            let sql = Self.sql(tables)
            let id = try p.id("practiceId")
            let community = try p.id("communityId")
            let oblast = try String.fetchOne(db.cachedStatement(sql: sql.communityOblast), arguments: [community])
            let title = p.string("title") ?? ""
            let summary = p.string("summary") ?? ""
            let body = p.string("body") ?? ""
            let tags = p.strings("tags")
            let fields: [(any DatabaseValueConvertible)?] = [
                community, oblast, title, p.string("sector"), JSONText.encode(p.strings("directions")),
                JSONText.encode(p.strings("participationForms")), summary, body, JSONText.encode(tags),
                p.string("sourceSubmissionId"), event.occurredAt.rfc3339, event.position,
            ]
            let search: [(any DatabaseValueConvertible)?] = [
                UkrainianText.indexText(title), UkrainianText.indexText(summary), UkrainianText.indexText(body),
                Self.tagsText(tags),
            ]
            if let docid = try Int64.fetchOne(db.cachedStatement(sql: sql.findDocid), arguments: [id]) {
                try db.run(sql.replacePractice, StatementArguments(fields + [docid]))
                try db.run(sql.replaceSearch, StatementArguments(search + [docid]))
            } else {
                try db.run(sql.insertPractice, StatementArguments([id] + fields))
                try db.run(sql.insertSearch, StatementArguments([db.lastInsertedRowID] + search))
            }
            try db.run(sql.changed, [event.position])
        case .practiceRevised:
            let sql = Self.sql(tables)
            let id = try p.id("practiceId")
            guard let docid = try Int64.fetchOne(db.cachedStatement(sql: sql.findDocid), arguments: [id]) else {
                return  // not published (or unpublished): nothing to revise
            }
            let changes = p.object("changes") ?? [:]
            var practiceSets: [String] = []
            var practiceArgs: [(any DatabaseValueConvertible)?] = []
            var searchSets: [String] = []
            var searchArgs: [(any DatabaseValueConvertible)?] = []
            for field in Self.revisable {
                guard let value = changes[field.key] else { continue }
                if field.list {
                    let list = Payload.strings(value)
                    practiceSets.append("\(field.column) = ?")
                    practiceArgs.append(JSONText.encode(list))
                    if field.indexed {
                        searchSets.append("\(field.column) = ?")
                        searchArgs.append(Self.tagsText(list))
                    }
                } else {
                    guard let text = value.stringValue else { continue }
                    practiceSets.append("\(field.column) = ?")
                    practiceArgs.append(text)
                    if field.indexed {
                        searchSets.append("\(field.column) = ?")
                        searchArgs.append(UkrainianText.indexText(text))
                    }
                }
            }
            if let community = changes["communityId"]?.stringValue, !community.isEmpty {
                let oblast = try String.fetchOne(db.cachedStatement(sql: sql.communityOblast), arguments: [community])
                practiceSets.append("communityId = ?")
                practiceArgs.append(community)
                practiceSets.append("oblast = ?")
                practiceArgs.append(oblast)
            }
            practiceSets.append("revisedAt = ?")
            practiceArgs.append(event.occurredAt.rfc3339)
            try db.run(
                "UPDATE \(sql.practiceTable) SET \(practiceSets.joined(separator: ", ")) WHERE docid = ?",
                StatementArguments(practiceArgs + [docid]))
            if !searchSets.isEmpty {
                try db.run(
                    "UPDATE \(sql.searchTable) SET \(searchSets.joined(separator: ", ")) WHERE rowid = ?",
                    StatementArguments(searchArgs + [docid]))
            }
            try db.run(sql.changed, [event.position])
        case .practiceUnpublished:
            let sql = Self.sql(tables)
            guard let docid = try Int64.fetchOne(db.cachedStatement(sql: sql.findDocid), arguments: [try p.id("practiceId")])
            else { return }
            try db.run(sql.deleteSearch, [docid])
            try db.run(sql.deletePractice, [docid])
            try db.run(sql.changed, [event.position])
        case .communityRegistered:
            let sql = Self.sql(tables)
            let id = try p.id("communityId")
            let oblast = p.string("oblast")
            try db.run(sql.register, [id, p.string("name"), oblast])
            try db.run(sql.relocate, [oblast, id, oblast])
            if db.changesCount > 0 { try db.run(sql.changed, [event.position]) }
        case .competitionAnnounced, .submissionDeadlineExtended, .winnersAnnounced, .submissionFiled,
            .submissionAmended, .submissionWithdrawn, .juryScoreAdded, .juryScoreRetracted, .communityJoinedNetwork,
            .communityLeftNetwork, .seminarHeld, nil:
            break
        }
    }
}
