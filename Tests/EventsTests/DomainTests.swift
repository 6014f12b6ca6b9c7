import Foundation
import Testing
import TestSupport

@testable import Events

/// The domain layer: catalog payloads, business rules, state folding, upcasting.
/// (One parent suite so that `swift test --filter DomainTests` runs them all.)
@Suite struct DomainTests {}

// MARK: - the shared sample data

extension DomainTests {
    @Suite struct SampleData {
        @Test func theWholeSampleHistoryChecksAndAppliesInOrder() throws {
            var state = DomainState()
            var count = 0
            var types: [String: Int] = [:]
            for line in try Sample.lines() {
                let event = try EventCodec.decodeProposed(line: line)
                do {
                    try state.check(event)
                } catch {
                    Issue.record("sample event \(count + 1) (\(event.type) in \(event.stream)) rejected: \(error)")
                    return
                }
                state.apply(type: event.type, stream: event.stream, occurredAt: event.occurredAt, data: event.data)
                count += 1
                types[event.type, default: 0] += 1
            }
            #expect(count > 1200)
            #expect(state.competitionCount == types["CompetitionAnnounced"])
            #expect(state.submissionCount == types["SubmissionFiled"])
            #expect(state.communityCount == types["CommunityRegistered"])
            #expect(state.competitionCount == 4)
            #expect(state.communityCount == 120)
            // the 2018-2020 competitions have their winners; 2021 is still being judged
            for theme in ["1", "2", "3"] {
                #expect(state.winnersAnnounced(competition: "bp-2018", theme: theme))
                #expect(!state.winnersAnnounced(competition: "bp-2021", theme: theme))
            }
            #expect(state.isWithdrawn(submission: "bp-2021-00053"))
            #expect(state.isNetworkMember(community: "c00000"))
            #expect(state.isNetworkMember(community: "c00090"))  // joined, left, joined again
            #expect(!state.isNetworkMember(community: "c00098"))  // joined, then left
            #expect(!state.isPublished(practice: "p00002"))  // unpublished
            #expect(state.isPublished(practice: "p00000"))
        }

        /// Every entry of invalid-after-sample.json is rejected on top of the sample, with the field
        /// that breaks the rule.
        @Test func eachInvalidEntryIsRejectedAfterTheSample() throws {
            let state = try Fixtures.sampleState()
            let file = try Data(contentsOf: TestPaths.invalidAfterSample)
            guard case .array(let entries) = try JSONParser.parse([UInt8](file)) else {
                Issue.record("invalid-after-sample.json is not an array")
                return
            }
            #expect(entries.count >= 13)
            let expectedField: [String: String] = [
                "a score for a withdrawn submission": "data.submissionId",
                "a score after the theme's winners were announced": "data.submissionId",
                "points above the criterion's maximum": "data.scores.relevance",
                "a criterion left unscored": "data.scores.innovation",
                "a submission from an unregistered community": "data.communityId",
                "a problem statement over 1500 characters": "data.problem",
                "a theme the competition does not have": "data.themeCode",
                "a submission id filed twice": "data.submissionId",
                "joining the network twice": "data.communityId",
                "an event type the catalog does not know": "type",
                "no occurredAt": "occurredAt",
                "a retraction by a juror who has no score there": "data.jurorId",
                "not JSON at all": "type",  // the syntax error names the member it broke off in
            ]
            var matched = 0
            for entry in entries {
                let why = entry["why"]?.stringValue ?? "?"
                var rejection: Rejection?
                if let line = entry["line"]?.stringValue {
                    do {
                        _ = try EventCodec.decodeProposed(line: Array(line.utf8))
                    } catch {
                        rejection = error
                    }
                } else if let object = entry["event"] {
                    // through the interchange line, as import reads it
                    let line = object.canonicalBytes
                    do {
                        let event = try EventCodec.decodeProposed(line: line)
                        try state.check(event)
                    } catch {
                        rejection = error
                    }
                }
                guard let rejection else {
                    Issue.record("accepted, but should be rejected: \(why)")
                    continue
                }
                #expect(!rejection.reason.isEmpty)
                if let field = expectedField[why] {
                    #expect(rejection.field == field, "\(why): \(rejection)")
                    matched += 1
                } else {
                    #expect(!rejection.field.isEmpty, "\(why): \(rejection)")
                }
            }
            #expect(matched == expectedField.count)
        }

        @Test func theStateRoundTripsThroughCodable() throws {
            let state = try Fixtures.sampleState()
            let encoded = try JSONEncoder().encode(state)
            let decoded = try JSONDecoder().decode(DomainState.self, from: encoded)
            #expect(decoded == state)
            #expect(decoded != DomainState())
            // the decoded state goes on enforcing the rules
            let again = Fixtures.event(
                "JuryScoreAdded", "submission-bp-2018-00006", at: "2021-10-14T10:00:00Z",
                ["submissionId": "bp-2018-00006", "jurorId": "j09",
                 "scores": ["relevance": 5, "innovation": 5, "participation": 5, "results": 5, "replicability": 5]])
            #expect(throws: Rejection.self) { try decoded.check(again) }
        }
    }
}

// MARK: - text, identifiers, vocabularies

