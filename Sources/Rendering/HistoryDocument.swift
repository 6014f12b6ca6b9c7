import Events

/// The JSON document of a stream's audit trail (`admin history --json`, and the web service's
/// answer): `{"stream": S, "events": [...]}`, each event its facts (``StreamHistory/Entry/json``)
/// with the sentence people read (`summary`, ``HistoryText/summary(of:)``). Printed through the
/// canonical `JSONValue` encoding, so that the same trail always gives the same bytes.
public enum HistoryDocument {
    /// `{"stream": S, "events": [...]}`.
    public static func json(stream: String, entries: [StreamHistory.Entry]) -> JSONValue {
        ["stream": .string(stream), "events": .array(entries.map(event))]
    }

    /// One event: `{"id", "hash", "position", "version", "type", "recordedAt", "occurredAt",
    /// "actor", "changes", "summary", "details"}`.
    public static func event(_ entry: StreamHistory.Entry) -> JSONValue {
        guard case .object(var members) = entry.json else { return entry.json }
        members["summary"] = .string(HistoryText.summary(of: entry))
        return .object(members)
    }
}
