import GRDB

extension ProjectionStore {
    /// A canonical text of a projection's live tables: its checkpoint, then every table's rows
    /// sorted by all columns, one per line. Equal read models give equal dumps, whatever order
    /// the rows were written in; for comparing and digesting state (`admin state`).
    public func dump(projection name: String) throws -> String {
        let projection = try projection(named: name)
        return try storage("cannot dump the tables", projection: name) {
            try pool.read { db in
                let asOf = try Self.asOf(db, name)
                var out = "# \(name) schemaVersion=\(projection.schemaVersion) checkpoint=\(asOf.position) recordedAt=\(asOf.recordedAt?.rfc3339 ?? "null")\n"
                for table in projection.tableNames {
                    let quoted = table.quotedDatabaseIdentifier
                    let isVirtual = try Self.isVirtualTable(db, table)
                    let statement = try db.makeStatement(sql: "SELECT \(isVirtual ? "rowid, " : "")* FROM \(quoted)")
                    let columns = statement.columnNames
                    let order = (1...max(1, columns.count)).map(String.init).joined(separator: ", ")
                    out += "## \(table) (\(columns.joined(separator: ", ")))\n"
                    let rows = try Row.fetchCursor(
                        db, sql: "SELECT \(isVirtual ? "rowid, " : "")* FROM \(quoted) ORDER BY \(order)")
                    while let row = try rows.next() {
                        out += row.databaseValues.map { $0.description }.joined(separator: "\t") + "\n"
                    }
                }
                return out
            }
        }
    }
}
