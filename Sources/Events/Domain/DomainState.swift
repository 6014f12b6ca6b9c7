/// The state that the business rules (EVENTS.md section 4) need, folded from the log.
///
/// It is compact on purpose (it is held in memory for millions of events): per competition its
/// theme codes, criteria, current deadline and the themes whose winners are announced; per
/// submission its competition, theme, a withdrawn flag and the jurors with a current score;
/// the registered communities and which are in the network; the seminar ids; the practice ids
/// and whether each is published now. Texts are not kept: the projections hold them.
///
/// Decisions where the spec is silent:
/// - A practice id is published once: `PracticePublished` for an id that was published and then
///   unpublished is rejected (publish the practice again under a new id). `PracticeRevised` and
///   `PracticeUnpublished` need a practice that is published now.
/// - A seminar id is recorded once (a second `SeminarHeld` would count the seminar twice).
/// - `SubmissionAmended` / `SubmissionWithdrawn` need a filed submission; a submission is
///   withdrawn once; amending a withdrawn submission is allowed.
/// - `JuryScoreRetracted` needs only a current score of that juror (rule 4), also after the
///   theme's winners are announced; `JuryScoreAdded` is closed by `WinnersAnnounced` (rule 3).
/// - `WinnersAnnounced` is once per competition theme, names at least one winner, each
///   submission once; places may repeat (councils of each kind are awarded separately).
/// - A community may join the network again after leaving it.
public struct DomainState: Sendable, Codable, Equatable {
    struct Criterion: Sendable, Codable, Equatable {
        var code: String
        var maxPoints: Int64
    }

    struct Competition: Sendable, Codable, Equatable {
        /// Theme codes, in announcement order.
        var themes: [String]
        /// Criteria in announcement order.
        var criteria: [Criterion]
        /// The current submission deadline, as days since 1970-01-01 (UTC).
        var deadlineDay: Int
        /// Themes whose winners are announced (scoring closed).
        var closedThemes: [String]
    }

    struct Submission: Sendable, Codable, Equatable {
        var competitionId: String
        var themeCode: String
        var withdrawn: Bool
        /// Jurors with a current score.
        var jurors: [String]

        // short keys: there may be hundreds of thousands of these in a saved state
        enum CodingKeys: String, CodingKey {
            case competitionId = "c"
            case themeCode = "t"
            case withdrawn = "w"
            case jurors = "j"
        }
    }

    var competitions: [String: Competition] = [:]
    var submissions: [String: Submission] = [:]
    /// Registered communities; the value says whether the community is in the network now.
    var communities: [String: Bool] = [:]
    var seminars: Set<String> = []
    /// Practices ever published; the value says whether it is published now.
    var practices: [String: Bool] = [:]

    public init() {}

    // MARK: - queries

    public var competitionCount: Int { competitions.count }
    public var submissionCount: Int { submissions.count }
    public var communityCount: Int { communities.count }

    public func isRegistered(community id: String) -> Bool { communities[id] != nil }
    public func isNetworkMember(community id: String) -> Bool { communities[id] == true }
    public func isPublished(practice id: String) -> Bool { practices[id] == true }
    public func isWithdrawn(submission id: String) -> Bool { submissions[id]?.withdrawn == true }
    /// The jurors with a current score on a submission, or `nil` when it was never filed.
    public func currentJurors(submission id: String) -> [String]? { submissions[id]?.jurors }
    /// The competition's current submission deadline `YYYY-MM-DD`, extensions included.
    public func submissionDeadline(competition id: String) -> String? {
        guard let day = competitions[id]?.deadlineDay else { return nil }
        return Self.dateText(day: day)
    }
    /// Whether the winners of that theme are announced (its scoring closed).
    public func winnersAnnounced(competition id: String, theme: String) -> Bool {
        competitions[id]?.closedThemes.contains(theme) == true
    }

    static func dateText(day: Int) -> String {
        Timestamp(milliseconds: Int64(day) * 86_400_000).dateString
    }

    // MARK: - check

