import Events

/// Typed reads of an event's `data`, throwing a ``ProjectionError`` that names the field.
///
/// Projections are strict about the ids they key rows by and lenient about the rest: a text
/// field of the wrong type reads as `nil`, a list of the wrong type as empty.
struct Payload {
    /// The event's data, and what an error names (the type, the position): not the whole event,
    /// which every projection would copy for every event it is offered.
    let data: [String: JSONValue]
    let type: String
    let position: Int64

    init(_ event: borrowing RecordedEvent) {
        data = event.data
        type = event.type
        position = event.position
    }

    func malformed(field: String, _ reason: String) -> ProjectionError {
        .malformed(type: type, position: position, field: field, reason)
    }

    /// A required string (an id): present, a string, not empty.
    func id(_ key: String) throws(ProjectionError) -> String {
        guard let value = data[key] else { throw malformed(field: key, "is required") }
        guard let s = value.stringValue, !s.isEmpty else {
            throw malformed(field: key, "must be a non-empty string, found \(value.typeName)")
        }
        return s
    }

    /// A required integer.
    func int(_ key: String) throws(ProjectionError) -> Int64 {
        guard let value = data[key] else { throw malformed(field: key, "is required") }
        guard let n = value.intValue else {
            throw malformed(field: key, "must be an integer, found \(value.typeName)")
        }
        return n
    }

    func string(_ key: String) -> String? { data[key]?.stringValue }

    func integer(_ key: String) -> Int64? { data[key]?.intValue }

    func strings(_ key: String) -> [String] { Payload.strings(data[key]) }

    func object(_ key: String) -> [String: JSONValue]? { data[key]?.objectValue }

    /// The strings of a JSON array (other members skipped).
    static func strings(_ value: JSONValue?) -> [String] {
        guard let array = value?.arrayValue else { return [] }
        return array.compactMap(\.stringValue)
    }
}

/// Lists of strings as the JSON text columns hold them (`["a","b"]`), readable by any SQLite
/// client with `json_each`.
enum JSONText {
    static func encode(_ values: [String]) -> String {
        JSONValue.array(values.map(JSONValue.string)).canonicalString
    }

    static func decode(_ text: String?) -> [String] {
        guard let text, !text.isEmpty, let value = try? JSONParser.parse(text) else { return [] }
        return Payload.strings(value)
    }
}
