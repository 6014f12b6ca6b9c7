import Foundation

/// The audit trail of one stream: every event in order, with who recorded it, when, and what it
/// changed.
///
/// For `SubmissionAmended` and `PracticeRevised` (payload `changes:{...}`) each changed field is
/// reported with its value BEFORE (the value in effect from the stream's earlier events: the
/// `SubmissionFiled` / `PracticePublished` payload with the earlier amendments applied) and AFTER.
/// `SubmissionDeadlineExtended` reports `submissionDeadline` the same way. Every event also gets
/// the structured facts a reader needs (`details`): a juror's total and, when the juror had a
/// current score on the submission, the previous total; the total a retraction removes; a
/// withdrawal's reason; whether a network join is a re-join; and so on. Besides the payload's
/// own fields, `details` holds what only the stream's earlier events tell:
///
/// - `JuryScoreAdded`: `total`, `previousTotal` (`null` on a first score), `rescore`,
///   `submissionWithdrawn` (whether the submission had been withdrawn by then);
/// - `JuryScoreRetracted`: `retractedTotal`, `hadScore` (whether the juror had a current score);
/// - `CompetitionAnnounced`: `themeCount`, `criterionCount`;
/// - `SubmissionDeadlineExtended`: `before`, `after`;
/// - `WinnersAnnounced`: `themeTitle` (from the announcement; absent when it does not name the theme);
/// - `CommunityJoinedNetwork`: `rejoined` (after a `CommunityLeftNetwork`);
/// - `SubmissionAmended`, `PracticeRevised`: `fields`; a type the catalog does not know: `payload`.
///
/// Values only: the sentences people read are made from these facts by the `Rendering` module
/// (`HistoryText`), so that the command line and the web service say the same thing.
///
/// Only the given events are looked at: pass the whole stream (from version 0) so that the
/// "before" values are right. Payloads are read through ``Upcaster`` as the current catalog
/// reads them; the reported `type` is the one recorded, `kind` the one read.
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
        /// `metadata.actor`; `nil` when the event does not name one.
        public var actor: String?
        /// The fields the event changed, before and after (empty for events that change no field).
        public var changes: [Change]
        /// The facts of the event, by name (`jurorId`, `total`, `previousTotal`, `reason`, ...).
        public var details: [String: JSONValue]
        /// The type as the current catalog reads it (after ``Upcaster``; `nil`: a type the catalog
        /// does not know). Not part of the JSON form: decoding reads it from `type`.
        public var kind: EventKind?

        public init(
            id: UUID, hash: String, position: Int64, version: Int64, type: String, recordedAt: Timestamp,
            occurredAt: Timestamp, actor: String?, changes: [Change], details: [String: JSONValue], kind: EventKind?
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
            self.details = details
            self.kind = kind
        }

        enum CodingKeys: String, CodingKey {
            case id, hash, position, version, type, recordedAt, occurredAt, actor, changes, details
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
            details = try c.decodeIfPresent([String: CodableJSON].self, forKey: .details)?.mapValues(\.value) ?? [:]
            kind = EventKind(rawValue: type)
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
            try c.encode(details.mapValues(CodableJSON.init), forKey: .details)
        }

        /// `{"id", "hash", "position", "version", "type", "recordedAt", "occurredAt", "actor", "changes",
        /// "details"}`; `actor` is `null` when the event names none. (`HistoryDocument` adds the
        /// `summary` the command line prints.)
        public var json: JSONValue {
            [
                "id": .string(id.uuidString.lowercased()), "hash": .string(hash), "position": .int(position), "version": .int(version), "type": .string(type),
                "recordedAt": .string(recordedAt.rfc3339), "occurredAt": .string(occurredAt.rfc3339),
                "actor": actor.map(JSONValue.string) ?? .null, "changes": .array(changes.map(\.json)),
                "details": .object(details),
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
            let kind = EventKind(rawValue: type)
            let described = state.describe(kind: kind, data: data)
            entries.append(
                Entry(
                    id: event.id, hash: event.hash, position: event.position, version: event.version, type: event.type,
                    recordedAt: event.recordedAt, occurredAt: event.occurredAt, actor: actor(of: event.metadata),
                    changes: described.changes, details: described.details, kind: kind))
        }
        return entries
    }

    /// `metadata.actor` as text (a non-string actor in its canonical JSON form).
    public static func actor(of metadata: [String: JSONValue]) -> String? {
        guard let value = metadata["actor"], !value.isNull else { return nil }
        if let s = value.stringValue { return s.isEmpty ? nil : s }
        return value.canonicalString
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

        typealias Described = (changes: [Change], details: [String: JSONValue])

        /// The changes and the facts of one event of kind `kind` (`nil`: a type the catalog does
        /// not know), given what the earlier events established; updates that state.
        mutating func describe(kind: EventKind?, data: [String: JSONValue]) -> Described {
            switch kind {
            case .submissionFiled:
                fields = data
                return ([], pick(data, "submissionId", "competitionId", "themeCode", "communityId", "title", "sector"))

            case .practicePublished:
                fields = data
                unpublished = false
                return ([], pick(data, "practiceId", "communityId", "title", "sector", "sourceSubmissionId"))

            case .submissionAmended, .practiceRevised:
                let changes = applyChanges(data["changes"])
                return (changes, ["fields": .array(changes.map { .string($0.field) })])

            case .submissionWithdrawn:
                withdrawn = true
                return ([], pick(data, "reason"))

            case .juryScoreAdded:
                return ([], scoreAdded(data))

            case .juryScoreRetracted:
                return ([], scoreRetracted(data))

            case .competitionAnnounced:
                fields = data
                var details = pick(data, "competitionId", "title", "year", "submissionDeadline", "minJurors")
                details["themeCount"] = .int(Int64(data["themes"]?.arrayValue?.count ?? 0))
                details["criterionCount"] = .int(Int64(data["criteria"]?.arrayValue?.count ?? 0))
                return ([], details)

            case .submissionDeadlineExtended:
                let before = fields["submissionDeadline"]
                let after = data["submissionDeadline"]
                fields["submissionDeadline"] = after
                let change = Change(field: "submissionDeadline", before: before, after: after)
                return ([change], ["before": before ?? .null, "after": after ?? .null])

            case .winnersAnnounced:
                return ([], winners(data))

            case .communityRegistered:
                fields = data
                return ([], pick(data, "communityId", "name", "oblast", "kind", "settlements", "population"))

            case .communityJoinedNetwork:
                let again = inNetwork == false
                inNetwork = true
                var details = pick(data, "sectors", "directions")
                details["rejoined"] = .bool(again)
                return ([], details)

            case .communityLeftNetwork:
                inNetwork = false
                return ([], pick(data, "reason"))

            case .seminarHeld:
                fields = data
                return ([], pick(data, "title", "direction", "oblast", "city", "date", "participants", "communityIds"))

            case .practiceUnpublished:
                unpublished = true
                return ([], pick(data, "reason"))

            case nil:
                return ([], ["payload": .object(data)])
            }
        }

        /// A juror's score: their total, the total of their current score it replaces (`rescore`),
        /// and whether the submission had been withdrawn by then (`submissionWithdrawn`).
        mutating func scoreAdded(_ data: [String: JSONValue]) -> [String: JSONValue] {
            let juror = data["jurorId"]?.stringValue ?? "?"
            let total = Self.total(of: data["scores"])
            let previous = scores[juror]
            scores[juror] = (total, data["scores"] ?? .null)
            return [
                "jurorId": .string(juror), "total": total, "previousTotal": previous?.total ?? .null,
                "rescore": .bool(previous != nil), "submissionWithdrawn": .bool(withdrawn),
            ]
        }

        /// A retraction: the total it removes (`null` and `hadScore` false when the stream holds
        /// no current score of the juror) and its reason.
        mutating func scoreRetracted(_ data: [String: JSONValue]) -> [String: JSONValue] {
            let juror = data["jurorId"]?.stringValue ?? "?"
            let previous = scores.removeValue(forKey: juror)
            var details: [String: JSONValue] = [
                "jurorId": .string(juror), "retractedTotal": previous?.total ?? .null, "hadScore": .bool(previous != nil),
            ]
            if let reason = data["reason"]?.stringValue { details["reason"] = .string(reason) }
            return details
        }

        /// The winners of a theme, with the theme's title from the competition's announcement
        /// (`themeTitle`, absent when the stream does not name the theme).
        func winners(_ data: [String: JSONValue]) -> [String: JSONValue] {
            let theme = data["themeCode"]?.stringValue ?? "?"
            var details: [String: JSONValue] = ["themeCode": .string(theme), "winners": data["winners"] ?? .array([])]
            if let themes = fields["themes"]?.arrayValue,
                let found = themes.first(where: { $0["code"]?.stringValue == theme }),
                let title = found["title"]?.stringValue
            {
                details["themeTitle"] = .string(title)
            }
            return details
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