    /// Checks an event against the catalog and against the business rules on this state.
    /// Does not change the state.
    ///
    /// Order: the type is known; the payload is valid (``EventCatalog/validatePayload(type:data:)``);
    /// the stream is `<category>-<id>` of the payload's own id (rule 1); the rules of section 4.
    /// - Throws: the first problem found, `field` a dotted path (`data.scores.relevance`,
    ///   `data.winners[0].submissionId`, `stream`, `occurredAt`, `type`).
    /// - Parameter payloadChecked: the type and payload were checked already (an import checks
    ///   them on its parsing thread with ``EventCatalog/validatePayload(type:data:)``).
    public func check(_ event: ProposedEvent, payloadChecked: Bool = false) throws(Rejection) {
        guard let entry = EventCatalog.entries[event.type] else { throw EventCatalog.unknownType(event.type) }
        let data = event.data
        if !payloadChecked { try entry.shape.validate(data, at: "data") }
        let id = data[entry.idField]?.stringValue ?? ""
        guard Self.stream(event.stream, is: entry.category, id) else {
            throw Rejection(
                field: "stream",
                reason: "must be \(entry.category)-\(id) for a \(event.type) about \(entry.idField) \(Check.quoted(id)) (found \(Check.quoted(event.stream)))")
        }
        switch entry.kind {
        case .competitionAnnounced:
            guard competitions[id] == nil else {
                throw Rejection(field: "data.competitionId", reason: "competition \(id) is already announced; a competition is announced once")
            }

        case .submissionDeadlineExtended:
            let competition = try self.competition(id, field: "data.competitionId")
            let day = Self.day(data["submissionDeadline"])
            guard day > competition.deadlineDay else {
                throw Rejection(
                    field: "data.submissionDeadline",
                    reason: "must be later than the current deadline \(Self.dateText(day: competition.deadlineDay)) of competition \(id)")
            }

        case .winnersAnnounced:
            let competition = try self.competition(id, field: "data.competitionId")
            let theme = data["themeCode"]?.stringValue ?? ""
            try Self.requireTheme(theme, of: competition, id, field: "data.themeCode")
            guard !competition.closedThemes.contains(theme) else {
                throw Rejection(field: "data.themeCode", reason: "the winners of theme \(theme) of competition \(id) are already announced")
            }
            for (i, winner) in (data["winners"]?.arrayValue ?? []).enumerated() {
                let sid = winner["submissionId"]?.stringValue ?? ""
                let field = "data.winners[\(i)].submissionId"
                guard let submission = submissions[sid] else {
                    throw Rejection(field: field, reason: "no submission \(sid) has been filed")
                }
                guard submission.competitionId == id, submission.themeCode == theme else {
                    throw Rejection(
                        field: field,
                        reason: "submission \(sid) was filed in competition \(submission.competitionId) theme \(submission.themeCode), not in competition \(id) theme \(theme)")
                }
                guard !submission.withdrawn else {
                    throw Rejection(field: field, reason: "submission \(sid) is withdrawn")
                }
            }

        case .submissionFiled:
            guard submissions[id] == nil else {
                throw Rejection(field: "data.submissionId", reason: "submission \(id) is already filed; a submission id is filed once")
            }
            let cid = data["competitionId"]?.stringValue ?? ""
            let competition = try self.competition(cid, field: "data.competitionId")
            try Self.requireTheme(data["themeCode"]?.stringValue ?? "", of: competition, cid, field: "data.themeCode")
            try requireCommunity(data["communityId"]?.stringValue ?? "", field: "data.communityId")
            // on or before the end of the deadline day (UTC): before the next day starts
            guard event.occurredAt.milliseconds < Int64(competition.deadlineDay + 1) * 86_400_000 else {
                throw Rejection(
                    field: "occurredAt",
                    reason: "\(event.occurredAt.rfc3339) is after the submission deadline of competition \(cid): \(Self.dateText(day: competition.deadlineDay)) (end of the day, UTC)")
            }

        case .submissionAmended:
            _ = try submission(id)

        case .submissionWithdrawn:
            guard !(try submission(id)).withdrawn else {
                throw Rejection(field: "data.submissionId", reason: "submission \(id) is already withdrawn")
            }

        case .juryScoreAdded:
            let submission = try self.submission(id)
            guard !submission.withdrawn else {
                throw Rejection(field: "data.submissionId", reason: "submission \(id) is withdrawn; it cannot be scored")
            }
            let competition = try self.competition(submission.competitionId, field: "data.submissionId")
            guard !competition.closedThemes.contains(submission.themeCode) else {
                throw Rejection(
                    field: "data.submissionId",
                    reason: "the winners of theme \(submission.themeCode) of competition \(submission.competitionId) are announced; its scoring is closed")
            }
            try Self.checkScores(data["scores"]?.objectValue ?? [:], against: competition, submission.competitionId)

        case .juryScoreRetracted:
            let submission = try self.submission(id)
            let juror = data["jurorId"]?.stringValue ?? ""
            guard submission.jurors.contains(juror) else {
                throw Rejection(field: "data.jurorId", reason: "juror \(juror) has no current score on submission \(id)")
            }

        case .communityRegistered:
            guard communities[id] == nil else {
                throw Rejection(field: "data.communityId", reason: "community \(id) is already registered; a community is registered once")
            }

        case .communityJoinedNetwork:
            try requireCommunity(id, field: "data.communityId")
            guard communities[id] != true else {
                throw Rejection(field: "data.communityId", reason: "community \(id) is already in the network")
            }

        case .communityLeftNetwork:
            try requireCommunity(id, field: "data.communityId")
            guard communities[id] == true else {
                throw Rejection(field: "data.communityId", reason: "community \(id) is not in the network")
            }

        case .seminarHeld:
            guard !seminars.contains(id) else {
                throw Rejection(field: "data.seminarId", reason: "seminar \(id) is already recorded; a seminar is recorded once")
            }
            for (i, community) in (data["communityIds"]?.arrayValue ?? []).enumerated() {
                try requireCommunity(community.stringValue ?? "", field: "data.communityIds[\(i)]")
            }

        case .practicePublished:
            if let published = practices[id] {
                throw Rejection(
                    field: "data.practiceId",
                    reason: published
                        ? "practice \(id) is already published; a practice is published once"
                        : "practice \(id) was published and then unpublished; a practice id is published once (publish it under a new id)")
            }
            try requireCommunity(data["communityId"]?.stringValue ?? "", field: "data.communityId")

        case .practiceRevised, .practiceUnpublished:
            guard let published = practices[id] else {
                throw Rejection(field: "data.practiceId", reason: "practice \(id) has not been published")
            }
            guard published else {
                throw Rejection(field: "data.practiceId", reason: "practice \(id) is unpublished")
            }
        }
    }

