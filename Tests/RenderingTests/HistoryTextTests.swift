import Events
import Foundation
import Testing
import TestSupport

@testable import Rendering

/// The sentences and the text of a stream's audit trail (`HistoryText`, `HistoryDocument`), made
/// from the facts `StreamHistory` returns: over streams of the sample history (expected values
/// from the raw JSON lines) and over made-up streams, one sentence for each kind of event.
struct HistoryTextTests {
    static func summaries(_ events: [RecordedEvent]) -> [String] {
        StreamHistory.build(events: events).map(HistoryText.summary(of:))
    }

    @Test func anAmendmentNamesTheChangedFields() throws {
        let amendment = try #require(try Sample.first("SubmissionAmended"))
        let stream = try #require(amendment.raw["stream"] as? String)
        let entries = StreamHistory.build(events: try Sample.recorded(stream: stream))
        let entry = try #require(entries.first { $0.position == Int64(amendment.line) })
        #expect(HistoryText.summary(of: entry) == "submission amended: title")
    }

    @Test func aReScoreShowsThePreviousAndTheNewTotal() throws {
        var firstTotal: [String: Int] = [:]
        var found: (stream: String, juror: String, line: Int, first: Int, second: Int)?
        for (line, _, raw) in try Sample.rawLines() where raw["type"] as? String == "JuryScoreAdded" {
            let data = Sample.data(raw)
            let key = "\(raw["stream"] as! String) \(data["jurorId"] as! String)"
            let total = (data["scores"] as! [String: Any]).values.reduce(0) { $0 + ($1 as! NSNumber).intValue }
            if let earlier = firstTotal[key] {
                found = (raw["stream"] as! String, data["jurorId"] as! String, line, earlier, total)
                break
            }
            firstTotal[key] = total
        }
        let rescore = try #require(found)
        let entries = StreamHistory.build(events: try Sample.recorded(stream: rescore.stream))
        let second = try #require(entries.first { $0.position == Int64(rescore.line) })
        let summary = HistoryText.summary(of: second)
        #expect(summary.hasPrefix("juror \(rescore.juror) re-scored: \(rescore.first) → \(rescore.second) point"))
    }

    @Test func retractionsWithdrawalsAndTheNetworkNameTheirFacts() throws {
        let retraction = try #require(try Sample.first("JuryScoreRetracted"))
        let juror = try #require(Sample.data(retraction.raw)["jurorId"] as? String)
        let trail = StreamHistory.build(events: try Sample.recorded(stream: retraction.raw["stream"] as! String))
        let retracted = try #require(trail.first { $0.position == Int64(retraction.line) })
        #expect(HistoryText.summary(of: retracted).hasPrefix("juror \(juror) retracted their score ("))

        let withdrawal = try #require(try Sample.first("SubmissionWithdrawn"))
        let withdrawn = try #require(Self.summaries(try Sample.recorded(stream: withdrawal.raw["stream"] as! String)).last)
        #expect(withdrawn == "submission withdrawn: " + (Sample.data(withdrawal.raw)["reason"] as! String))

        let left = try #require(try Sample.first("CommunityLeftNetwork"))
        let community = StreamHistory.build(events: try Sample.recorded(stream: left.raw["stream"] as! String))
        let joined = try #require(community.first { $0.type == "CommunityJoinedNetwork" })
        #expect(HistoryText.summary(of: joined).hasPrefix("joined the network: sectors "))
        let leftEntry = try #require(community.first { $0.position == Int64(left.line) })
        #expect(HistoryText.summary(of: leftEntry) == "left the network: " + (Sample.data(left.raw)["reason"] as! String))
        #expect(community.allSatisfy { !HistoryText.summary(of: $0).isEmpty })
    }