extension DomainTests {
    @Suite struct Payloads {
        @Test func textLimitsCountCharactersNotBytes() {
            let w = World.basic()
            let cyrillic1500 = String(repeating: "д", count: 1500)  // 3000 UTF-8 bytes
            #expect(cyrillic1500.utf8.count == 3000)
            let ok = w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("problem", .string(cyrillic1500)))
            #expect(ok == nil)
            let over = w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("problem", .string(cyrillic1500 + "д")))
            #expect(over == Rejection(field: "data.problem", reason: "has 1501 characters; the limit is 1500"))
            // a four-byte scalar counts once
            let emoji300 = String(repeating: "🌻", count: 300)
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("title", .string(emoji300))) == nil)
            #expect(
                w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("title", .string(emoji300 + "!")))?.field
                    == "data.title")
            // limits count Unicode scalars, not grapheme clusters: "й" written as и + U+0306 is two
            let decomposed = String(repeating: "и\u{0306}", count: 501)  // 501 graphemes, 1002 scalars
            #expect(decomposed.count == 501)
            let risks = w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("risks", .string(decomposed)))
            #expect(risks == Rejection(field: "data.risks", reason: "has 1002 characters; the limit is 1000"))
        }

        @Test func characterCountingMatchesUnicodeScalars() {
            for s in ["", "abc", "Мереф'янська", "Мерефʼянська", "🌻🇺🇦", "e\u{301}", String(repeating: "ї", count: 4000)] {
                #expect(Check.characterCount(s) == s.unicodeScalars.count)
            }
            // a bridged/non-contiguous string falls back correctly
            let bridged = NSString(string: "Київ – столиця").description
            #expect(Check.characterCount(bridged) == bridged.unicodeScalars.count)
        }

        @Test func eachTextLimitOfTheFormIsEnforced() {
            let w = World.basic()
            for (field, limit) in [("title", 300), ("problem", 1500), ("activities", 3500), ("results", 1500), ("risks", 1000)] {
                let atLimit = Fixtures.submission("s1").with(field, .string(String(repeating: "ґ", count: limit)))
                #expect(w.rejection("SubmissionFiled", "submission-s1", atLimit) == nil, "\(field) at its limit")
                let over = Fixtures.submission("s1").with(field, .string(String(repeating: "ґ", count: limit + 1)))
                #expect(
                    w.rejection("SubmissionFiled", "submission-s1", over)
                        == Rejection(field: "data.\(field)", reason: "has \(limit + 1) characters; the limit is \(limit)"))
            }
        }

        @Test func requiredTextMustNotBeEmptyOrBlank() {
            let w = World.basic()
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("title", ""))
                == Rejection(field: "data.title", reason: "must not be empty"))
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("results", " \n\u{00A0}"))?.field == "data.results")
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").without("problem"))
                == Rejection(field: "data.problem", reason: "is required"))
            // an optional field may be absent or null
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").without("risks")) == nil)
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("risks", .null)) == nil)
        }

        @Test func oblastCodesAreTheISOCodesOfUkraine() {
            let valid = ["UA-05", "UA-07", "UA-09", "UA-12", "UA-14", "UA-18", "UA-21", "UA-23", "UA-26", "UA-30", "UA-32",
                         "UA-35", "UA-40", "UA-43", "UA-46", "UA-48", "UA-51", "UA-53", "UA-56", "UA-59", "UA-61", "UA-63",
                         "UA-65", "UA-68", "UA-71", "UA-74", "UA-77"]
            #expect(Vocabulary.oblasts == valid)
            for code in valid { #expect(Vocabulary.isOblast(code), "\(code)") }
            for code in ["UA-00", "UA-06", "UA-10", "UA-78", "UA-99", "UA-5", "UA-050", "ua-05", "UA05", "UA-0x", "", "UA-", "RU-43", "UA-٠٥"] {
                #expect(!Vocabulary.isOblast(code), "\(code)")
            }
            let w = World()
            let r = w.rejection("CommunityRegistered", "community-x", Fixtures.community("x", oblast: "UA-99"))
            #expect(r?.field == "data.oblast")
            #expect(r?.reason.contains("ISO 3166-2:UA") == true)
            #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x", oblast: "UA-40")) == nil)
            let seminar: [String: JSONValue] = [
                "seminarId": "s1", "title": "Семінар", "direction": "budget-process", "oblast": "Kyiv", "city": "Київ",
                "date": "2019-05-05", "participants": 20, "communityIds": [],
            ]
            #expect(w.rejection("SeminarHeld", "seminar-s1", seminar)?.field == "data.oblast")
        }

        @Test func identifiersAreOneTo64BytesOfASafeAlphabet() {
            let w = World()
            #expect(Check.isIdentifier("bp-2020-00042"))
            #expect(Check.isIdentifier("a.b_c-D9"))
            #expect(Check.isIdentifier(String(repeating: "x", count: 64)))
            #expect(!Check.isIdentifier(String(repeating: "x", count: 65)))
            #expect(!Check.isIdentifier(""))
            #expect(!Check.isIdentifier("a b"))
            #expect(!Check.isIdentifier("a:b"))
            #expect(!Check.isIdentifier("громада"))
            let r = w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("communityId", "громада"))
            #expect(r?.field == "data.communityId")
            #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("communityId", 42))
                == Rejection(field: "data.communityId", reason: "must be a string, found a number"))
        }

        @Test func vocabulariesAndSubsetsAreChecked() {
            let w = World.basic()
            let s = Fixtures.submission("s1")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("sector", "tourism"))?.field == "data.sector")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("directions", ["budget-process", "roads"]))?.field == "data.directions[1]")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("directions", ["budget-process", "budget-process"]))
                == Rejection(field: "data.directions[1]", reason: "\"budget-process\" is listed twice"))
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("directions", [])) == nil)  // the empty subset
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("participationForms", ["voting"]))?.field == "data.participationForms[0]")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("participationForms", "informing"))
                == Rejection(field: "data.participationForms", reason: "must be an array, found a string"))
            #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("kind", "city"))?.field == "data.kind")
            for kind in ["urban", "settlement", "rural"] {
                #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("kind", .string(kind))) == nil)
            }
        }

        @Test func datesPeriodsAndNumbersAreChecked() {
            let w = World.basic()
            let s = Fixtures.submission("s1")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("period", ["from": "2019-13"]))?.field == "data.period.from")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("period", ["from": "2019-3"]))?.field == "data.period.from")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("period", ["from": "2019-03", "to": "2019-02"]))?.field == "data.period.to")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("period", ["from": "2019-03", "to": "2020-01"])) == nil)
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("period", [:]))
                == Rejection(field: "data.period.from", reason: "is required"))
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("budget", ["totalUAH": -1, "sources": []]))?.field == "data.budget.totalUAH")
            #expect(w.rejection("SubmissionFiled", "submission-s1", s.with("budget", ["totalUAH": 1250.5, "sources": []])) == nil)
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", Fixtures.competition("c2", deadline: "2020-02-30"))?.field
                == "data.submissionDeadline")
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", Fixtures.competition("c2", deadline: "2020-8-25"))?.field
                == "data.submissionDeadline")
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", Fixtures.competition("c2").with("minJurors", 0))
                == Rejection(field: "data.minJurors", reason: "must be at least 1, found 0"))
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", Fixtures.competition("c2").with("minJurors", 2.5))
                == Rejection(field: "data.minJurors", reason: "must be an integer, found 2.5"))
            #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("settlements", 0))?.field == "data.settlements")
            #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("population", -5))?.field == "data.population")
            #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("population", "25000"))?.field == "data.population")
        }

        @Test func competitionThemesAndCriteriaAreNonEmptyWithUniqueCodes() {
            let w = World()
            let c = Fixtures.competition("c2")
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", c.with("themes", []))
                == Rejection(field: "data.themes", reason: "must not be empty"))
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", c.with("criteria", []))?.field == "data.criteria")
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", c.with("themes", [["code": "1", "title": "A"], ["code": "1", "title": "B"]]))?.field
                == "data.themes[1].code")
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", c.with("criteria", [["code": "r", "title": "R", "maxPoints": 101]]))
                == Rejection(field: "data.criteria[0].maxPoints", reason: "must be at most 100, found 101"))
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", c.with("criteria", [["code": "r", "title": "R", "maxPoints": 0]]))?.field
                == "data.criteria[0].maxPoints")
            #expect(w.rejection("CompetitionAnnounced", "competition-c2", c.with("criteria", [["code": "r", "title": "R"]]))
                == Rejection(field: "data.criteria[0].maxPoints", reason: "is required"))
        }

        @Test func payloadsMayHoldOnlyTheirOwnFields() {
            let w = World.basic()
            let r = w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1").with("risk", "typo"))
            #expect(r?.field == "data.risk")
            #expect(r?.reason.hasPrefix("is not a field of SubmissionFiled") == true)
            #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("council", ["name": "Рада", "fax": "1"]))?.field
                == "data.council.fax")
            #expect(w.rejection("CommunityRegistered", "community-x", Fixtures.community("x").with("council", ["name": "Рада", "email": "nope"]))?.field
                == "data.council.email")
        }

        @Test func unknownTypesAreRejectedAndIgnored() {
            var w = World.basic()
            let r = w.rejection("SubmissionApproved", "submission-s1", ["submissionId": "s1"])
            #expect(r?.field == "type")
            #expect(r?.reason.contains("SubmissionApproved") == true)
            #expect(throws: Rejection.self) { try EventCatalog.validatePayload(type: "Nope", data: [:]) }
            #expect(!EventCatalog.knownTypes.contains("SubmissionApproved"))
            #expect(EventCatalog.knownTypes.count == 15)
            let before = w.state
            w.state.apply(type: "SubmissionApproved", stream: "submission-s1", occurredAt: Fixtures.timestamp("2020-05-01T00:00:00Z"), data: ["submissionId": "s1"])
            #expect(w.state == before)
        }

        @Test func validatePayloadChecksShapeWithoutTheState() throws {
            try EventCatalog.validatePayload(type: "SubmissionFiled", data: Fixtures.submission("s1"))
            #expect(throws: Rejection(field: "data.sector", reason: "must be one of education, housing-utilities, environment, cultural-heritage, youth-sports, small-business, governance (found \"tourism\")")) {
                try EventCatalog.validatePayload(type: "SubmissionFiled", data: Fixtures.submission("s1").with("sector", "tourism"))
            }
            #expect(EventCatalog.expectedStream(type: "JuryScoreAdded", data: ["submissionId": "bp-2020-0042"]) == "submission-bp-2020-0042")
            #expect(EventCatalog.streamKey(ofType: "SeminarHeld")?.category == "seminar")
            #expect(EventCatalog.expectedStream(type: "Nope", data: [:]) == nil)
        }

        @Test func theFirstProblemIsReportedInFieldOrder() {
            let w = World.basic()
            // both title and problem are wrong: title comes first in the catalog's order, every time
            let data = Fixtures.submission("s1").with("title", 5).with("problem", 6).with("zzz", 1)
            for _ in 0..<20 {
                #expect(w.rejection("SubmissionFiled", "submission-s1", data)?.field == "data.title")
            }
            let scores: [String: JSONValue] = ["submissionId": "s1", "jurorId": "j", "scores": ["b": 1.5, "a": -1, "c": "x"]]
            for _ in 0..<20 {
                #expect(w.rejection("JuryScoreAdded", "submission-s1", scores)?.field == "data.scores.a")
            }
        }
    }
}

