import Foundation

/// The audit trail of one stream: every event in order, with who recorded it, when, and what it
/// changed.
///
/// For `SubmissionAmended` and `PracticeRevised` (payload `changes:{...}`) each changed field is
/// reported with its value BEFORE (the value in effect from the stream's earlier events: the
/// `SubmissionFiled` / `PracticePublished` payload with the earlier amendments applied) and AFTER.
/// `SubmissionDeadlineExtended` reports `submissionDeadline` the same way. Every event also gets a
/// short English summary (`summary`, with the payload's own texts quoted as they are) and the structured facts behind it (`details`): a juror's
/// total and, when the juror had a current score on the submission, the previous total; the
/// total a retraction removes; a withdrawal's reason; and so on.
///
/// Only the given events are looked at: pass the whole stream (from version 0) so that the
/// "before" values are right. Payloads are read through ``Upcaster`` as the current catalog
/// reads them; the reported `type` is the one recorded.
public struct StreamHistory: Sendable {
    /// One changed field: its value before the event and after it (`nil`: absent).
    public struct Change: Sendable, Hashable, Codable {
        /// The payload's field name (`title`, `summary`, `submissionDeadline`, ...).
        public var field: String
        /// The value in effect before the event; `nil` when the field had no value.
        public var before: JSONValue?
        /// The value the event sets; `nil` when the event removes the field.
        public var after: JSONValue?

        public init(field: String, before: JSONValue?, after: JSONValue?) {
            self.field = field
            self.before = before
            self.after = after
        }

        /// Whether the event left the value as it was (an amendment repeating the current value).
        public var isUnchanged: Bool { before == after }

        enum CodingKeys: String, CodingKey { case field, before, after }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            field = try c.decode(String.self, forKey: .field)
            before = try c.decodeIfPresent(CodableJSON.self, forKey: .before).flatMap(\.optional)
            after = try c.decodeIfPresent(CodableJSON.self, forKey: .after).flatMap(\.optional)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(field, forKey: .field)
            try c.encode(CodableJSON(before ?? .null), forKey: .before)
            try c.encode(CodableJSON(after ?? .null), forKey: .after)
        }

