import Foundation
import Testing
import TestSupport

@testable import Events

/// The audit trail (`StreamHistory`) over streams of the sample history: the facts it returns.
/// Expected values are computed here from the raw JSON lines with Foundation's parser, not through
/// the code under test. (The sentences made from these facts: `RenderingTests/HistoryTextTests`.)
struct StreamHistoryTests {
    @Test func anAmendmentShowsTheFiledTitleBeforeAndTheNewTitleAfter() throws {
        // The first submission of the sample with an amendment.
        let all = try Sample.rawLines()
        let amendment = try #require(all.first { $0.raw["type"] as? String == "SubmissionAmended" })
        let stream = try #require(amendment.raw["stream"] as? String)
        let raw = try Sample.rawEvents(stream: stream)
        let filed = try #require(raw.first { $0.raw["type"] as? String == "SubmissionFiled" })
        let changes = try #require(Sample.data(amendment.raw)["changes"] as? [String: Any])
        #expect(changes.keys.sorted() == ["title"], "the sample's amendment changes the title only")
        let before = try #require(Sample.data(filed.raw)["title"] as? String)
        let after = try #require(changes["title"] as? String)
        #expect(before != after)

        let events = try Sample.recorded(stream: stream)
        let entries = StreamHistory.build(events: events)
        #expect(entries.count == raw.count)
        #expect(entries.map(\.id) == events.map(\.id))
        #expect(entries.map(\.hash) == events.map(\.hash))
        #expect(entries.allSatisfy { $0.json["id"]?.stringValue == $0.id.uuidString.lowercased() && $0.json["hash"] != nil })
        #expect(entries.map(\.position) == raw.map { Int64($0.line) })
        #expect(entries.map(\.version) == Array(0..<Int64(raw.count)))
        let entry = try #require(entries.first { $0.position == Int64(amendment.line) })
        #expect(entry.type == "SubmissionAmended")
        #expect(entry.actor == (amendment.raw["metadata"] as? [String: Any])?["actor"] as? String)
        #expect(entry.recordedAt.rfc3339 == amendment.raw["recordedAt"] as? String)
        #expect(entry.occurredAt.rfc3339 == amendment.raw["occurredAt"] as? String)
        #expect(entry.changes == [StreamHistory.Change(field: "title", before: .string(before), after: .string(after))])
        #expect(entry.kind == .submissionAmended)
        #expect(entry.details["fields"] == ["title"])
        // the filing itself changes no field
        #expect(entries.first?.type == "SubmissionFiled")
        #expect(entries.first?.changes.isEmpty == true)
    }

    @Test func aRevisionShowsThePublishedSummaryBeforeAndTheRevisedAfter() throws {
        let all = try Sample.rawLines()
        let revision = try #require(all.first { $0.raw["type"] as? String == "PracticeRevised" })
        let stream = try #require(revision.raw["stream"] as? String)
        let published = try #require(try Sample.rawEvents(stream: stream).first { $0.raw["type"] as? String == "PracticePublished" })
        let changes = try #require(Sample.data(revision.raw)["changes"] as? [String: Any])

        let entries = StreamHistory.build(events: try Sample.recorded(stream: stream))
        let entry = try #require(entries.first { $0.position == Int64(revision.line) })
        #expect(entry.changes.map(\.field) == changes.keys.sorted())
        for change in entry.changes {
            let before = Sample.data(published.raw)[change.field] as? String
            let after = changes[change.field] as? String
            #expect(change.before?.stringValue == before)
            #expect(change.after?.stringValue == after)
            #expect(before != nil && after != nil && before != after)
        }
    }

