/// The event types of EVENTS.md section 3 and the shapes of their payloads.
///
/// Payload checks are structural and independent of the state: required fields, JSON types,
/// identifiers (1..64 bytes of `[A-Za-z0-9._-]`), vocabularies, ISO 3166-2:UA oblast codes,
/// dates, numeric bounds, and text limits counted in characters (Unicode scalar values).
/// A payload may hold only the fields of its type; an optional field may be `null` (= absent).
/// The rules that need the state (section 4) are in ``DomainState/check(_:)``.
public enum EventCatalog {
    /// The types of the catalog.
    public static let knownTypes: Set<String> = Set(entries.keys)

    /// The stream category of a type and the payload field holding the stream's id:
    /// `("submission", "submissionId")` for `JuryScoreAdded`. `nil` for an unknown type.
    public static func streamKey(ofType type: String) -> (category: String, idField: String)? {
        guard let entry = entries[type] else { return nil }
        return (entry.category, entry.idField)
    }

    /// The stream an event of this type and payload belongs in (`submission-S`), or `nil` when
    /// the type is unknown or the payload has no valid id.
    public static func expectedStream(type: String, data: [String: JSONValue]) -> String? {
        guard let entry = entries[type], case .string(let id)? = data[entry.idField], Check.isIdentifier(id)
        else { return nil }
        return entry.category + "-" + id
    }

    /// Checks a payload against the catalog (not against the state).
    /// - Throws: the first problem found, e.g. `Rejection(field: "data.problem", reason: "has 1600 characters; the limit is 1500")`;
    ///   `field: "type"` when the type is not in the catalog.
    public static func validatePayload(type: String, data: [String: JSONValue]) throws(Rejection) {
        guard let entry = entries[type] else { throw unknownType(type) }
        try entry.shape.validate(data, at: "data")
    }

    static func unknownType(_ type: String) -> Rejection {
        Rejection(
            field: "type",
            reason: "\(Check.quoted(type)) is not an event type of the catalog (known: \(knownTypes.sorted().joined(separator: ", ")))")
    }

    // MARK: - the catalog

    /// The types of the catalog (see ``EventKind``).
    typealias Kind = EventKind

    final class Entry: Sendable {
        let kind: Kind
        let category: String
        let idField: String
        let shape: Shape
        init(kind: Kind, category: String, idField: String, shape: Shape) {
            self.kind = kind
            self.category = category
            self.idField = idField
            self.shape = shape
        }
    }