        /// `{"field", "before", "after"}`, `null` for an absent value.
        public var json: JSONValue {
            ["field": .string(field), "before": before ?? .null, "after": after ?? .null]
        }
    }

    /// One event of the stream, as the audit trail shows it.
    public struct Entry: Sendable, Hashable, Codable {
        /// The event's id.
        public var id: UUID
        /// The event's hash in the chain (64 lowercase hex digits).
        public var hash: String
        public var position: Int64
        public var version: Int64
        public var type: String
        public var recordedAt: Timestamp
        public var occurredAt: Timestamp
        /// `metadata.actor`; `nil` when the event does not name one (shown as `-`).
        public var actor: String?
        /// The fields the event changed, before and after (empty for events that change no field).
        public var changes: [Change]
        /// A short summary of the event in English (names and titles quoted as recorded).
        public var summary: String
        /// The facts behind the summary, by name (`jurorId`, `total`, `previousTotal`, `reason`, ...).
        public var details: [String: JSONValue]

        public init(
            id: UUID, hash: String, position: Int64, version: Int64, type: String, recordedAt: Timestamp,
            occurredAt: Timestamp, actor: String?, changes: [Change], summary: String, details: [String: JSONValue] = [:]
        ) {
            self.id = id
            self.hash = hash
            self.position = position
            self.version = version
            self.type = type
            self.recordedAt = recordedAt
            self.occurredAt = occurredAt
            self.actor = actor
            self.changes = changes
            self.summary = summary
            self.details = details
        }

        /// The actor as a person reads it: the name, or `-`.
        public var actorOrDash: String { actor ?? "-" }

        enum CodingKeys: String, CodingKey {
            case id, hash, position, version, type, recordedAt, occurredAt, actor, changes, summary, details
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(UUID.self, forKey: .id)
            hash = try c.decode(String.self, forKey: .hash)
            position = try c.decode(Int64.self, forKey: .position)
            version = try c.decode(Int64.self, forKey: .version)
            type = try c.decode(String.self, forKey: .type)
            func time(_ key: CodingKeys) throws -> Timestamp {
                let text = try c.decode(String.self, forKey: key)
                guard let t = Timestamp(rfc3339: text) else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not an RFC 3339 timestamp: \(text)")
                }
                return t
            }
            recordedAt = try time(.recordedAt)
            occurredAt = try time(.occurredAt)
            actor = try c.decodeIfPresent(String.self, forKey: .actor)
            changes = try c.decodeIfPresent([Change].self, forKey: .changes) ?? []
            summary = try c.decodeIfPresent(String.self, forKey: .summary) ?? ""
            details = try c.decodeIfPresent([String: CodableJSON].self, forKey: .details)?.mapValues(\.value) ?? [:]
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id.uuidString.lowercased(), forKey: .id)
            try c.encode(hash, forKey: .hash)
            try c.encode(position, forKey: .position)
            try c.encode(version, forKey: .version)
            try c.encode(type, forKey: .type)
            try c.encode(recordedAt.rfc3339, forKey: .recordedAt)
            try c.encode(occurredAt.rfc3339, forKey: .occurredAt)
            if let actor { try c.encode(actor, forKey: .actor) } else { try c.encodeNil(forKey: .actor) }
            try c.encode(changes, forKey: .changes)
            try c.encode(summary, forKey: .summary)
            try c.encode(details.mapValues(CodableJSON.init), forKey: .details)
        }

        /// `{"id", "hash", "position", "version", "type", "recordedAt", "occurredAt", "actor", "changes",
        /// "summary", "details"}`; `actor` is `null` when the event names none.
        public var json: JSONValue {
            [
                "id": .string(id.uuidString.lowercased()), "hash": .string(hash), "position": .int(position), "version": .int(version), "type": .string(type),
                "recordedAt": .string(recordedAt.rfc3339), "occurredAt": .string(occurredAt.rfc3339),
                "actor": actor.map(JSONValue.string) ?? .null, "changes": .array(changes.map(\.json)),
                "summary": .string(summary), "details": .object(details),
            ]
        }
    }

    /// The audit trail of `events` (one stream's events, in order, from its first).
    public static func build(events: [RecordedEvent]) -> [Entry] {
        build(events: events, upcaster: .standard)
    }

    /// The audit trail of `events`, reading old payload versions through `upcaster`.
    public static func build(events: [RecordedEvent], upcaster: Upcaster) -> [Entry] {
        var state = State()
        var entries: [Entry] = []
        entries.reserveCapacity(events.count)
        for event in events {
            let (type, data) = upcaster.upcast(type: event.type, data: event.data, metadata: event.metadata)
            let described = state.describe(type: type, data: data)
            entries.append(
                Entry(
                    id: event.id, hash: event.hash, position: event.position, version: event.version, type: event.type,
                    recordedAt: event.recordedAt, occurredAt: event.occurredAt, actor: actor(of: event.metadata),
                    changes: described.changes, summary: described.summary, details: described.details))
        }
        return entries
    }

    /// The `--json` document: `{"stream": S, "events": [...]}`.
    public static func document(stream: String, entries: [Entry]) -> JSONValue {
        ["stream": .string(stream), "events": .array(entries.map(\.json))]
    }

    /// `metadata.actor` as text (a non-string actor in its canonical JSON form).
    static func actor(of metadata: [String: JSONValue]) -> String? {
        guard let value = metadata["actor"], !value.isNull else { return nil }
        if let s = value.stringValue { return s.isEmpty ? nil : s }
        return value.canonicalString
    }

    // MARK: - presentation helpers (shared with the command line)

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
    public static func displayPair(_ change: Change, limit: Int = 80) -> (before: String, after: String) {
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


    /// The order of fields on the forms; other fields follow alphabetically.
    static let fieldOrder: [String] = [
        "title", "themeCode", "sector", "directions", "participationForms", "period", "summary", "body",
        "problem", "activities", "results", "risks", "budget", "links", "tags", "sourceSubmissionId",
    ]

    static func sortedFields(_ keys: some Sequence<String>) -> [String] {
        keys.sorted { a, b in
            let ia = fieldOrder.firstIndex(of: a) ?? Int.max
            let ib = fieldOrder.firstIndex(of: b) ?? Int.max
            if ia != ib { return ia < ib }
            return a.utf8.lexicographicallyPrecedes(b.utf8)
        }
    }

    /// `1 point`, `5 points`: a count and its noun, singular or plural.
    static func count(_ n: Int64, _ one: String, _ many: String? = nil) -> String {
        "\(n) \(n == 1 ? one : many ?? one + "s")"
    }

    static func points(_ total: JSONValue) -> String {
        if let i = total.intValue { return count(i, "point") }
        return "\(total.canonicalString) points"
    }

    static func quoted(_ text: String?) -> String {
        guard let text else { return "«?»" }
        return "«" + truncated(text) + "»"
    }

    // MARK: - the stream's state while reading

    /// What the earlier events of the stream established.
    struct State {
        /// The current fields of the stream's subject (submission, practice, competition,
        /// community): the creating payload with the later changes applied.
        var fields: [String: JSONValue] = [:]
        /// Current jury scores by juror: the total and the scores.
        var scores: [String: (total: JSONValue, scores: JSONValue)] = [:]
        /// Community membership of the network: nil before any join.
        var inNetwork: Bool?
        var withdrawn = false
        var unpublished = false

        typealias Described = (changes: [Change], summary: String, details: [String: JSONValue])

        mutating func describe(type: String, data: [String: JSONValue]) -> Described {
            func s(_ key: String) -> String? { data[key]?.stringValue }
            switch EventKind(rawValue: type) {
            case .submissionFiled:
                fields = data
                let summary =
                    "submission \(quoted(s("title"))) filed: community \(s("communityId") ?? "?"), competition \(s("competitionId") ?? "?"), theme \(s("themeCode") ?? "?")"
                return ([], summary, pick(data, "submissionId", "competitionId", "themeCode", "communityId", "title", "sector"))

            case .practicePublished:
                fields = data
                unpublished = false
                var summary = "practice \(quoted(s("title"))) of community \(s("communityId") ?? "?") published"
                if let sector = s("sector") { summary += ", sector \(sector)" }
                if let source = s("sourceSubmissionId") { summary += ", from submission \(source)" }
                return ([], summary, pick(data, "practiceId", "communityId", "title", "sector", "sourceSubmissionId"))

            case .submissionAmended, .practiceRevised:
                let changes = applyChanges(data["changes"])
                let verb = EventKind(rawValue: type) == .submissionAmended ? "submission amended" : "practice revised"
                let names = changes.map(\.field)
                let summary = names.isEmpty ? "\(verb): no field changed" : "\(verb): \(names.joined(separator: ", "))"
                return (changes, summary, ["fields": .array(changes.map { .string($0.field) })])

            case .submissionWithdrawn:
                withdrawn = true
                return ([], "submission withdrawn: \(truncated(s("reason") ?? "no reason given"))", pick(data, "reason"))

            case .juryScoreAdded:
                let juror = s("jurorId") ?? "?"
                let total = Self.total(of: data["scores"])
                var details: [String: JSONValue] = ["jurorId": .string(juror), "total": total, "previousTotal": .null]
                var summary: String
                if let previous = scores[juror] {
                    details["previousTotal"] = previous.total
                    summary = "juror \(juror) re-scored: \(previous.total.canonicalString) → \(points(total))"
                } else {
                    summary = "juror \(juror) scored \(points(total))"
                }
                if withdrawn { summary += " (the submission had been withdrawn)" }
                scores[juror] = (total, data["scores"] ?? .null)
                return ([], summary, details)

            case .juryScoreRetracted:
                let juror = s("jurorId") ?? "?"
                let reason = s("reason").map { ": " + truncated($0) } ?? ""
                var details: [String: JSONValue] = ["jurorId": .string(juror), "retractedTotal": .null]
                if let reasonText = s("reason") { details["reason"] = .string(reasonText) }
                guard let previous = scores.removeValue(forKey: juror) else {
                    return ([], "juror \(juror) retracted a score (the stream holds no current score of theirs)\(reason)", details)
                }
                details["retractedTotal"] = previous.total
                return ([], "juror \(juror) retracted their score (\(points(previous.total)))\(reason)", details)

            case .competitionAnnounced:
                fields = data
                var summary = "competition \(quoted(s("title"))) announced"
                if let year = data["year"]?.intValue { summary += " for \(year)" }
                let themes = data["themes"]?.arrayValue?.count ?? 0
                let criteria = data["criteria"]?.arrayValue?.count ?? 0
                summary += ": \(count(Int64(themes), "theme")), \(count(Int64(criteria), "criterion", "criteria"))"
                if let deadline = s("submissionDeadline") { summary += ", submissions until \(deadline)" }
                if let min = data["minJurors"]?.intValue { summary += ", at least \(count(min, "juror"))" }
                return ([], summary, pick(data, "competitionId", "title", "year", "submissionDeadline", "minJurors"))

            case .submissionDeadlineExtended:
                let before = fields["submissionDeadline"]
                let after = data["submissionDeadline"]
                fields["submissionDeadline"] = after
                let change = Change(field: "submissionDeadline", before: before, after: after)
                let summary: String
                if let old = before?.stringValue {
                    summary = "submission deadline extended: \(old) → \(after?.stringValue ?? "?")"
                } else {
                    summary = "submission deadline extended to \(after?.stringValue ?? "?") (the stream holds no earlier deadline)"
                }
                return ([change], summary, ["before": before ?? .null, "after": after ?? .null])

            case .winnersAnnounced:
                let theme = s("themeCode") ?? "?"
                var themeName = ""
                if let themes = fields["themes"]?.arrayValue,
                    let found = themes.first(where: { $0["code"]?.stringValue == theme }),
                    let title = found["title"]?.stringValue
                {
                    themeName = " " + quoted(title)
                }
                let winners = (data["winners"]?.arrayValue ?? []).map { w -> String in
                    var text = "place \(w["place"]?.intValue.map(String.init) ?? "?"): \(w["submissionId"]?.stringValue ?? "?")"
                    if let award = w["award"]?.stringValue, !award.isEmpty { text += " (\(truncated(award, limit: 60)))" }
                    return text
                }
                let list = winners.isEmpty ? "none" : winners.joined(separator: "; ")
                return (
                    [], "winners of theme \(theme)\(themeName): \(list)",
                    ["themeCode": .string(theme), "winners": data["winners"] ?? .array([])]
                )

            case .communityRegistered:
                fields = data
                                var summary = "community \(quoted(s("name"))) registered"
                var parts: [String] = []
                if let oblast = s("oblast") { parts.append(oblast) }
                if let kind = s("kind") { parts.append(kind) }
                if let n = data["settlements"]?.intValue { parts.append(count(n, "settlement")) }
                if let p = data["population"]?.intValue { parts.append("population \(p)") }
                if !parts.isEmpty { summary += " (" + parts.joined(separator: ", ") + ")" }
                return ([], summary, pick(data, "communityId", "name", "oblast", "kind", "settlements", "population"))

            case .communityJoinedNetwork:
                let again = inNetwork == false
                inNetwork = true
                var summary = again ? "rejoined the network" : "joined the network"
                let sectors = display(data["sectors"], limit: 60)
                let directions = display(data["directions"], limit: 60)
                summary += ": sectors \(sectors); directions \(directions)"
                return ([], summary, pick(data, "sectors", "directions"))

            case .communityLeftNetwork:
                inNetwork = false
                return ([], "left the network: \(truncated(s("reason") ?? "no reason given"))", pick(data, "reason"))

            case .seminarHeld:
                fields = data
                var summary = "seminar \(quoted(s("title"))) held"
                let place = [s("city"), s("oblast")].compactMap { $0 }.joined(separator: ", ")
                if !place.isEmpty { summary += ", \(place)" }
                if let date = s("date") { summary += ", \(date)" }
                if let n = data["participants"]?.intValue { summary += ": \(count(n, "participant"))" }
                let communities = Int64(data["communityIds"]?.arrayValue?.count ?? 0)
                summary += ", \(count(communities, "community", "communities"))"
                return ([], summary, pick(data, "title", "direction", "oblast", "city", "date", "participants", "communityIds"))

            case .practiceUnpublished:
                unpublished = true
                return ([], "practice unpublished: \(truncated(s("reason") ?? "no reason given"))", pick(data, "reason"))

            case nil:
                let payload = JSONValue.object(data).canonicalString
                return ([], "an event of a type the catalog does not know: \(truncated(payload))", [:])
            }
        }

        /// Applies a `changes` object to the fields; the changes with their before/after values.
        mutating func applyChanges(_ value: JSONValue?) -> [Change] {
            guard let changes = value?.objectValue else { return [] }
            return sortedFields(changes.keys).map { field in
                let after = changes[field]!
                let before = fields[field]
                fields[field] = after
                return Change(field: field, before: before, after: after)
            }
        }

        /// The sum of a juror's criterion points (an integer when every point is one).
        static func total(of scores: JSONValue?) -> JSONValue {
            guard let members = scores?.objectValue else { return .null }
            var intSum: Int64 = 0
            var doubleSum = 0.0
            var allInts = true
            for value in members.values {
                if let i = value.intValue, allInts {
                    intSum += i
                    doubleSum += Double(i)
                } else if let d = value.doubleValue {
                    allInts = false
                    doubleSum += d
                }
            }
            return allInts ? .int(intSum) : .double(doubleSum)
        }

        func pick(_ data: [String: JSONValue], _ keys: String...) -> [String: JSONValue] {
            var out: [String: JSONValue] = [:]
            for key in keys { if let v = data[key] { out[key] = v } }
            return out
        }
    }
}

/// `JSONValue` through `Codable` (encoders and decoders of the standard library).
struct CodableJSON: Codable, Sendable {
    var value: JSONValue
    init(_ value: JSONValue) { self.value = value }

    /// `nil` for JSON `null`.
    var optional: JSONValue? { value.isNull ? nil : value }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            value = .null
        } else if let b = try? c.decode(Bool.self) {
            value = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            value = .int(i)
        } else if let d = try? c.decode(Double.self) {
            value = .double(d)
        } else if let s = try? c.decode(String.self) {
            value = .string(s)
        } else if let a = try? c.decode([CodableJSON].self) {
            value = .array(a.map(\.value))
        } else {
            value = .object(try c.decode([String: CodableJSON].self).mapValues(\.value))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a.map(CodableJSON.init))
        case .object(let o): try c.encode(o.mapValues(CodableJSON.init))
        }
    }
}