// MARK: - business rules

extension DomainTests {
    @Suite struct Rules {
        @Test func theStreamMustBeTheCategoryAndTheOwnId() {
            let w = World.basic()
            let r = w.rejection("SubmissionFiled", "submission-s2", Fixtures.submission("s1"))
            #expect(r?.field == "stream")
            #expect(r?.reason.hasPrefix("must be submission-s1") == true)
            #expect(w.rejection("SubmissionFiled", "competition-s1", Fixtures.submission("s1"))?.field == "stream")
            #expect(w.rejection("SubmissionFiled", "submission-s1-x", Fixtures.submission("s1"))?.field == "stream")
            #expect(w.rejection("WinnersAnnounced", "submission-c1", ["competitionId": "c1", "themeCode": "1", "winners": [["submissionId": "x", "place": 1]]])?.field == "stream")
            #expect(w.rejection("CommunityRegistered", "community-y", Fixtures.community("x"))?.field == "stream")
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1")) == nil)
        }

        @Test func aSubmissionIsFiledOnOrBeforeTheEndOfTheDeadlineDayInUTC() {
            var w = World.basic()  // deadline 2020-08-25
            let s = Fixtures.submission("s1")
            #expect(w.rejection("SubmissionFiled", "submission-s1", at: "2020-08-25T23:59:59.999Z", s) == nil)
            #expect(w.rejection("SubmissionFiled", "submission-s1", at: "2020-08-26T02:30:00+03:00", s) == nil)  // 23:30 UTC
            let late = w.rejection("SubmissionFiled", "submission-s1", at: "2020-08-26T00:00:00Z", s)
            #expect(late?.field == "occurredAt")
            #expect(late?.reason.contains("2020-08-25") == true)
            #expect(w.rejection("SubmissionFiled", "submission-s1", at: "2020-08-25T23:30:00-01:00", s)?.field == "occurredAt")  // 00:30 UTC next day

            // an extension moves the end of the day
            #expect(w.rejection("SubmissionDeadlineExtended", "competition-c1", ["competitionId": "c1", "submissionDeadline": "2020-08-25"])
                == Rejection(field: "data.submissionDeadline", reason: "must be later than the current deadline 2020-08-25 of competition c1"))
            #expect(w.rejection("SubmissionDeadlineExtended", "competition-c1", ["competitionId": "c1", "submissionDeadline": "2020-08-01"])?.field
                == "data.submissionDeadline")
            w.append("SubmissionDeadlineExtended", "competition-c1", ["competitionId": "c1", "submissionDeadline": "2020-09-10"])
            #expect(w.state.submissionDeadline(competition: "c1") == "2020-09-10")
            #expect(w.rejection("SubmissionFiled", "submission-s1", at: "2020-09-10T23:59:59Z", s) == nil)
            #expect(w.rejection("SubmissionFiled", "submission-s1", at: "2020-09-11T00:00:00Z", s)?.field == "occurredAt")
            // and extending again must go later than the extended date
            #expect(w.rejection("SubmissionDeadlineExtended", "competition-c1", ["competitionId": "c1", "submissionDeadline": "2020-09-01"])?.field
                == "data.submissionDeadline")
            #expect(w.rejection("SubmissionDeadlineExtended", "competition-zz", ["competitionId": "zz", "submissionDeadline": "2021-01-01"])?.field
                == "data.competitionId")
        }

        @Test func aSubmissionNeedsItsCompetitionThemeAndRegisteredCommunityAndIsFiledOnce() {
            var w = World.basic()
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1", competition: "nope"))
                == Rejection(field: "data.competitionId", reason: "no competition nope has been announced"))
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1", theme: "3"))
                == Rejection(field: "data.themeCode", reason: "competition c1 has no theme 3 (its themes: 1, 2)"))
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1", community: "zz"))
                == Rejection(field: "data.communityId", reason: "community zz is not registered"))
            w.append("SubmissionFiled", "submission-s1", Fixtures.submission("s1"))
            #expect(w.rejection("SubmissionFiled", "submission-s1", Fixtures.submission("s1", theme: "2"))?.field == "data.submissionId")
        }

        @Test func aJurorScoringAgainReplacesTheEarlierScore() {
            var w = World.basic()
            w.append("SubmissionFiled", "submission-s1", Fixtures.submission("s1"))
            w.append("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1", relevance: 3))
            w.append("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j2"))
            w.append("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1", relevance: 9))
            #expect(w.state.currentJurors(submission: "s1") == ["j1", "j2"])
            // retraction removes exactly that juror's score, once
            w.append("JuryScoreRetracted", "submission-s1", ["submissionId": "s1", "jurorId": "j1", "reason": "конфлікт інтересів"])
            #expect(w.state.currentJurors(submission: "s1") == ["j2"])
            #expect(w.rejection("JuryScoreRetracted", "submission-s1", ["submissionId": "s1", "jurorId": "j1", "reason": "ще раз"])
                == Rejection(field: "data.jurorId", reason: "juror j1 has no current score on submission s1"))
            // and the juror may score again
            w.append("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1"))
            #expect(w.state.currentJurors(submission: "s1") == ["j2", "j1"])
            #expect(w.rejection("JuryScoreRetracted", "submission-s9", ["submissionId": "s9", "jurorId": "j1", "reason": "x"])?.field == "data.submissionId")
        }

        @Test func scoresMatchTheCompetitionsCriteriaAndBounds() {
            var w = World.basic()
            w.append("SubmissionFiled", "submission-s1", Fixtures.submission("s1"))
            #expect(w.rejection("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1", relevance: 10, innovation: 5)) == nil)
            #expect(w.rejection("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1", relevance: 0, innovation: 0)) == nil)
            #expect(w.rejection("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1", innovation: 6))
                == Rejection(field: "data.scores.innovation", reason: "6 points is above the criterion's maximum of 5"))
            #expect(w.rejection("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1", relevance: -1))?.field == "data.scores.relevance")
            #expect(w.rejection("JuryScoreAdded", "submission-s1", ["submissionId": "s1", "jurorId": "j1", "scores": ["relevance": 5]])?.field
                == "data.scores.innovation")
            #expect(w.rejection("JuryScoreAdded", "submission-s1", ["submissionId": "s1", "jurorId": "j1", "scores": ["relevance": 5, "innovation": 4, "beauty": 3]])?.field
                == "data.scores.beauty")
            #expect(w.rejection("JuryScoreAdded", "submission-s1", ["submissionId": "s1", "jurorId": "j1", "scores": ["relevance": 5.5, "innovation": 4]])
                == Rejection(field: "data.scores.relevance", reason: "must be an integer, found 5.5"))
            #expect(w.rejection("JuryScoreAdded", "submission-s1", ["submissionId": "s1", "jurorId": "j1", "scores": [:]])?.field == "data.scores")
            #expect(w.rejection("JuryScoreAdded", "submission-s2", Fixtures.score("s2", juror: "j1"))
                == Rejection(field: "data.submissionId", reason: "no submission s2 has been filed"))
            #expect(w.rejection("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1").with("comment", .string(String(repeating: "я", count: 2001))))?.field
                == "data.comment")
        }

        @Test func withdrawnSubmissionsCannotBeScoredNorWithdrawnAgain() {
            var w = World.basic()
            w.append("SubmissionFiled", "submission-s1", Fixtures.submission("s1"))
            w.append("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1"))
            w.append("SubmissionWithdrawn", "submission-s1", ["submissionId": "s1", "reason": "за заявою громади"])
            #expect(w.state.isWithdrawn(submission: "s1"))
            #expect(w.rejection("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j2"))?.field == "data.submissionId")
            #expect(w.rejection("SubmissionWithdrawn", "submission-s1", ["submissionId": "s1", "reason": "ще раз"])
                == Rejection(field: "data.submissionId", reason: "submission s1 is already withdrawn"))
            #expect(w.rejection("SubmissionWithdrawn", "submission-s7", ["submissionId": "s7", "reason": "x"])?.field == "data.submissionId")
            #expect(w.rejection("SubmissionWithdrawn", "submission-s1", ["submissionId": "s1"])
                == Rejection(field: "data.reason", reason: "is required"))
        }

        @Test func winnersCloseScoringOfTheirThemeOnly() {
            var w = World.basic()
            for (id, theme) in [("s1", "1"), ("s2", "1"), ("s3", "2"), ("s4", "1")] {
                w.append("SubmissionFiled", "submission-\(id)", Fixtures.submission(id, theme: theme))
                w.append("JuryScoreAdded", "submission-\(id)", Fixtures.score(id, juror: "j1"))
            }
            w.append("SubmissionWithdrawn", "submission-s4", ["submissionId": "s4", "reason": "x"])
            w.append("CompetitionAnnounced", "competition-c2", Fixtures.competition("c2"))
            w.append("SubmissionFiled", "submission-t1", Fixtures.submission("t1", competition: "c2"))

            func winners(_ list: [(String, Int64)], theme: String = "1") -> [String: JSONValue] {
                ["competitionId": "c1", "themeCode": .string(theme),
                 "winners": .array(list.map { ["submissionId": .string($0.0), "place": .int($0.1)] })]
            }
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([("s1", 1), ("s3", 2)]))
                == Rejection(field: "data.winners[1].submissionId", reason: "submission s3 was filed in competition c1 theme 2, not in competition c1 theme 1"))
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([("t1", 1)]))?.field == "data.winners[0].submissionId")
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([("s1", 1), ("s4", 2)]))
                == Rejection(field: "data.winners[1].submissionId", reason: "submission s4 is withdrawn"))
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([("s1", 1), ("nope", 2)]))?.field == "data.winners[1].submissionId")
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([("s1", 1), ("s1", 2)]))?.field == "data.winners[1].submissionId")
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([("s1", 0)]))?.field == "data.winners[0].place")
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([]))?.field == "data.winners")
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([("s1", 1)], theme: "9"))?.field == "data.themeCode")

            // places may repeat (councils of each kind are awarded separately), awards are free text
            var data = winners([("s1", 1), ("s2", 1)])
            data["winners"] = [["submissionId": "s1", "place": 1, "award": "диплом I ступеня"], ["submissionId": "s2", "place": 1]]
            w.append("WinnersAnnounced", "competition-c1", data)
            #expect(w.state.winnersAnnounced(competition: "c1", theme: "1"))

            let closed = w.rejection("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j2"))
            #expect(closed?.field == "data.submissionId")
            #expect(closed?.reason.contains("scoring is closed") == true)
            #expect(w.rejection("JuryScoreAdded", "submission-s2", Fixtures.score("s2", juror: "j1"))?.field == "data.submissionId")  // even a re-score
            #expect(w.rejection("JuryScoreAdded", "submission-s3", Fixtures.score("s3", juror: "j2")) == nil)  // theme 2 still open
            #expect(w.rejection("JuryScoreAdded", "submission-t1", Fixtures.score("t1", juror: "j2")) == nil)  // other competition
            #expect(w.rejection("WinnersAnnounced", "competition-c1", winners([("s1", 1)]))
                == Rejection(field: "data.themeCode", reason: "the winners of theme 1 of competition c1 are already announced"))
            // rule 4 asks only for a current score: a retraction is still possible
            #expect(w.rejection("JuryScoreRetracted", "submission-s1", ["submissionId": "s1", "jurorId": "j1", "reason": "x"]) == nil)
        }

        @Test func aCompetitionIsAnnouncedOnceAndACommunityRegisteredOnce() {
            let w = World.basic()
            #expect(w.rejection("CompetitionAnnounced", "competition-c1", Fixtures.competition())?.field == "data.competitionId")
            #expect(w.rejection("CommunityRegistered", "community-a", Fixtures.community("a"))
                == Rejection(field: "data.communityId", reason: "community a is already registered; a community is registered once"))
        }

        @Test func communitiesJoinAndLeaveTheNetwork() {
            var w = World.basic()
            let join: [String: JSONValue] = ["communityId": "a", "sectors": ["education", "governance"], "directions": ["budget-process"]]
            #expect(w.rejection("CommunityLeftNetwork", "community-a", ["communityId": "a", "reason": "x"])
                == Rejection(field: "data.communityId", reason: "community a is not in the network"))
            #expect(w.rejection("CommunityJoinedNetwork", "community-zz", join.with("communityId", "zz"))
                == Rejection(field: "data.communityId", reason: "community zz is not registered"))
            w.append("CommunityJoinedNetwork", "community-a", join)
            #expect(w.state.isNetworkMember(community: "a"))
            #expect(w.rejection("CommunityJoinedNetwork", "community-a", join)
                == Rejection(field: "data.communityId", reason: "community a is already in the network"))
            w.append("CommunityLeftNetwork", "community-a", ["communityId": "a", "reason": "рішення ради"])
            #expect(!w.state.isNetworkMember(community: "a"))
            #expect(w.state.isRegistered(community: "a"))
            w.append("CommunityJoinedNetwork", "community-a", join)  // joining again after leaving
            #expect(w.state.isNetworkMember(community: "a"))
            #expect(w.rejection("CommunityJoinedNetwork", "community-b", join.with("communityId", "b").with("sectors", ["sport"]))?.field == "data.sectors[0]")
        }

        @Test func seminarCommunitiesMustBeRegistered() {
            var w = World.basic()
            let seminar: [String: JSONValue] = [
                "seminarId": "sem-1", "title": "Регіональний семінар «рівний рівному» №1", "direction": "budget-process",
                "oblast": "UA-53", "city": "Полтава", "date": "2019-06-01", "participants": 29, "communityIds": ["a", "ghost", "b"],
            ]
            #expect(w.rejection("SeminarHeld", "seminar-sem-1", seminar)
                == Rejection(field: "data.communityIds[1]", reason: "community ghost is not registered"))
            #expect(w.rejection("SeminarHeld", "seminar-sem-1", seminar.with("communityIds", ["a", "a"]))?.field == "data.communityIds[1]")
            #expect(w.rejection("SeminarHeld", "seminar-sem-1", seminar.with("participants", -1))?.field == "data.participants")
            #expect(w.rejection("SeminarHeld", "seminar-sem-1", seminar.with("direction", "education"))?.field == "data.direction")
            w.append("SeminarHeld", "seminar-sem-1", seminar.with("communityIds", ["a", "b"]))
            #expect(w.rejection("SeminarHeld", "seminar-sem-1", seminar.with("communityIds", ["a"]))?.field == "data.seminarId")
        }

        @Test func practicesArePublishedOnceByRegisteredCommunities() {
            var w = World.basic()
            #expect(w.rejection("PracticePublished", "practice-p1", Fixtures.practice("p1", community: "zz"))?.field == "data.communityId")
            #expect(w.rejection("PracticeRevised", "practice-p1", ["practiceId": "p1", "changes": ["summary": "Нове."]])
                == Rejection(field: "data.practiceId", reason: "practice p1 has not been published"))
            #expect(w.rejection("PracticeUnpublished", "practice-p1", ["practiceId": "p1", "reason": "x"])?.field == "data.practiceId")
            w.append("PracticePublished", "practice-p1", Fixtures.practice("p1"))
            #expect(w.state.isPublished(practice: "p1"))
            #expect(w.rejection("PracticePublished", "practice-p1", Fixtures.practice("p1"))?.field == "data.practiceId")
            w.append("PracticeRevised", "practice-p1", ["practiceId": "p1", "changes": ["summary": "Нове.", "tags": ["бюджет", "участь"]]])
            w.append("PracticeUnpublished", "practice-p1", ["practiceId": "p1", "reason": "застаріла"])
            #expect(!w.state.isPublished(practice: "p1"))
            #expect(w.rejection("PracticeRevised", "practice-p1", ["practiceId": "p1", "changes": ["summary": "Ще."]])
                == Rejection(field: "data.practiceId", reason: "practice p1 is unpublished"))
            #expect(w.rejection("PracticeUnpublished", "practice-p1", ["practiceId": "p1", "reason": "x"])?.field == "data.practiceId")
            // decision: no re-publication under the same id
            let again = w.rejection("PracticePublished", "practice-p1", Fixtures.practice("p1"))
            #expect(again?.field == "data.practiceId")
            #expect(again?.reason.contains("published once") == true)
            // a source submission is optional and an identifier
            #expect(w.rejection("PracticePublished", "practice-p2", Fixtures.practice("p2").with("sourceSubmissionId", "bp 1"))?.field
                == "data.sourceSubmissionId")
            #expect(w.rejection("PracticePublished", "practice-p2", Fixtures.practice("p2").with("sourceSubmissionId", "bp-2020-00001")) == nil)
        }

        @Test func amendmentsHoldOnlyTextAndClassificationFieldsWithTheSameLimits() {
            var w = World.basic()
            w.append("SubmissionFiled", "submission-s1", Fixtures.submission("s1"))
            func amend(_ changes: JSONValue) -> Rejection? {
                w.rejection("SubmissionAmended", "submission-s1", ["submissionId": "s1", "changes": changes])
            }
            #expect(amend(["title": "Оновлено: бюджет участі"]) == nil)
            #expect(amend(["sector": "education", "period": ["from": "2018-01", "to": "2019-12"], "risks": "Нові ризики."]) == nil)
            #expect(amend([:])?.field == "data.changes")
            #expect(amend(["competitionId": "c2"]) == Rejection(field: "data.changes.competitionId", reason: "is an identifier and cannot be changed"))
            #expect(amend(["themeCode": "2"])?.field == "data.changes.themeCode")
            #expect(amend(["communityId": "b"])?.field == "data.changes.communityId")
            #expect(amend(["colour": "red"])?.field == "data.changes.colour")
            #expect(amend(["problem": .string(String(repeating: "є", count: 1501))])
                == Rejection(field: "data.changes.problem", reason: "has 1501 characters; the limit is 1500"))
            #expect(amend(["sector": "tourism"])?.field == "data.changes.sector")
            #expect(amend(["title": .null])?.field == "data.changes.title")
            #expect(amend("title")?.field == "data.changes")
            #expect(w.rejection("SubmissionAmended", "submission-s9", ["submissionId": "s9", "changes": ["title": "X"]])?.field == "data.submissionId")
            w.append("PracticePublished", "practice-p1", Fixtures.practice("p1"))
            #expect(w.rejection("PracticeRevised", "practice-p1", ["practiceId": "p1", "changes": ["communityId": "b"]])?.field == "data.changes.communityId")
            #expect(w.rejection("PracticeRevised", "practice-p1", ["practiceId": "p1", "changes": ["problem": "x"]])?.field == "data.changes.problem")
            #expect(w.rejection("PracticeRevised", "practice-p1", ["practiceId": "p1", "changes": [:]])?.field == "data.changes")
            #expect(w.rejection("PracticeRevised", "practice-p1", ["practiceId": "p1", "changes": ["body": "Оновлений опис.", "directions": ["strategic-planning"]]]) == nil)
        }

        @Test func checkDoesNotChangeTheState() {
            var w = World.basic()
            w.append("SubmissionFiled", "submission-s1", Fixtures.submission("s1"))
            let before = w.state
            _ = w.rejection("JuryScoreAdded", "submission-s1", Fixtures.score("s1", juror: "j1"))
            _ = w.rejection("SubmissionFiled", "submission-s2", Fixtures.submission("s2"))
            #expect(w.state == before)
            #expect(w.state.currentJurors(submission: "s1") == [])
        }

        @Test func applyNeverTrapsOnOddDataFromTheLog() throws {
            var state = try Fixtures.sampleState()
            let at = Fixtures.timestamp("2022-01-01T00:00:00Z")
            let odd: [[String: JSONValue]] = [
                [:], ["submissionId": 5], ["competitionId": "odd", "submissionDeadline": "not a date"],
                ["competitionId": "new", "themes": "x", "criteria": [1, 2, ["code": 3]], "submissionDeadline": 7],
                ["submissionId": "bp-2021-00001", "jurorId": ["j"]], ["communityId": "ghost"], ["practiceId": "ghost"],
                ["competitionId": "ghost", "themeCode": "1"], ["seminarId": "", "communityIds": 3],
            ]
            for type in EventCatalog.knownTypes.sorted() {
                for data in odd {
                    state.apply(type: type, stream: "x-y", occurredAt: at, data: data)
                }
            }
            // an unreadable deadline from the log does not trap later checks either
            #expect(state.submissionDeadline(competition: "new") != nil)
            let r = try #require(throws: Rejection.self) {
                try state.check(Fixtures.event("SubmissionFiled", "submission-z1", at: "2022-01-01T00:00:00Z",
                    Fixtures.submission("z1", competition: "new", community: "c00000")))
            }
            #expect(r.field == "data.themeCode")
            // an unreadable extension is ignored: the earlier deadline still holds
            state.apply(type: "SubmissionDeadlineExtended", stream: "competition-bp-2021", occurredAt: at,
                        data: ["competitionId": "bp-2021", "submissionDeadline": "2021-13-01"])
            #expect(state.submissionDeadline(competition: "bp-2021") == "2021-08-25")
            // an unchecked join of an unregistered community does not make it registered nor a member
            var fresh = DomainState()
            fresh.apply(type: "CommunityJoinedNetwork", stream: "community-nobody", occurredAt: at,
                        data: ["communityId": "nobody", "sectors": [], "directions": []])
            #expect(!fresh.isRegistered(community: "nobody"))
            #expect(!fresh.isNetworkMember(community: "nobody"))
            #expect(fresh == DomainState())
        }
    }
}