    static let entries: [String: Entry] = {
        var e: [String: Entry] = [:]
        func add(_ kind: Kind, _ category: String, _ idField: String, _ fields: [FieldSpec]) {
            e[kind.rawValue] = Entry(kind: kind, category: category, idField: idField, shape: Shape(kind.rawValue, fields))
        }
        let id = Check.identifierField
        let reason = FieldSpec("reason", Check.text(limit: TextLimits.reason))

        // Competition
        add(.competitionAnnounced, "competition", "competitionId", [
            FieldSpec("competitionId", id),
            FieldSpec("title", Check.text(limit: TextLimits.title)),
            FieldSpec("year", Check.integer(1991...2100)),
            FieldSpec("themes", codedList(Shape("a theme", [
                FieldSpec("code", id),
                FieldSpec("title", Check.text(limit: TextLimits.name)),
            ]))),
            FieldSpec("criteria", codedList(Shape("a criterion", [
                FieldSpec("code", id),
                FieldSpec("title", Check.text(limit: TextLimits.name)),
                FieldSpec("maxPoints", Check.integer(1...100)),
            ]))),
            FieldSpec("submissionDeadline", Check.date),
            FieldSpec("minJurors", Check.integer(1...Int64(Int32.max))),
        ])
        add(.submissionDeadlineExtended, "competition", "competitionId", [
            FieldSpec("competitionId", id),
            FieldSpec("submissionDeadline", Check.date),
        ])
        add(.winnersAnnounced, "competition", "competitionId", [
            FieldSpec("competitionId", id),
            FieldSpec("themeCode", id),
            FieldSpec("winners", winners),
        ])

        // Submission
        add(.submissionFiled, "submission", "submissionId",
            [
                FieldSpec("submissionId", id),
                FieldSpec("competitionId", id),
                FieldSpec("themeCode", id),
                FieldSpec("communityId", id),
            ] + submissionContent)
        add(.submissionAmended, "submission", "submissionId", [
            FieldSpec("submissionId", id),
            FieldSpec("changes", changes(Shape(
                "an amendment (text and classification fields of SubmissionFiled)",
                submissionContent.map { FieldSpec($0.name, required: false, $0.check) },
                forbidden: fixedFields(["submissionId", "competitionId", "themeCode", "communityId"])))),
        ])
        add(.submissionWithdrawn, "submission", "submissionId", [FieldSpec("submissionId", id), reason])
        add(.juryScoreAdded, "submission", "submissionId", [
            FieldSpec("submissionId", id),
            FieldSpec("jurorId", id),
            FieldSpec("scores", scores),
            FieldSpec("comment", required: false, Check.text(limit: TextLimits.comment)),
        ])
        add(.juryScoreRetracted, "submission", "submissionId", [
            FieldSpec("submissionId", id),
            FieldSpec("jurorId", id),
            reason,
        ])

        // Community
        let contact = Check.text(limit: TextLimits.name)
        add(.communityRegistered, "community", "communityId", [
            FieldSpec("communityId", id),
            FieldSpec("name", Check.text(limit: TextLimits.name)),
            FieldSpec("oblast", Check.oblast),
            FieldSpec("kind", Check.oneOf(Vocabulary.communityKinds)),
            FieldSpec("settlements", Check.integer(1...Int64(Int32.max))),
            FieldSpec("population", Check.integer(0...Int64(Int32.max))),
            FieldSpec("council", nested(Shape("a council", [
                FieldSpec("name", contact),
                FieldSpec("address", required: false, contact),
                FieldSpec("phone", required: false, contact),
                FieldSpec("email", required: false, email),
                FieldSpec("website", required: false, contact),
                FieldSpec("head", required: false, contact),
            ]))),
        ])
        add(.communityJoinedNetwork, "community", "communityId", [
            FieldSpec("communityId", id),
            FieldSpec("sectors", Check.subsetOf(Vocabulary.sectors)),
            FieldSpec("directions", Check.subsetOf(Vocabulary.directions)),
        ])
        add(.communityLeftNetwork, "community", "communityId", [FieldSpec("communityId", id), reason])

        // Seminar
        add(.seminarHeld, "seminar", "seminarId", [
            FieldSpec("seminarId", id),
            FieldSpec("title", Check.text(limit: TextLimits.title)),
            FieldSpec("direction", Check.oneOf(Vocabulary.directions)),
            FieldSpec("oblast", Check.oblast),
            FieldSpec("city", Check.text(limit: TextLimits.city)),
            FieldSpec("date", Check.date),
            FieldSpec("participants", Check.integer(0...Int64(Int32.max))),
            FieldSpec("communityIds", Check.distinctIdentifiers),
        ])

        // Practice
        add(.practicePublished, "practice", "practiceId",
            [
                FieldSpec("practiceId", id),
                FieldSpec("communityId", id),
            ] + practiceContent + [
                FieldSpec("sourceSubmissionId", required: false, id)
            ])
        add(.practiceRevised, "practice", "practiceId", [
            FieldSpec("practiceId", id),
            FieldSpec("changes", changes(Shape(
                "a revision (text and classification fields of PracticePublished)",
                practiceContent.map { FieldSpec($0.name, required: false, $0.check) },
                forbidden: fixedFields(["practiceId", "communityId", "sourceSubmissionId"])))),
        ])
        add(.practiceUnpublished, "practice", "practiceId", [FieldSpec("practiceId", id), reason])
        return e
    }()

    /// The text and classification fields of `SubmissionFiled` (what `SubmissionAmended` may change).
    static let submissionContent: [FieldSpec] = [
        FieldSpec("title", Check.text(limit: TextLimits.title)),
        FieldSpec("sector", Check.oneOf(Vocabulary.sectors)),
        FieldSpec("directions", Check.subsetOf(Vocabulary.directions)),
        FieldSpec("participationForms", Check.subsetOf(Vocabulary.participationForms)),
        FieldSpec("period", period),
        FieldSpec("problem", Check.text(limit: TextLimits.problem)),
        FieldSpec("activities", Check.text(limit: TextLimits.activities)),
        FieldSpec("results", Check.text(limit: TextLimits.results)),
        FieldSpec("risks", required: false, Check.text(limit: TextLimits.risks)),
        FieldSpec("budget", nested(Shape("a budget", [
            FieldSpec("totalUAH", Check.number(minimum: 0)),
            FieldSpec("sources", Check.arrayOf(Check.text(limit: TextLimits.source))),
        ]))),
        FieldSpec("links", Check.arrayOf(Check.text(limit: TextLimits.link))),
    ]

    /// The text and classification fields of `PracticePublished` (what `PracticeRevised` may change).
    static let practiceContent: [FieldSpec] = [
        FieldSpec("title", Check.text(limit: TextLimits.title)),
        FieldSpec("sector", Check.oneOf(Vocabulary.sectors)),
        FieldSpec("directions", Check.subsetOf(Vocabulary.directions)),
        FieldSpec("participationForms", Check.subsetOf(Vocabulary.participationForms)),
        FieldSpec("summary", Check.text(limit: TextLimits.summary)),
        FieldSpec("body", Check.text(limit: TextLimits.body)),
        FieldSpec("tags", Check.arrayOf(Check.text(limit: TextLimits.tag))),
    ]