    // MARK: rule helpers

    /// Whether `stream` is exactly `category-id`, without building the string.
    static func stream(_ stream: String, is category: String, _ id: String) -> Bool {
        let s = stream.utf8
        let c = category.utf8
        let i = id.utf8
        guard s.count == c.count + 1 + i.count else { return false }
        var it = s.makeIterator()
        for b in c where it.next() != b { return false }
        guard it.next() == UInt8(ascii: "-") else { return false }
        for b in i where it.next() != b { return false }
        return true
    }

    private func competition(_ id: String, field: String) throws(Rejection) -> Competition {
        guard let competition = competitions[id] else {
            throw Rejection(field: field, reason: "no competition \(id) has been announced")
        }
        return competition
    }

    private func submission(_ id: String) throws(Rejection) -> Submission {
        guard let submission = submissions[id] else {
            throw Rejection(field: "data.submissionId", reason: "no submission \(id) has been filed")
        }
        return submission
    }

    private func requireCommunity(_ id: String, field: String) throws(Rejection) {
        guard communities[id] != nil else {
            throw Rejection(field: field, reason: "community \(id) is not registered")
        }
    }

    private static func requireTheme(_ theme: String, of competition: Competition, _ id: String, field: String) throws(Rejection) {
        guard competition.themes.contains(theme) else {
            throw Rejection(
                field: field,
                reason: "competition \(id) has no theme \(theme) (its themes: \(competition.themes.joined(separator: ", ")))")
        }
    }

    /// Every criterion scored, within `0...maxPoints`, and nothing else.
    private static func checkScores(_ scores: [String: JSONValue], against competition: Competition, _ id: String) throws(Rejection) {
        for criterion in competition.criteria {
            guard let value = scores[criterion.code] else {
                throw Rejection(
                    field: "data.scores.\(criterion.code)",
                    reason: "is missing: every criterion of competition \(id) must be scored (\(competition.criteria.map(\.code).joined(separator: ", ")))")
            }
            let points = value.intValue ?? -1  // the payload check made it an integer >= 0
            guard points <= criterion.maxPoints else {
                throw Rejection(
                    field: "data.scores.\(criterion.code)",
                    reason: "\(points) points is above the criterion's maximum of \(criterion.maxPoints)")
            }
        }
        if scores.count != competition.criteria.count {
            let unknown = scores.keys.filter { code in !competition.criteria.contains { $0.code == code } }.sorted()
            if let code = unknown.first {
                throw Rejection(
                    field: "data.scores.\(code)",
                    reason: "is not a criterion of competition \(id) (its criteria: \(competition.criteria.map(\.code).joined(separator: ", ")))")
            }
        }
    }

    static func day(_ value: JSONValue?) -> Int {
        // an unreadable date (only from unchecked log data) counts as long ago, without overflow later
        guard case .string(let s)? = value, let d = Timestamp.parseDate(s) else { return Int(Int32.min) }
        return Timestamp.daysFromCivil(year: d.year, month: d.month, day: d.day)
    }