// MARK: - upcasting

extension DomainTests {
    @Suite struct Upcasting {
        @Test func theStandardUpcasterIsTheIdentity() {
            let data: [String: JSONValue] = ["communityId": "a"]
            let result = Upcaster.standard.upcast(type: "CommunityLeftNetwork", data: data, metadata: ["schemaVersion": 1])
            #expect(Upcaster.standard.isEmpty)
            #expect(result.type == "CommunityLeftNetwork")
            #expect(result.data == data)
        }

        /// An illustrative evolution: version 1 of CommunityRegistered had `type` with Ukrainian
        /// values (`міська`) where version 2 has `kind` (`urban`); version 2 renamed
        /// SeminarHeld to SeminarRecorded... and back, to show chaining across types.
        @Test func registeredTransformsChainFromTheDeclaredVersion() throws {
            var upcaster = Upcaster()
            upcaster.register(type: "CommunityRegistered", from: 1) { data in
                var d = data
                let kinds: [String: String] = ["міська": "urban", "селищна": "settlement", "сільська": "rural"]
                if let old = d.removeValue(forKey: "type")?.stringValue { d["kind"] = .string(kinds[old] ?? old) }
                return ("CommunityRegistered", d)
            }
            upcaster.register(type: "CommunityRegistered", from: 2) { data in
                var d = data
                if d["population"] == nil { d["population"] = 0 }
                return ("CommunityRegistered", d)
            }
            upcaster.register(type: "SeminarRecorded", from: 1) { data in ("SeminarHeld", data) }

            var old = Fixtures.community("x").without("kind").without("population")
            old["type"] = "сільська"
            // no schemaVersion: version 1, both transforms apply
            let v1 = upcaster.upcast(type: "CommunityRegistered", data: old)
            #expect(v1.data["kind"] == "rural")
            #expect(v1.data["type"] == nil)
            #expect(v1.data["population"] == 0)
            try EventCatalog.validatePayload(type: v1.type, data: v1.data)
            // declared version 2: only the second transform
            let v2 = upcaster.upcast(type: "CommunityRegistered", data: old, metadata: ["schemaVersion": 2])
            #expect(v2.data["type"] == "сільська")
            #expect(v2.data["population"] == 0)
            // current version 3: untouched
            #expect(upcaster.upcast(type: "CommunityRegistered", data: old, metadata: ["schemaVersion": 3]).data == old)
            #expect(upcaster.upcast(type: "CommunityRegistered", schemaVersion: 1, data: old).schemaVersion == 3)
            // a renamed type
            #expect(upcaster.upcast(type: "SeminarRecorded", data: [:]).type == "SeminarHeld")
            // a whole event
            let event = Fixtures.event("CommunityRegistered", "community-x", old)
            let upcast = upcaster.upcast(event)
            #expect(upcast.data["kind"] == "rural")
            #expect(World().rejection(upcast) == nil)
            #expect(World().rejection(event)?.field == "data.kind")
        }
    }
}
