import Events
import Foundation

/// The audit trail of a stream as people read it: one English sentence per event (the payload's
/// own texts quoted as they are), made from the facts ``StreamHistory`` returns, and the text the
/// `history` command prints. The command line and the web service say the same thing because
/// both ask here.
public enum HistoryText {
    /// The text of `admin history`: a heading (how many events, and the `--until` the user gave),
    /// then each event with who and when, its summary and its changed fields, values cut to
    /// `width` characters (0: never cut).
    public static func render(stream: String, entries: [StreamHistory.Entry], until: String? = nil, width: Int = 80) -> String {
        let limit = width == 0 ? Int.max : width
        var text = "History of stream \(stream): \(count(Int64(entries.count), "event"))"
        if let until { text += " (recorded until \(until))" }
        text += "\n"
        for entry in entries { text += block(entry, limit: limit) }
        return text
    }

    /// One event of ``render(stream:entries:until:width:)``: a blank line, its header, the line
    /// of who and when, its summary, and its changes.
    static func block(_ e: StreamHistory.Entry, limit: Int) -> String {
        var text = "\n#\(e.position) v\(e.version) \(e.type)  id \(e.id.uuidString.lowercased())\n"
        text += "  by \(actor(e)); recorded \(e.recordedAt.rfc3339); occurred \(e.occurredAt.rfc3339)\n"
        text += "  \(summary(of: e))\n"
        for change in e.changes { text += lines(change, limit: limit) }
        return text
    }

    /// A changed field: `unchanged` with its value on one line, or its value before and after.
    static func lines(_ change: StreamHistory.Change, limit: Int) -> String {
        if change.isUnchanged {
            return "    \(change.field): unchanged, \(display(change.after, limit: limit))\n"
        }
        let shown = displayPair(change, limit: limit)
        return "    \(change.field):\n      before: \(shown.before)\n      after:  \(shown.after)\n"
    }

    /// The actor as a person reads it: the name, or `-`.
    public static func actor(_ entry: StreamHistory.Entry) -> String { entry.actor ?? "-" }

    // MARK: - value display

    /// `text` cut to at most `limit` characters, ending in `…` when cut; line breaks become spaces.
    public static func truncated(_ text: String, limit: Int = 80) -> String {
        var flat = text
        if flat.contains(where: \.isNewline) {
            flat = String(flat.map { $0.isNewline ? " " : $0 })
        }
        guard flat.count > limit else { return flat }
        return String(flat.prefix(max(limit - 1, 1))).trimmingCharacters(in: .whitespaces) + "…"
    }

    /// A value as a person reads it: a string as it is, a list of strings joined by commas, a
    /// number plainly, anything else as compact JSON; cut to `limit` characters.
    public static func display(_ value: JSONValue?, limit: Int = 80) -> String {
        guard let value else { return "(none)" }
        switch value {
        case .null: return "(none)"
        case .string(let s): return truncated(s, limit: limit)
        case .array(let items) where items.allSatisfy({ $0.stringValue != nil }):
            return items.isEmpty ? "(empty)" : truncated(items.compactMap(\.stringValue).joined(separator: ", "), limit: limit)
        default: return truncated(value.canonicalString, limit: limit)
        }
    }

    /// A change's before and after values as a person reads them. When two long texts differ
    /// only past the cut, both are shown from a little before their first difference
    /// (`…` at the start marks the skipped common beginning).
    public static func displayPair(_ change: StreamHistory.Change, limit: Int = 80) -> (before: String, after: String) {
        let before = display(change.before, limit: limit)
        let after = display(change.after, limit: limit)
        guard before == after, change.before != change.after,
            let a = change.before?.stringValue, let b = change.after?.stringValue
        else { return (before, after) }
        let x = Array(a)
        let y = Array(b)
        var common = 0
        while common < x.count, common < y.count, x[common] == y[common] { common += 1 }
        let start = max(0, common - max(limit / 4, 1))
        func window(_ chars: [Character]) -> String {
            let tail = String(chars[min(start, chars.count)...])
            return start > 0 ? "…" + truncated(tail, limit: max(limit - 1, 1)) : truncated(tail, limit: limit)
        }
        return (window(x), window(y))
    }

    /// `1 point`, `5 points`: a count and its noun, singular or plural (`many`: the plural when
    /// it is not the noun with an `s`).
    public static func count(_ n: Int64, _ one: String, _ many: String? = nil) -> String {
        "\(n) \(n == 1 ? one : many ?? one + "s")"
    }

    /// A juror's total: `1 point`, `36 points`, `36.5 points`.
    static func points(_ total: JSONValue) -> String {
        if let i = total.intValue { return count(i, "point") }
        return "\(total.canonicalString) points"
    }

    /// A name or title in guillemets, cut for one line (`«?»` when absent).
    static func quoted(_ text: String?) -> String {
        guard let text else { return "«?»" }
        return "«" + truncated(text) + "»"
    }
}