    // MARK: - apply

    /// Folds an event into the state. Assumes it was checked, or comes from the log (where an
    /// operator may have recorded an unchecked event): odd data never traps; whatever cannot be
    /// understood is ignored. Unknown types are ignored.
    public mutating func apply(type: String, stream: String, occurredAt: Timestamp, data: [String: JSONValue]) {
        var none: Rollback? = nil
        apply(type: type, stream: stream, occurredAt: occurredAt, data: data, recordingInto: &none)
    }

    /// Folds an event into the state, first noting in `rollback` (when there is one) what it
    /// changes, so that the request it belongs to can be undone.
    package mutating func apply(
        type: String, stream: String, occurredAt: Timestamp, data: [String: JSONValue], recordingInto rollback: inout Rollback?
    ) {
        guard let entry = EventCatalog.entries[type], case .string(let id)? = data[entry.idField] else { return }
        rollback?.willChange(entry.kind, id: id, in: self)
        switch entry.kind {
        case .competitionAnnounced:
            var themes: [String] = []
            for theme in data["themes"]?.arrayValue ?? [] {
                if let code = theme["code"]?.stringValue, !themes.contains(code) { themes.append(code) }
            }
            var criteria: [Criterion] = []
            for criterion in data["criteria"]?.arrayValue ?? [] {
                if let code = criterion["code"]?.stringValue, !criteria.contains(where: { $0.code == code }) {
                    criteria.append(Criterion(code: code, maxPoints: criterion["maxPoints"]?.intValue ?? 0))
                }
            }
            // a repeated announcement (only through an override) replaces the definition
            competitions[id] = Competition(
                themes: themes, criteria: criteria, deadlineDay: Self.day(data["submissionDeadline"]),
                closedThemes: competitions[id]?.closedThemes ?? [])

        case .submissionDeadlineExtended:
            guard case .string(let s)? = data["submissionDeadline"], Timestamp.parseDate(s) != nil else { return }
            competitions[id]?.deadlineDay = Self.day(data["submissionDeadline"])

        case .winnersAnnounced:
            guard let theme = data["themeCode"]?.stringValue,
                competitions[id]?.closedThemes.contains(theme) == false
            else { return }
            competitions[id]?.closedThemes.append(theme)

        case .submissionFiled:
            // a repeated filing (only through an override) starts the submission afresh
            submissions[id] = Submission(
                competitionId: data["competitionId"]?.stringValue ?? "", themeCode: data["themeCode"]?.stringValue ?? "",
                withdrawn: false, jurors: [])

        case .submissionAmended:
            break

        case .submissionWithdrawn:
            submissions[id]?.withdrawn = true

        case .juryScoreAdded:
            guard let juror = data["jurorId"]?.stringValue, submissions[id]?.jurors.contains(juror) == false else { return }
            submissions[id]?.jurors.append(juror)

        case .juryScoreRetracted:
            guard let juror = data["jurorId"]?.stringValue else { return }
            submissions[id]?.jurors.removeAll { $0 == juror }

        case .communityRegistered:
            if communities[id] == nil { communities[id] = false }

        case .communityJoinedNetwork:
            if communities[id] != nil { communities[id] = true }

        case .communityLeftNetwork:
            if communities[id] != nil { communities[id] = false }

        case .seminarHeld:
            seminars.insert(id)

        case .practicePublished:
            practices[id] = true

        case .practiceRevised:
            break

        case .practiceUnpublished:
            if practices[id] != nil { practices[id] = false }
        }
    }

    /// Folds a recorded event.
    public mutating func apply(_ event: RecordedEvent) {
        apply(type: event.type, stream: event.stream, occurredAt: event.occurredAt, data: event.data)
    }
}