    @Test func laterAmendmentsSeeTheEarlierOnesAsBefore() {
        let t = Timestamp(milliseconds: 1_600_000_000_000)
        func event(_ version: Int64, _ type: String, _ data: [String: JSONValue], actor: String? = "clerk") -> RecordedEvent {
            RecordedEvent(
                position: 10 + version, id: UUID(), stream: "submission-s1", version: version, type: type, occurredAt: t,
                recordedAt: t, data: data, metadata: actor.map { ["actor": .string($0)] } ?? [:], hash: "")
        }
        let entries = StreamHistory.build(events: [
            event(0, "SubmissionFiled", ["submissionId": "s1", "title": "A", "risks": "R", "period": ["from": "2019-01"]]),
            event(1, "SubmissionAmended", ["submissionId": "s1", "changes": ["title": "B", "problem": "P"]]),
            event(2, "SubmissionAmended", ["submissionId": "s1", "changes": ["title": "C", "period": ["from": "2019-02"]]], actor: nil),
        ])
        #expect(entries[1].changes == [
            .init(field: "title", before: "A", after: "B"),
            .init(field: "problem", before: nil, after: "P"),
        ])
        #expect(entries[2].changes == [
            .init(field: "title", before: "B", after: "C"),
            .init(field: "period", before: ["from": "2019-01"], after: ["from": "2019-02"]),
        ])
        #expect(entries[2].actor == nil)
        // absent values are JSON null in the document
        let json = entries[1].json
        #expect(json["changes"]?.arrayValue?[1]["before"] == .null)
        #expect(json["actor"] == "clerk")
        #expect(entries[2].json["actor"] == .null)
    }

    @Test func aReScoreShowsThePreviousAndTheNewTotal() throws {
        // The first (submission, juror) pair of the sample scored twice, totals summed from the raw JSON.
        var firstTotal: [String: (line: Int, total: Int)] = [:]
        var found: (stream: String, juror: String, firstLine: Int, first: Int, line: Int, second: Int)?
        for (line, _, raw) in try Sample.rawLines() where raw["type"] as? String == "JuryScoreAdded" {
            let data = Sample.data(raw)
            let key = "\(raw["stream"] as! String) \(data["jurorId"] as! String)"
            let total = (data["scores"] as! [String: Any]).values.reduce(0) { $0 + ($1 as! NSNumber).intValue }
            if let earlier = firstTotal[key] {
                found = (raw["stream"] as! String, data["jurorId"] as! String, earlier.line, earlier.total, line, total)
                break
            }
            firstTotal[key] = (line, total)
        }
        let rescore = try #require(found)
        let entries = StreamHistory.build(events: try Sample.recorded(stream: rescore.stream))
        let first = try #require(entries.first { $0.position == Int64(rescore.firstLine) })
        #expect(first.details["jurorId"] == .string(rescore.juror))
        #expect(first.details["total"] == .int(Int64(rescore.first)))
        #expect(first.details["previousTotal"] == .null)
        #expect(first.details["rescore"] == false)
        let second = try #require(entries.first { $0.position == Int64(rescore.line) })
        #expect(second.details["total"] == .int(Int64(rescore.second)))
        #expect(second.details["previousTotal"] == .int(Int64(rescore.first)))
        #expect(second.details["rescore"] == true)
        #expect(second.changes.isEmpty)
    }

    @Test func aRetractionShowsTheRetractedTotal() throws {
        let all = try Sample.rawLines()
        let retraction = try #require(all.first { $0.raw["type"] as? String == "JuryScoreRetracted" })
        let stream = try #require(retraction.raw["stream"] as? String)
        let juror = try #require(Sample.data(retraction.raw)["jurorId"] as? String)
        // the juror's last score before the retraction, from the raw lines
        let lastScore = try #require(
            try Sample.rawEvents(stream: stream).last {
                $0.line < retraction.line && $0.raw["type"] as? String == "JuryScoreAdded"
                    && Sample.data($0.raw)["jurorId"] as? String == juror
            })
        let total = (Sample.data(lastScore.raw)["scores"] as! [String: Any]).values.reduce(0) { $0 + ($1 as! NSNumber).intValue }

        let entries = StreamHistory.build(events: try Sample.recorded(stream: stream))
        let entry = try #require(entries.first { $0.position == Int64(retraction.line) })
        #expect(entry.details["retractedTotal"] == .int(Int64(total)))
        #expect(entry.details["reason"]?.stringValue == Sample.data(retraction.raw)["reason"] as? String)
        #expect(entry.details["jurorId"] == .string(juror))
        #expect(entry.details["hadScore"] == true)
    }

    @Test func otherEventsKeepTheirFacts() throws {
        let all = try Sample.rawLines()
        let withdrawal = try #require(all.first { $0.raw["type"] as? String == "SubmissionWithdrawn" })
        let stream = try #require(withdrawal.raw["stream"] as? String)
        let entry = try #require(StreamHistory.build(events: try Sample.recorded(stream: stream)).last)
        #expect(entry.type == "SubmissionWithdrawn")
        #expect(entry.details["reason"]?.stringValue == Sample.data(withdrawal.raw)["reason"] as? String)

        let left = try #require(all.first { $0.raw["type"] as? String == "CommunityLeftNetwork" })
        let community = StreamHistory.build(events: try Sample.recorded(stream: left.raw["stream"] as! String))
        #expect(community.first?.type == "CommunityRegistered")
        let joined = try #require(community.first { $0.type == "CommunityJoinedNetwork" })
        #expect(joined.details["rejoined"] == false)
        let leftEntry = try #require(community.first { $0.position == Int64(left.line) })
        #expect(leftEntry.details["reason"]?.stringValue == Sample.data(left.raw)["reason"] as? String)
        #expect(community.allSatisfy { $0.kind != nil && $0.changes.isEmpty })
    }

    @Test func aDeadlineExtensionShowsTheOldAndTheNewDeadline() {
        let t = Timestamp(milliseconds: 1_590_000_000_000)
        func event(_ version: Int64, _ type: String, _ data: [String: JSONValue]) -> RecordedEvent {
            RecordedEvent(
                position: version + 1, id: UUID(), stream: "competition-c1", version: version, type: type, occurredAt: t,
                recordedAt: t, data: data, metadata: [:], hash: "")
        }
        let entries = StreamHistory.build(events: [
            event(0, "CompetitionAnnounced", [
                "competitionId": "c1", "title": "Кращі практики", "year": 2020, "submissionDeadline": "2020-08-25",
                "themes": [["code": "1", "title": "Влада та громада"]], "criteria": [["code": "r", "title": "R", "maxPoints": 10]],
                "minJurors": 3,
            ]),
            event(1, "SubmissionDeadlineExtended", ["competitionId": "c1", "submissionDeadline": "2020-09-15"]),
            event(2, "SubmissionDeadlineExtended", ["competitionId": "c1", "submissionDeadline": "2020-09-30"]),
            event(3, "WinnersAnnounced", ["competitionId": "c1", "themeCode": "1", "winners": [["submissionId": "s1", "place": 1, "award": "диплом I ступеня"]]]),
        ])
        #expect(entries[1].changes == [.init(field: "submissionDeadline", before: "2020-08-25", after: "2020-09-15")])
        #expect(entries[2].changes == [.init(field: "submissionDeadline", before: "2020-09-15", after: "2020-09-30")])
        #expect(entries[0].details["themeCount"] == 1 && entries[0].details["criterionCount"] == 1)
        #expect(entries[2].details["before"] == "2020-09-15" && entries[2].details["after"] == "2020-09-30")
        #expect(entries[3].details["themeCode"] == "1" && entries[3].details["themeTitle"] == "Влада та громада")
        #expect(entries[3].details["winners"]?.arrayValue?.first?["submissionId"] == "s1")
        #expect(entries.allSatisfy { $0.actor == nil })
    }

    @Test func entriesRoundTripThroughCodable() throws {
        let stream = try #require(try Sample.rawLines().first { $0.raw["type"] as? String == "SubmissionAmended" }?.raw["stream"] as? String)
        let entries = StreamHistory.build(events: try Sample.recorded(stream: stream))
        let encoded = try JSONEncoder().encode(entries)
        #expect(try JSONDecoder().decode([StreamHistory.Entry].self, from: encoded) == entries)
        // the Codable form and the canonical document agree on the keys and values
        let viaCodable = try JSONParser.parse(String(decoding: encoded, as: UTF8.self))
        #expect(viaCodable == .array(entries.map(\.json)))
    }

    @Test func factsForTheSentences() {
        let t = Timestamp(milliseconds: 1_600_000_000_000)
        func event(_ version: Int64, _ stream: String, _ type: String, _ data: [String: JSONValue]) -> RecordedEvent {
            RecordedEvent(
                position: version + 1, id: UUID(), stream: stream, version: version, type: type, occurredAt: t,
                recordedAt: t, data: data, metadata: [:], hash: "")
        }
        // a score after the withdrawal says so; a retraction without a current score too
        let submission = StreamHistory.build(events: [
            event(0, "submission-s1", "SubmissionFiled", ["submissionId": "s1", "title": "A"]),
            event(1, "submission-s1", "JuryScoreAdded", ["jurorId": "j1", "scores": ["r": 4, "q": 3]]),
            event(2, "submission-s1", "SubmissionWithdrawn", ["reason": "дубль"]),
            event(3, "submission-s1", "JuryScoreAdded", ["jurorId": "j2", "scores": ["r": 5]]),
            event(4, "submission-s1", "JuryScoreRetracted", ["jurorId": "j3"]),
        ])
        #expect(submission[1].details["submissionWithdrawn"] == false && submission[1].details["total"] == 7)
        #expect(submission[3].details["submissionWithdrawn"] == true)
        #expect(submission[4].details["hadScore"] == false && submission[4].details["retractedTotal"] == .null)
        #expect(submission[4].details["reason"] == nil)
        // leaving and joining again is a re-join
        let community = StreamHistory.build(events: [
            event(0, "community-c1", "CommunityRegistered", ["communityId": "c1", "name": "Громада"]),
            event(1, "community-c1", "CommunityJoinedNetwork", ["sectors": ["освіта"]]),
            event(2, "community-c1", "CommunityLeftNetwork", [:]),
            event(3, "community-c1", "CommunityJoinedNetwork", ["directions": ["енергоефективність"]]),
        ])
        #expect(community.map { $0.details["rejoined"] } == [nil, false, nil, true])
        #expect(community[1].details["sectors"] == ["освіта"])
        // an unknown type keeps its payload
        let unknown = StreamHistory.build(events: [event(0, "other-x", "SomethingNew", ["a": 1])])
        #expect(unknown[0].kind == nil)
        #expect(unknown[0].details == ["payload": ["a": 1]])
    }
}
