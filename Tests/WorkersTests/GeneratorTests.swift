import Foundation
import Testing

import DemoHistory
import Events

/// The demo history generator: deterministic, in log order, complete, and within every rule.
@Suite struct GeneratorTests {
    static let catalog: Set<String> = [
        "CompetitionAnnounced", "SubmissionDeadlineExtended", "WinnersAnnounced",
        "SubmissionFiled", "SubmissionAmended", "SubmissionWithdrawn", "JuryScoreAdded", "JuryScoreRetracted",
        "CommunityRegistered", "CommunityJoinedNetwork", "CommunityLeftNetwork",
        "SeminarHeld", "PracticePublished", "PracticeRevised", "PracticeUnpublished",
    ]

    static func lines(_ target: Int, seed: UInt64 = 2020) -> [[UInt8]] {
        var out: [[UInt8]] = []
        HistoryGenerator(seed: seed, targetEvents: target).generate { out.append($0) }
        return out
    }

    static func decode(_ lines: [[UInt8]]) throws -> [ProposedEvent] {
        try lines.map { line in try EventCodec.decodeProposed(line: line) }
    }

    static func chars(_ v: JSONValue?) -> Int { v?.stringValue?.unicodeScalars.count ?? 0 }

    static func isIdentifier(_ s: String?) -> Bool {
        guard let s, (1...64).contains(s.utf8.count) else { return false }
        return s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
        }
    }

    static func isCanonicalTimestamp(_ bytes: [UInt8], key: String) -> Bool {
        // "key":"YYYY-MM-DDTHH:MM:SSZ"
        let needle = Array("\"\(key)\":\"".utf8)
        guard let start = bytes.firstRange(of: needle)?.upperBound, start + 21 <= bytes.count else { return false }
        let t = Array(bytes[start..<start + 21])
        let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        return digits.allSatisfy { t[$0] >= 0x30 && t[$0] <= 0x39 } && t[4] == 0x2D && t[7] == 0x2D
            && t[10] == UInt8(ascii: "T") && t[13] == 0x3A && t[16] == 0x3A && t[19] == UInt8(ascii: "Z") && t[20] == 0x22
    }

    @Test func deterministicForASeed() {
        let a = Self.lines(3000)
        let b = Self.lines(3000)
        #expect(a.count == 3000)
        #expect(a == b)
        let c = Self.lines(3000, seed: 7)
        #expect(c.count == 3000)
        #expect(a != c)
    }

    @Test func hitsTheTargetAndWritesAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UInt32.random(in: 0...UInt32.max)).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let n = try HistoryGenerator(targetEvents: 2000).write(toPath: path)
        #expect(n == 2000)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let fileLines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        #expect(fileLines.count == 2001)  // the last line ends with a newline
        #expect(fileLines.last?.isEmpty == true)
        #expect(Array(fileLines[0]) == Self.lines(2000)[0])
        #expect(Self.lines(20_000).count == 20_000)
    }

    @Test func scalesByYearsAndCommunities() {
        let small = HistoryGenerator(targetEvents: 2000).plan
        #expect(small.years == 4)
        let big = HistoryGenerator(targetEvents: 1_000_000).plan
        #expect(big.years == 8)
        #expect(big.communities == 1469)
        #expect(big.submissionsPerYear.reduce(0, +) > 100_000)
    }

    @Test func recordedAtNeverDecreases() throws {
        let lines = Self.lines(5000)
        let events = try Self.decode(lines)
        var last = Int64.min
        for (n, e) in events.enumerated() {
            let recorded = try #require(e.recordedAt)
            #expect(recorded.milliseconds >= last, "line \(n + 1)")
            #expect(e.occurredAt <= recorded, "line \(n + 1)")
            #expect(recorded.milliseconds % 1000 == 0)
            last = recorded.milliseconds
            #expect(Self.isCanonicalTimestamp(lines[n], key: "occurredAt"))
            #expect(Self.isCanonicalTimestamp(lines[n], key: "recordedAt"))
        }
    }

    @Test func everyEventTypeAppearsInTheDemo() throws {
        let events = try Self.decode(Self.lines(2000))
        let types = Set(events.map(\.type))
        #expect(types == Self.catalog)
        // the six towns of the project take part
        let communities = Set(events.compactMap { $0.type == "CommunityRegistered" ? $0.data["name"]?.stringValue : nil })
        for town in ["Пирятинська", "Дрогобицька", "Миргородська", "Мерефʼянська", "Новоукраїнська", "Чугуївська"] {
            #expect(communities.contains(town + " міська громада"), "\(town)")
        }
        let cities = Set(events.compactMap { $0.type == "SeminarHeld" ? $0.data["city"]?.stringValue : nil })
        #expect(cities.isSuperset(of: ["Пирятин", "Дрогобич", "Миргород", "Мерефа", "Новоукраїнка", "Чугуїв"]))
        // the 2020 competition has the three themes of the appendix and its deadline
        let announced = try #require(events.first { $0.type == "CompetitionAnnounced" && $0.data["year"]?.intValue == 2020 })
        #expect(announced.data["submissionDeadline"]?.stringValue == "2020-08-25")
        #expect(announced.data["themes"]?.arrayValue?.compactMap { $0["title"]?.stringValue } == [
            "Влада та громада: інформування, діалог, участь",
            "Покращення якості надання освітніх послуг",
            "Формування безпечного, комфортного та привабливого життєвого середовища",
        ])
    }

    /// A Python-free check of the rules of EVENTS.md sections 3 and 4, independent of the store.
    @Test func obeysTheRules() throws {
        let events = try Self.decode(Self.lines(20_000))
        let idFields = ["competition": "competitionId", "submission": "submissionId", "community": "communityId",
                        "seminar": "seminarId", "practice": "practiceId"]
        let oblasts: Set<String> = Set([5, 7, 9, 12, 14, 18, 21, 23, 26, 30, 32, 35, 40, 43, 46, 48, 51, 53, 56, 59, 61, 63, 65, 68, 71, 74, 77]
            .map { $0 < 10 ? "UA-0\($0)" : "UA-\($0)" })
        let limits = ["title": 300, "problem": 1500, "activities": 3500, "results": 1500, "risks": 1000]
        var ids = Set<UUID>()
        var versions: [String: Int64] = [:]
        var deadlines: [String: String] = [:]
        var communities = Set<String>()
        var sawExtension = false, sawLateScore = false
        for (n, e) in events.enumerated() {
            let line = "line \(n + 1) (\(e.type))"
            let id = try #require(e.id, "\(line): every event carries an id")
            #expect(ids.insert(id).inserted, "\(line): duplicate id")
            #expect(e.metadata["source"]?.stringValue == "demo", "\(line)")
            #expect(e.metadata["actor"]?.stringValue?.isEmpty == false, "\(line)")
            // rule 1: stream = <category>-<payload id>
            let category = String(e.stream.prefix { $0 != "-" })
            let field = try #require(idFields[category], "\(line): unknown category \(category)")
            let key = try #require(e.data[field]?.stringValue)
            #expect(e.stream == category + "-" + key, "\(line)")
            for f in ["competitionId", "submissionId", "communityId", "jurorId", "seminarId", "practiceId"] where e.data[f] != nil {
                #expect(Self.isIdentifier(e.data[f]?.stringValue), "\(line): \(f)")
            }
            // expectedVersion, where given, is the stream's current version
            let current = versions[e.stream] ?? -1
            if let expected = e.expectedVersion { #expect(expected == current, "\(line): expectedVersion") }
            versions[e.stream] = current + 1
            // text limits (characters)
            let texts = e.type == "SubmissionAmended" ? (e.data["changes"]?.objectValue ?? [:]) : e.data
            if e.type.hasPrefix("Submission") {
                for (name, limit) in limits where texts[name] != nil {
                    #expect((1...limit).contains(Self.chars(texts[name])), "\(line): \(name)")
                }
            }
            switch e.type {
            case "CommunityRegistered":
                #expect(oblasts.contains(e.data["oblast"]?.stringValue ?? ""), "\(line)")
                #expect(["urban", "settlement", "rural"].contains(e.data["kind"]?.stringValue ?? ""), "\(line)")
                #expect((e.data["settlements"]?.intValue ?? 0) >= 1)
                #expect(e.data["council"]?["name"]?.stringValue?.hasSuffix(" рада") == true)
                communities.insert(key)
            case "CompetitionAnnounced":
                deadlines[key] = e.data["submissionDeadline"]?.stringValue
                let criteria = e.data["criteria"]?.arrayValue ?? []
                #expect(criteria.count == 5)
                #expect(criteria.allSatisfy { (1...100).contains($0["maxPoints"]?.intValue ?? 0) })
            case "SubmissionDeadlineExtended":
                let new = try #require(e.data["submissionDeadline"]?.stringValue)
                #expect(new > deadlines[key] ?? "", "\(line): an extension moves the deadline later")
                deadlines[key] = new
                sawExtension = true
            case "SubmissionFiled":
                // rule 2: on or before the current deadline day (UTC), the community registered
                let deadline = try #require(deadlines[e.data["competitionId"]?.stringValue ?? ""])
                #expect(String(e.occurredAt.rfc3339.prefix(10)) <= deadline, "\(line): filed after the deadline")
                #expect(communities.contains(e.data["communityId"]?.stringValue ?? ""), "\(line)")
            case "JuryScoreAdded":
                let scores = e.data["scores"]?.objectValue ?? [:]
                #expect(scores.count == 5 && scores.values.allSatisfy { ($0.intValue ?? -1) >= 0 }, "\(line)")
                if let recorded = e.recordedAt, recorded.milliseconds - e.occurredAt.milliseconds > 86_400_000 { sawLateScore = true }
            case "WinnersAnnounced":
                let places = (e.data["winners"]?.arrayValue ?? []).compactMap { $0["place"]?.intValue }
                #expect(!places.isEmpty && places.allSatisfy { $0 >= 1 })
            case "SeminarHeld":
                let attendees = e.data["communityIds"]?.arrayValue?.compactMap(\.stringValue) ?? []
                #expect(attendees.allSatisfy(communities.contains), "\(line): rule 7")
                #expect(oblasts.contains(e.data["oblast"]?.stringValue ?? ""))
            default:
                break
            }
        }
        #expect(sawExtension)
        #expect(sawLateScore)
    }

    /// The acceptance criterion: the domain accepts every generated event, in order.
    @Test func domainAcceptsEveryEvent() throws {
        var state = DomainState()
        var count = 0
        var lastFiling: ProposedEvent?
        for (n, line) in Self.lines(20_000).enumerated() {
            let event = try EventCodec.decodeProposed(line: line)
            do {
                try state.check(event)
            } catch {
                Issue.record("line \(n + 1) (\(event.type) \(event.stream)) rejected: \(error)")
                return
            }
            state.apply(type: event.type, stream: event.stream, occurredAt: event.occurredAt, data: event.data)
            if event.type == "SubmissionFiled" { lastFiling = event }
            count += 1
        }
        #expect(count == 20_000)
        #expect(state.competitionCount == 7)
        // the check is not vacuous: the same filing again is rejected
        let again = try #require(lastFiling)
        #expect(throws: Rejection.self) { try state.check(again) }
    }
}
