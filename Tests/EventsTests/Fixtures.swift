import Foundation
import Testing
import TestSupport

@testable import Events

/// Shared test data: the sample history's state and a small hand-built world (the sample files
/// themselves: `TestPaths`, `Sample` in TestSupport).
enum Fixtures {
    /// The sample history, decoded, checked and applied in order.
    static func sampleState() throws -> DomainState {
        var state = DomainState()
        for line in try Sample.lines() {
            let event = try EventCodec.decodeProposed(line: line)
            try state.check(event)
            state.apply(type: event.type, stream: event.stream, occurredAt: event.occurredAt, data: event.data)
        }
        return state
    }

    static func timestamp(_ text: String) -> Timestamp {
        guard let t = Timestamp(rfc3339: text) else { fatalError("bad timestamp in a test: \(text)") }
        return t
    }

    static func event(_ type: String, _ stream: String, at: String = "2020-05-01T10:00:00Z", _ data: [String: JSONValue]) -> ProposedEvent {
        ProposedEvent(stream: stream, type: type, occurredAt: timestamp(at), data: data)
    }

    // MARK: payloads

    static func community(_ id: String, oblast: String = "UA-32") -> [String: JSONValue] {
        [
            "communityId": .string(id), "name": "Славутицька міська громада", "oblast": .string(oblast), "kind": "urban",
            "settlements": 1, "population": 25096, "council": ["name": "Славутицька міська рада", "email": "info@example.gov.ua"],
        ]
    }

    static func competition(_ id: String = "c1", deadline: String = "2020-08-25") -> [String: JSONValue] {
        [
            "competitionId": .string(id), "title": "Кращі практики місцевого самоврядування 2020", "year": 2020,
            "themes": [["code": "1", "title": "Влада та громада"], ["code": "2", "title": "Освітні послуги"]],
            "criteria": [
                ["code": "relevance", "title": "Актуальність", "maxPoints": 10],
                ["code": "innovation", "title": "Інноваційність", "maxPoints": 5],
            ],
            "submissionDeadline": .string(deadline), "minJurors": 3,
        ]
    }

    static func submission(_ id: String, competition: String = "c1", theme: String = "1", community: String = "a") -> [String: JSONValue] {
        [
            "submissionId": .string(id), "competitionId": .string(competition), "themeCode": .string(theme),
            "communityId": .string(community), "title": "Громадський бюджет", "sector": "governance",
            "directions": ["budget-process"], "participationForms": ["informing", "dialogue"],
            "period": ["from": "2019-03"], "problem": "Низька участь мешканців.", "activities": "Запровадили бюджет участі.",
            "results": "Понад 3000 голосів.", "risks": "Втома від участі.",
            "budget": ["totalUAH": 150000, "sources": ["місцевий бюджет"]], "links": ["https://example.gov.ua/p/1"],
        ]
    }

    static func score(_ submission: String, juror: String, relevance: Int64 = 7, innovation: Int64 = 4) -> [String: JSONValue] {
        ["submissionId": .string(submission), "jurorId": .string(juror), "scores": ["relevance": .int(relevance), "innovation": .int(innovation)]]
    }

    static func practice(_ id: String, community: String = "a") -> [String: JSONValue] {
        [
            "practiceId": .string(id), "communityId": .string(community), "title": "Бюджет участі", "sector": "governance",
            "directions": ["budget-process"], "participationForms": ["consultation"], "summary": "Коротко.",
            "body": "Докладно про бюджет участі.", "tags": ["бюджет"],
        ]
    }
}

/// A state with events appended through `check` then `apply`, as the store does.
struct World {
    var state = DomainState()

    /// Checks and applies; records the issue when the event is rejected.
    mutating func append(_ event: ProposedEvent, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try state.check(event)
            state.apply(type: event.type, stream: event.stream, occurredAt: event.occurredAt, data: event.data)
        } catch {
            Issue.record("unexpected rejection of \(event.type): \(error)", sourceLocation: sourceLocation)
        }
    }

    mutating func append(_ type: String, _ stream: String, at: String = "2020-05-01T10:00:00Z", _ data: [String: JSONValue], sourceLocation: SourceLocation = #_sourceLocation) {
        append(Fixtures.event(type, stream, at: at, data), sourceLocation: sourceLocation)
    }

    /// The rejection of an event, or `nil` when it passes.
    func rejection(_ event: ProposedEvent) -> Rejection? {
        do {
            try state.check(event)
            return nil
        } catch {
            return error
        }
    }

    func rejection(_ type: String, _ stream: String, at: String = "2020-05-01T10:00:00Z", _ data: [String: JSONValue]) -> Rejection? {
        rejection(Fixtures.event(type, stream, at: at, data))
    }

    /// Communities `a` and `b`, competition `c1` (themes 1, 2; criteria relevance ≤ 10,
    /// innovation ≤ 5; deadline 2020-08-25).
    static func basic() -> World {
        var w = World()
        w.append("CommunityRegistered", "community-a", Fixtures.community("a"))
        w.append("CommunityRegistered", "community-b", Fixtures.community("b", oblast: "UA-53"))
        w.append("CompetitionAnnounced", "competition-c1", at: "2020-04-01T10:00:00Z", Fixtures.competition())
        return w
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// A copy with `key` set.
    func with(_ key: String, _ value: JSONValue) -> [String: JSONValue] {
        var copy = self
        copy[key] = value
        return copy
    }

    /// A copy without `key`.
    func without(_ key: String) -> [String: JSONValue] {
        var copy = self
        copy.removeValue(forKey: key)
        return copy
    }
}
