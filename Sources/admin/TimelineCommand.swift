import Events
import Foundation

/// `admin replay --timeline`: the history as an auditor reads it, one line per event in log
/// order: when (recordedAt), who (`metadata.actor`, `-` when none), which stream, which type, and
/// what changed (each changed field's value before and after, as `admin history` gives them, or
/// the event's facts).
///
/// The before/after values need each stream's earlier events: the log is read from position 1
/// (up to `--to`) and every selected stream's events kept and folded with
/// ``StreamHistory/build(events:)``; `--from`, `--type` and `--actor` only cut what is shown.
struct Timeline {
    /// The first position shown (1 and up).
    var from: Int64 = 1
    /// The last position shown.
    var to: Int64 = .max
    /// Only these types (recorded type names); empty: all.
    var types: Set<String> = []
    /// Only these streams; empty: all.
    var streams: Set<String> = []
    /// Only this actor (`-`: events that name none).
    var actor: String?

    struct Line {
        var stream: String
        var entry: StreamHistory.Entry
    }

    /// The first position `--from TEXT` selects: position:N itself; a date-time: the first event
    /// recorded at or after it; a date: the first event recorded on or after that day (UTC).
    static func firstPosition(_ text: String, in reader: any LogReading) throws -> Int64 {
        guard let point = TimePoint(text) else { return 1 }
        switch point {
        case .position(let p): return max(p, 1)
        case .time(let t):
            let start = Timestamp(rfc3339: text) == nil ? (Timestamp(date: text) ?? t) : t
            return try reader.lastPosition(recordedAtOrBefore: Timestamp(milliseconds: start.milliseconds - 1)) + 1
        }
    }

    /// The selected events, in log order.
    func lines(reader: any LogReading) throws -> [Line] {
        guard from <= to else { return [] }
        var byStream: [String: [RecordedEvent]] = [:]
        var shown: Set<String> = []  // streams with at least one event in [from, to]
        try reader.forEach(from: 1, through: to) { event in
            if streams.isEmpty || streams.contains(event.stream) {
                byStream[event.stream, default: []].append(event)
                if event.position >= from { shown.insert(event.stream) }
            }
            return true
        }
        var out: [Line] = []
        for stream in shown {
            for entry in StreamHistory.build(events: byStream[stream] ?? []) where entry.position >= from && entry.position <= to {
                if !types.isEmpty && !types.contains(entry.type) { continue }
                if let actor, (entry.actor ?? "-") != actor { continue }
                out.append(Line(stream: stream, entry: entry))
            }
        }
        out.sort { $0.entry.position < $1.entry.position }
        return out
    }

    /// A value as one short piece of text: its canonical JSON, cut to `limit` characters.
    static func show(_ value: JSONValue?, limit: Int = 60) -> String {
        guard let value else { return "(none)" }
        let text = value.canonicalString
        return text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
    }

    /// One line of the human timeline.
    static func render(_ line: Line) -> String {
        let e = line.entry
        var text = "#\(e.position)  \(e.recordedAt.rfc3339)  \(e.actor ?? "-")  \(line.stream)  \(e.type)"
        var what: [String] = []
        for change in e.changes {
            what.append(
                change.before == change.after
                    ? "\(change.field): unchanged \(show(change.after))"
                    : "\(change.field): \(show(change.before)) → \(show(change.after))")
        }
        if what.isEmpty {
            for key in e.details.keys.sorted() { what.append("\(key)=\(show(e.details[key]))") }
        }
        if !what.isEmpty { text += "  " + what.joined(separator: "; ") }
        return text
    }

    /// One JSON line: {"position","recordedAt","occurredAt","actor","stream","type","version",
    /// "id","hash","changes":[{"field","before","after"}],"details"}.
    static func json(_ line: Line) -> JSONValue {
        let e = line.entry
        return [
            "position": .int(e.position), "recordedAt": .string(e.recordedAt.rfc3339),
            "occurredAt": .string(e.occurredAt.rfc3339), "actor": e.actor.map(JSONValue.string) ?? .null,
            "stream": .string(line.stream), "type": .string(e.type), "version": .int(e.version),
            "id": .string(e.id.uuidString.lowercased()), "hash": .string(e.hash),
            "changes": .array(
                e.changes.map { ["field": .string($0.field), "before": $0.before ?? .null, "after": $0.after ?? .null] }),
            "details": .object(e.details),
        ]
    }
}