extension DomainState {
    /// The state as JSON of the same shape as its `Codable` encoding (so `JSONDecoder` reads it
    /// back), written straight into bytes: `JSONEncoder` builds a tree of the whole state first,
    /// several times the size of its output, which for millions of events is the peak of an
    /// import's memory. Keys are sorted, so equal states give equal bytes.
    public func encodedJSON() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + submissions.count * 64 + (communities.count + practices.count + seminars.count) * 24)
        func string(_ s: String) { JSONValue.writeString(s, into: &out) }
        func strings(_ list: some Sequence<String>) {
            out.append(UInt8(ascii: "["))
            for (n, s) in list.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                string(s)
            }
            out.append(UInt8(ascii: "]"))
        }
        func bool(_ b: Bool) { out.append(contentsOf: (b ? "true" : "false").utf8) }
        func int(_ i: some BinaryInteger) { out.append(contentsOf: String(i).utf8) }
        func object<V>(_ members: [String: V], _ value: (V) -> Void) {
            out.append(UInt8(ascii: "{"))
            for (n, key) in members.keys.sorted().enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                string(key)
                out.append(UInt8(ascii: ":"))
                value(members[key]!)
            }
            out.append(UInt8(ascii: "}"))
        }
        func key(_ k: String, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            string(k)
            out.append(UInt8(ascii: ":"))
        }
        out.append(UInt8(ascii: "{"))
        key("competitions", first: true)
        object(competitions) { c in
            out.append(UInt8(ascii: "{"))
            key("themes", first: true)
            strings(c.themes)
            key("criteria")
            out.append(UInt8(ascii: "["))
            for (n, criterion) in c.criteria.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "{"))
                key("code", first: true)
                string(criterion.code)
                key("maxPoints")
                int(criterion.maxPoints)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
            key("deadlineDay")
            int(c.deadlineDay)
            key("closedThemes")
            strings(c.closedThemes)
            out.append(UInt8(ascii: "}"))
        }
        key("submissions")
        object(submissions) { s in
            out.append(UInt8(ascii: "{"))
            key(Submission.CodingKeys.competitionId.rawValue, first: true)
            string(s.competitionId)
            key(Submission.CodingKeys.themeCode.rawValue)
            string(s.themeCode)
            key(Submission.CodingKeys.withdrawn.rawValue)
            bool(s.withdrawn)
            key(Submission.CodingKeys.jurors.rawValue)
            strings(s.jurors)
            out.append(UInt8(ascii: "}"))
        }
        key("communities")
        object(communities, bool)
        key("seminars")
        strings(seminars.sorted())
        key("practices")
        object(practices, bool)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

extension DomainState {
    /// How a writer puts the state back as it was when a request began, should the request be
    /// abandoned — without copying the whole state when it begins.
    ///
    /// Keeping a copy of the state per request (what the writer did) costs nothing on its own,
    /// the dictionaries being shared, but the request's first event then changes one of them,
    /// and a shared dictionary is copied whole before it changes: every small append paid for
    /// every submission ever filed (a third of an HTTP append at 450,000 events). So a request
    /// keeps instead each entry its events change, as it was before. A request of more than
    /// ``journalLimit`` events (an import) switches to a copy: the entries are undone on a copy
    /// of the state then, once, which costs what the copy always cost, and memory stays bounded.
    package struct Rollback {
        enum Entry {
            case competition(String, Competition?)
            case submission(String, Submission?)
            case community(String, Bool?)
            case seminar(String, wasHeld: Bool)
            case practice(String, Bool?)
        }

        static let journalLimit = 4096

        private var entries: [Entry] = []
        /// The state when the request began, once the entries are too many to keep.
        private var copy: DomainState?

        package init() {}

        /// Notes the entry an event of `kind` about `id` is about to change in `state`.
        mutating func willChange(_ kind: EventKind, id: String, in state: DomainState) {
            guard copy == nil else { return }
            switch kind {
            case .competitionAnnounced, .submissionDeadlineExtended, .winnersAnnounced:
                entries.append(.competition(id, state.competitions[id]))
            case .submissionFiled, .submissionWithdrawn, .juryScoreAdded, .juryScoreRetracted:
                entries.append(.submission(id, state.submissions[id]))
            case .communityRegistered, .communityJoinedNetwork, .communityLeftNetwork:
                entries.append(.community(id, state.communities[id]))
            case .seminarHeld:
                entries.append(.seminar(id, wasHeld: state.seminars.contains(id)))
            case .practicePublished, .practiceUnpublished:
                entries.append(.practice(id, state.practices[id]))
            case .submissionAmended, .practiceRevised:
                break
            }
            if entries.count > Self.journalLimit {
                var before = state
                Self.undo(entries, in: &before)
                copy = before
                entries = []
            }
        }

        /// `state` as it was when the request began.
        package func restore(_ state: inout DomainState) {
            if let copy {
                state = copy
            } else {
                Self.undo(entries, in: &state)
            }
        }

        private static func undo(_ entries: [Entry], in state: inout DomainState) {
            for entry in entries.reversed() {
                switch entry {
                case .competition(let id, let old): state.competitions[id] = old
                case .submission(let id, let old): state.submissions[id] = old
                case .community(let id, let old): state.communities[id] = old
                case .seminar(let id, let wasHeld): if !wasHeld { state.seminars.remove(id) }
                case .practice(let id, let old): state.practices[id] = old
                }
            }
        }
    }
}
