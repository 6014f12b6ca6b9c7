import Events
import GRDB

/// One difference between two copies of a read model's table.
public struct TableDifference: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// The row is in both, one column differs.
        case changed
        /// The row is in this copy only (the log does not give it).
        case extra
        /// The row is in the other copy only (this copy lost it).
        case missing
    }

    public var projection: String
    public var table: String
    public var kind: Kind
    /// The row's key: its primary-key columns (or rowid) and their values, as text.
    public var key: [String: String]
    /// The column that differs (`changed` only).
    public var column: String?
    /// The value in this copy (`null` when absent), as SQLite shows it.
    public var value: String?
    /// The value in the other copy.
    public var expected: String?
}

/// What comparing one projection's tables found.
public struct TableComparison: Sendable, Hashable, Codable {
    public var projection: String
    public var tables: Int
    public var rows: Int
    /// Every difference found, up to the limit asked for.
    public var differences: [TableDifference]
    /// How many differences there were in all (more than `differences.count` when cut).
    public var differenceCount: Int
}

extension ProjectionStore {
    /// Compares one projection's live tables in this store with the same tables in `other`,
    /// row by row and column by column, rows matched by their primary key (an FTS table's by its
    /// rowid). Neither store is changed.
    /// - Parameters:
    ///   - limit: how many differences to list (all are counted).
    public func compareTables(
        of name: String, with other: ProjectionStore, limit: Int = 100
    ) throws -> TableComparison {
        let projection = try projection(named: name)
        var result = TableComparison(projection: name, tables: 0, rows: 0, differences: [], differenceCount: 0)
        try storage("cannot compare the tables", projection: name) {
            try pool.read { mine in
                try other.pool.read { theirs in
                    for table in projection.tableNames {
                        let a = try Self.keyedRows(mine, table)
                        let b = try Self.keyedRows(theirs, table)
                        result.tables += 1
                        result.rows += a.rows.count
                        func note(_ d: TableDifference) {
                            result.differenceCount += 1
                            if result.differences.count < limit { result.differences.append(d) }
                        }
                        for key in a.order {
                            let row = a.rows[key]!
                            guard let expected = b.rows[key] else {
                                note(.init(projection: name, table: table, kind: .extra, key: row.key, column: nil, value: nil, expected: nil))
                                continue
                            }
                            for (i, column) in a.columns.enumerated() where row.values[i] != expected.values[safe: i] {
                                note(
                                    .init(
                                        projection: name, table: table, kind: .changed, key: row.key, column: column,
                                        value: row.values[i].text, expected: expected.values[safe: i]?.text))
                            }
                        }
                        for key in b.order where a.rows[key] == nil {
                            note(
                                .init(projection: name, table: table, kind: .missing, key: b.rows[key]!.key, column: nil, value: nil, expected: nil))
                        }
                    }
                }
            }
        }
        return result
    }

    struct KeyedRow {
        var key: [String: String]
        var values: [DatabaseValue]
    }

    /// Every row of `table`, by the text of its key, in key order.
    static func keyedRows(_ db: Database, _ table: String) throws
        -> (columns: [String], order: [String], rows: [String: KeyedRow])
    {
        let quoted = table.quotedDatabaseIdentifier
        let isVirtual = try isVirtualTable(db, table)
        var keyColumns: [String]
        if isVirtual {
            keyColumns = ["rowid"]
        } else {
            keyColumns = try Row.fetchAll(db, sql: "PRAGMA table_info(\(quoted))")
                .filter { ($0["pk"] as Int? ?? 0) > 0 }
                .sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }
                .map { $0["name"] as String }
        }
        let select = "SELECT \(isVirtual ? "rowid, " : "")* FROM \(quoted)"
        let columns = try db.makeStatement(sql: select).columnNames
        // Without a declared key, the whole row is the key (a changed row shows as missing + extra).
        if keyColumns.isEmpty { keyColumns = columns }
        let keyIndexes = keyColumns.compactMap { columns.firstIndex(of: $0) }
        var order: [String] = []
        var rows: [String: KeyedRow] = [:]
        let cursor = try Row.fetchCursor(
            db, sql: select + " ORDER BY " + keyIndexes.map { String($0 + 1) }.joined(separator: ", "))
        while let row = try cursor.next() {
            let values = Array(row.databaseValues)
            var key: [String: String] = [:]
            for i in keyIndexes { key[columns[i]] = values[i].text ?? "null" }
            let text = keyIndexes.map { values[$0].description }.joined(separator: "\u{1F}")
            if rows[text] == nil { order.append(text) }
            rows[text] = KeyedRow(key: key, values: values)
        }
        return (columns, order, rows)
    }
}

extension ProjectionStore {
    /// Whether `table` is a virtual table (FTS5): its rows are read with their rowid.
    static func isVirtualTable(_ db: Database, _ table: String) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT sql LIKE 'CREATE VIRTUAL TABLE%' FROM sqlite_master WHERE name = ?", arguments: [table])
            ?? false
    }
}

extension DatabaseValue {
    /// The value as text (`nil` for NULL); blobs in hex.
    fileprivate var text: String? {
        switch storage {
        case .null: return nil
        case .int64(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .blob(let b): return b.map { String(format: "%02x", $0) }.joined()
        }
    }
}

extension Array {
    fileprivate subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
