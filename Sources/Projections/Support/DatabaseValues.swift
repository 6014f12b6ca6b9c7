import Events
import GRDB

/// A timestamp in a read-model table: its canonical RFC 3339 text, so that the column sorts in
/// time order and reads plainly in the `sqlite3` shell.
extension Timestamp: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { rfc3339.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Timestamp? {
        String.fromDatabaseValue(dbValue).flatMap(Timestamp.init(rfc3339:))
    }
}

/// A projection's state in the bookkeeping table: its raw value (`running`, `failed`, ...).
extension ProjectionState: DatabaseValueConvertible {}

/// A JSON list of strings in a column (`["a","b"]`), as the read models store tags, sectors
/// and directions; an absent or unreadable value reads as the empty list.
struct JSONList: Sendable, Hashable, DatabaseValueConvertible, Decodable {
    var values: [String]

    init(values: [String]) { self.values = values }

    /// From the JSON text of the list (what the column holds).
    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String?.self)
        values = JSONText.decode(text)
    }

    var databaseValue: DatabaseValue { JSONText.encode(values).databaseValue }

    static func fromDatabaseValue(_ dbValue: DatabaseValue) -> JSONList? {
        JSONList(values: JSONText.decode(String.fromDatabaseValue(dbValue)))
    }
}