    @Test func aSubmissionsSentences() {
        let events = Sample.stream("submission-s1", [
            ("SubmissionFiled", ["submissionId": "s1", "competitionId": "bp-2020", "communityId": "c1", "themeCode": "1", "title": "Бюджет участі"]),
            ("SubmissionAmended", ["changes": ["title": "Новий", "problem": "P"]]),
            ("SubmissionAmended", ["changes": [:]]),
            ("JuryScoreAdded", ["jurorId": "j1", "scores": ["r": 4, "q": 3]]),
            ("JuryScoreAdded", ["jurorId": "j1", "scores": ["r": 1]]),
            ("SubmissionWithdrawn", [:]),
            ("JuryScoreAdded", ["jurorId": "j2", "scores": ["r": 2.5]]),
            ("JuryScoreRetracted", ["jurorId": "j1", "reason": "помилка"]),
            ("JuryScoreRetracted", ["jurorId": "j3"]),
        ])
        #expect(Self.summaries(events) == [
            "submission «Бюджет участі» filed: community c1, competition bp-2020, theme 1",
            "submission amended: title, problem",
            "submission amended: no field changed",
            "juror j1 scored 7 points",
            "juror j1 re-scored: 7 → 1 point",
            "submission withdrawn: no reason given",
            "juror j2 scored 2.5 points (the submission had been withdrawn)",
            "juror j1 retracted their score (1 point): помилка",
            "juror j3 retracted a score (the stream holds no current score of theirs)",
        ])
    }

    @Test func aCompetitionsSentences() {
        let events = Sample.stream("competition-c1", [
            ("CompetitionAnnounced", [
                "competitionId": "c1", "title": "Кращі практики", "year": 2020, "submissionDeadline": "2020-08-25",
                "themes": [["code": "1", "title": "Влада та громада"]],
                "criteria": [["code": "r", "title": "R", "maxPoints": 10], ["code": "q", "title": "Q", "maxPoints": 5]],
                "minJurors": 3,
            ]),
            ("SubmissionDeadlineExtended", ["submissionDeadline": "2020-09-15"]),
            ("WinnersAnnounced", ["themeCode": "1", "winners": [
                ["submissionId": "s1", "place": 1, "award": "диплом I ступеня"], ["submissionId": "s2", "place": 2],
            ]]),
            ("WinnersAnnounced", ["themeCode": "9", "winners": []]),
        ])
        #expect(Self.summaries(events) == [
            "competition «Кращі практики» announced for 2020: 1 theme, 2 criteria, submissions until 2020-08-25, at least 3 jurors",
            "submission deadline extended: 2020-08-25 → 2020-09-15",
            "winners of theme 1 «Влада та громада»: place 1: s1 (диплом I ступеня); place 2: s2",
            "winners of theme 9: none",
        ])
        let bare = Sample.stream("competition-c2", [
            ("SubmissionDeadlineExtended", ["submissionDeadline": "2020-09-15"]),
            ("CompetitionAnnounced", [:]),
        ])
        #expect(Self.summaries(bare) == [
            "submission deadline extended to 2020-09-15 (the stream holds no earlier deadline)",
            "competition «?» announced: 0 themes, 0 criteria",
        ])
    }

    @Test func communitiesSeminarsAndPracticesSentences() {
        let community = Sample.stream("community-c1", [
            ("CommunityRegistered", ["name": "Громада", "oblast": "Львівська", "kind": "rural", "settlements": 1, "population": 5000]),
            ("CommunityJoinedNetwork", ["sectors": ["освіта", "культура"]]),
            ("CommunityLeftNetwork", ["reason": "вихід"]),
            ("CommunityJoinedNetwork", ["directions": []]),
        ])
        #expect(Self.summaries(community) == [
            "community «Громада» registered (Львівська, rural, 1 settlement, population 5000)",
            "joined the network: sectors освіта, культура; directions (none)",
            "left the network: вихід",
            "rejoined the network: sectors (none); directions (empty)",
        ])
        let seminar = Sample.stream("seminar-x", [
            ("SeminarHeld", ["title": "Семінар", "city": "Львів", "oblast": "Львівська", "date": "2020-05-01", "participants": 1, "communityIds": ["c1", "c2"]]),
        ])
        #expect(Self.summaries(seminar) == ["seminar «Семінар» held, Львів, Львівська, 2020-05-01: 1 participant, 2 communities"])
        let practice = Sample.stream("practice-p1", [
            ("PracticePublished", ["title": "Практика", "communityId": "c1", "sector": "освіта", "sourceSubmissionId": "s1"]),
            ("PracticeRevised", ["changes": ["summary": "x"]]),
            ("PracticeUnpublished", ["reason": "застаріла"]),
            ("SomethingNew", ["a": 1]),
        ])
        #expect(Self.summaries(practice) == [
            "practice «Практика» of community c1 published, sector освіта, from submission s1",
            "practice revised: summary",
            "practice unpublished: застаріла",
            #"an event of a type the catalog does not know: {"a":1}"#,
        ])
    }

    @Test func theTextOfTheHistoryCommand() throws {
        let events = Sample.stream("submission-s1", [
            ("SubmissionFiled", ["title": "A", "summary": "S"]),
            ("SubmissionAmended", ["changes": ["title": "B", "summary": "S"]]),
        ], actor: "clerk")
        let entries = StreamHistory.build(events: events)
        let e = entries[1]
        let when = "recorded \(e.recordedAt.rfc3339); occurred \(e.occurredAt.rfc3339)"
        let text = HistoryText.render(stream: "submission-s1", entries: [e], until: "2020-10-15")
        #expect(text == """
            History of stream submission-s1: 1 event (recorded until 2020-10-15)

            #2 v1 SubmissionAmended  id \(e.id.uuidString.lowercased())
              by clerk; \(when)
              submission amended: title, summary
                title:
                  before: A
                  after:  B
                summary: unchanged, S

            """)
        #expect(HistoryText.render(stream: "s", entries: entries).hasPrefix("History of stream s: 2 events\n"))
        #expect(HistoryText.render(stream: "s", entries: []) == "History of stream s: 0 events\n")
        var anonymous = e
        anonymous.actor = nil
        #expect(HistoryText.actor(anonymous) == "-")
    }

    @Test func theJSONDocumentCarriesTheFactsAndTheSentence() throws {
        let events = Sample.stream("community-c1", [
            ("CommunityRegistered", ["name": "Громада"]), ("CommunityJoinedNetwork", ["sectors": ["освіта"]]),
        ])
        let entries = StreamHistory.build(events: events)
        let document = HistoryDocument.json(stream: "community-c1", entries: entries)
        #expect(document["stream"] == "community-c1")
        let shown = try #require(document["events"]?.arrayValue)
        #expect(shown.count == 2)
        for (entry, json) in zip(entries, shown) {
            #expect(json["summary"]?.stringValue == HistoryText.summary(of: entry))
            // the facts as the library gives them, and the summary: nothing else
            guard case .object(var members) = json else { Issue.record("not an object"); continue }
            members["summary"] = nil
            #expect(JSONValue.object(members) == entry.json)
        }
        #expect(shown[1]["details"] == ["sectors": ["освіта"], "rejoined": false])
    }

    @Test func longValuesAreCutForPeople() {
        let long = String(repeating: "бюджет участі ", count: 20)
        let cut = HistoryText.truncated(long)
        #expect(cut.count <= 80)
        #expect(cut.hasSuffix("…"))
        #expect(HistoryText.truncated("коротко") == "коротко")
        #expect(HistoryText.display(nil) == "(none)")
        #expect(HistoryText.display(["a", "b"]) == "a, b")
        // two long texts that differ past the cut are shown from near their first difference
        let change = StreamHistory.Change(field: "summary", before: .string(long + "старе"), after: .string(long + "нове"))
        let shown = HistoryText.displayPair(change)
        #expect(shown.before != shown.after)
        #expect(shown.before.hasPrefix("…") && shown.before.contains("старе"))
        #expect(shown.after.hasPrefix("…") && shown.after.contains("нове"))
        #expect(shown.before.count <= 80 && shown.after.count <= 80)
        #expect(HistoryText.count(1, "event") == "1 event" && HistoryText.count(2, "criterion", "criteria") == "2 criteria")
    }
}