    static func fixedFields(_ names: [String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, "is an identifier and cannot be changed") })
    }

    // MARK: composite checks

    // Nested objects are validated relative to "" and a rejection is moved under the object's
    // path only when thrown: the hot path renders no path strings.

    static func nested(_ shape: Shape) -> FieldCheck {
        { v, p throws(Rejection) in
            let o = try Check.object(v, p)
            do throws(Rejection) { try shape.validate(o, at: "") } catch { throw error.under(p) }
        }
    }

    static func changes(_ shape: Shape) -> FieldCheck {
        { v, p throws(Rejection) in
            let o = try Check.object(v, p)
            do throws(Rejection) { try shape.validateChanges(o, at: "") } catch { throw error.under(p) }
        }
    }

    /// A non-empty array of objects with a `code`, codes distinct (themes, criteria).
    static func codedList(_ shape: Shape) -> FieldCheck {
        { v, p throws(Rejection) in
            let items = try Check.array(v, p)
            guard !items.isEmpty else { throw p.fail("must not be empty") }
            var codes = Set<String>(minimumCapacity: items.count)
            for (i, item) in items.enumerated() {
                let o = try Check.object(item, p.at(i))
                do throws(Rejection) { try shape.validate(o, at: "") } catch { throw error.under(p.at(i)) }
                if case .string(let code)? = o["code"], !codes.insert(code).inserted {
                    throw Rejection(field: p.element(i) + ".code", reason: "\(Check.quoted(code)) is used twice; codes must be unique")
                }
            }
        }
    }

    static let winnerShape = Shape("a winner", [
        FieldSpec("submissionId", Check.identifierField),
        FieldSpec("place", Check.integer(1...1000)),
        FieldSpec("award", required: false, Check.text(limit: TextLimits.award)),
    ])

    /// A non-empty list of winners, each submission once.
    static let winners: FieldCheck = { v, p throws(Rejection) in
        let items = try Check.array(v, p)
        guard !items.isEmpty else { throw p.fail("must name at least one winner") }
        var seen = Set<String>(minimumCapacity: items.count)
        for (i, item) in items.enumerated() {
            let o = try Check.object(item, p.at(i))
            do throws(Rejection) { try winnerShape.validate(o, at: "") } catch { throw error.under(p.at(i)) }
            if case .string(let s)? = o["submissionId"], !seen.insert(s).inserted {
                throw Rejection(field: p.element(i) + ".submissionId", reason: "\(Check.quoted(s)) is listed twice")
            }
        }
    }

    /// `{criterionCode: points}`: at least one, codes are identifiers, points integers 0...100.
    /// (Which criteria and their maxima are checked against the competition by the state.)
    static let scores: FieldCheck = { v, p throws(Rejection) in
        let o = try Check.object(v, p)
        guard !o.isEmpty else { throw p.fail("must score the competition's criteria") }
        func check(_ code: String, _ points: JSONValue) throws(Rejection) {
            if case .int(let n) = points, n >= 0, n <= 100, Check.isIdentifier(code) { return }  // the usual case
            let at = FieldPath(p.text, code)
            guard Check.isIdentifier(code) else { throw at.fail("is not a criterion code") }
            _ = try Check.integer(points, at, 0...100)
        }
        do throws(Rejection) {
            for (code, points) in o { try check(code, points) }
        } catch {
            // report the first problem in key order, not in the dictionary's order
            for code in o.keys.sorted() { try check(code, o[code] ?? .null) }
            throw error
        }
    }

    /// `{from: YYYY-MM, to?: YYYY-MM}` with `to` not before `from`.
    static let period: FieldCheck = { v, p throws(Rejection) in
        let o = try Check.object(v, p)
        do throws(Rejection) {
            try periodShape.validate(o, at: "")
            if let to = o["to"], !to.isNull, let from = o["from"] {
                let toMonth = try Check.month(to, FieldPath("", "to"))
                let fromMonth = try Check.month(from, FieldPath("", "from"))
                if toMonth < fromMonth {
                    throw Rejection(field: ".to", reason: "is before the period's start (from)")
                }
            }
        } catch {
            throw error.under(p)
        }
    }

    static let periodShape = Shape("a period", [
        FieldSpec("from", { v, p throws(Rejection) in _ = try Check.month(v, p) }),
        FieldSpec("to", required: false, { v, p throws(Rejection) in _ = try Check.month(v, p) }),
    ])

    /// Contact text that looks like an e-mail address (something@something).
    static let email: FieldCheck = { v, p throws(Rejection) in
        let s = try Check.text(v, p, limit: TextLimits.name)
        guard let at = s.utf8.firstIndex(of: UInt8(ascii: "@")), at != s.utf8.startIndex,
            s.utf8.index(after: at) != s.utf8.endIndex
        else { throw p.fail("must be an e-mail address, found \(Check.quoted(s))") }
    }
}
