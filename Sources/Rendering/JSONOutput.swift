import Foundation

import Events

/// The one encoder of every `--json` answer: keys sorted, slashes not escaped, so that the same
/// value always prints the same bytes (the web service will answer with the same encoder).
/// Documents built as a ``JSONValue`` print in their canonical form (FORMAT.md's number and
/// string rules, keys in UTF-8 order).
public enum JSONOutput {
    public static func encode(_ value: JSONValue) -> String { value.canonicalString }

    public static func encode(_ value: some Encodable) throws -> String {
        try SortedJSONEncoder().encodeToString(value)
    }

    /// The same JSON as ``encode(_:)-(Encodable)``, as UTF-8 bytes (what the web service sends).
    public static func bytes(_ value: some Encodable) throws -> [UInt8] {
        try SortedJSONEncoder().encode(value)
    }
}

/// Prints `value` as one line of JSON (see ``JSONOutput``).
public func printJSON(_ value: some Encodable) throws {
    print(try JSONOutput.encode(value))
}

/// Prints a JSON document (see ``JSONOutput``).
public func printJSON(_ value: JSONValue) {
    print(JSONOutput.encode(value))
}
