import Events
import Foundation

/// A small fold of raw events, written for the tests alone, that computes what each read model
/// must answer straight from spec section 5 (no SQL, no code shared with the projections).
struct ReferenceFold {
    struct Community {
        var name: String
        var oblast: String
        var kind: String
        var population: Int64
    }
    struct Competition {
        var minJurors: Int
        var themes: [String]
    }
    struct Submission {
        var id: String
        var competition: String
        var theme: String
        var community: String
        var title: String
        var filed: Int64
        var withdrawn = false
        var scores: [String: Int64] = [:]
        var place: Int?
    }
    struct Member {
        var joinedAt: String
        var sectors: [String]
        var directions: [String]
    }
    struct Seminar {
        var id: String
        var date: String
        var oblast: String
        var direction: String
        var participants: Int
        var communities: [String]
    }
    struct Practice {
        var id: String
        var community: String
        var title: String
        var sector: String
        var directions: [String]
        var forms: [String]
        var summary: String
        var body: String
        var tags: [String]
    }

    var communities: [String: Community] = [:]
    var competitions: [String: Competition] = [:]
    var submissions: [String: Submission] = [:]
    var members: [String: Member] = [:]
    var seminars: [String: Seminar] = [:]
    var practices: [String: Practice] = [:]
    var last: Int64 = 0

    init(_ events: some Sequence<RecordedEvent>) {
        for e in events { apply(e) }
    }

    mutating func apply(_ e: RecordedEvent) {
        let d = e.data
        func s(_ k: String) -> String { d[k]?.stringValue ?? "" }
        func list(_ v: JSONValue?) -> [String] { v?.arrayValue?.compactMap(\.stringValue) ?? [] }
        last = e.position
        switch e.type {
        case "CommunityRegistered":
            communities[s("communityId")] = Community(
                name: s("name"), oblast: s("oblast"), kind: s("kind"), population: d["population"]?.intValue ?? 0)
        case "CompetitionAnnounced":
            competitions[s("competitionId")] = Competition(
                minJurors: Int(d["minJurors"]?.intValue ?? 1),
                themes: d["themes"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? [])
        case "SubmissionFiled":
            submissions[s("submissionId")] = Submission(
                id: s("submissionId"), competition: s("competitionId"), theme: s("themeCode"),
                community: s("communityId"), title: s("title"), filed: e.position)
        case "SubmissionAmended":
            if let title = d["changes"]?["title"]?.stringValue { submissions[s("submissionId")]?.title = title }
            if let c = d["changes"]?["communityId"]?.stringValue { submissions[s("submissionId")]?.community = c }
        case "SubmissionWithdrawn":
            submissions[s("submissionId")]?.withdrawn = true
        case "JuryScoreAdded":
            let total = d["scores"]?.objectValue?.values.compactMap(\.intValue).reduce(0, +) ?? 0
            submissions[s("submissionId")]?.scores[s("jurorId")] = total
        case "JuryScoreRetracted":
            submissions[s("submissionId")]?.scores[s("jurorId")] = nil
        case "WinnersAnnounced":
            for (id, sub) in submissions where sub.competition == s("competitionId") && sub.theme == s("themeCode") {
                submissions[id]?.place = nil
            }
            for w in d["winners"]?.arrayValue ?? [] {
                if let id = w["submissionId"]?.stringValue { submissions[id]?.place = w["place"]?.intValue.map(Int.init) }
            }
        case "CommunityJoinedNetwork":
            members[s("communityId")] = Member(
                joinedAt: e.occurredAt.rfc3339, sectors: list(d["sectors"]), directions: list(d["directions"]))
        case "CommunityLeftNetwork":
            members[s("communityId")] = nil
        case "SeminarHeld":
            seminars[s("seminarId")] = Seminar(
                id: s("seminarId"), date: s("date"), oblast: s("oblast"), direction: s("direction"),
                participants: Int(d["participants"]?.intValue ?? 0), communities: list(d["communityIds"]))
        case "PracticePublished":
            practices[s("practiceId")] = Practice(
                id: s("practiceId"), community: s("communityId"), title: s("title"), sector: s("sector"),
                directions: list(d["directions"]), forms: list(d["participationForms"]), summary: s("summary"),
                body: s("body"), tags: list(d["tags"]))
        case "PracticeRevised":
            let id = s("practiceId")
            guard var p = practices[id], let c = d["changes"]?.objectValue else { break }
            if let v = c["title"]?.stringValue { p.title = v }
            if let v = c["sector"]?.stringValue { p.sector = v }
            if let v = c["summary"]?.stringValue { p.summary = v }
            if let v = c["body"]?.stringValue { p.body = v }
            if c["directions"] != nil { p.directions = list(c["directions"]) }
            if c["participationForms"] != nil { p.forms = list(c["participationForms"]) }
            if c["tags"] != nil { p.tags = list(c["tags"]) }
            practices[id] = p
        case "PracticeUnpublished":
            practices[s("practiceId")] = nil
        default:
            break
        }
    }

    // MARK: - Expected answers

    struct BoardRow: Equatable, CustomStringConvertible {
        var rank: Int
        var submissionId: String
        var title: String
        var communityId: String
        var oblast: String?
        var score: Double?
        var jurors: Int
        var provisional: Bool
        var place: Int?
        var description: String {
            "#\(rank) \(submissionId) score=\(score.map { "\($0)" } ?? "nil") jurors=\(jurors) prov=\(provisional) place=\(place.map(String.init) ?? "-")"
        }
    }

    func board(_ competition: String, _ theme: String, kind: String? = nil) -> [BoardRow] {
        let minJurors = competitions[competition]?.minJurors ?? 1
        var rows: [(row: BoardRow, filed: Int64)] = []
        for sub in submissions.values
        where sub.competition == competition && sub.theme == theme && !sub.withdrawn
            && (kind == nil || communities[sub.community]?.kind == kind)
        {
            let n = sub.scores.count
            let score = n == 0 ? nil : Double(sub.scores.values.reduce(0, +)) / Double(n)
            rows.append(
                (
                    BoardRow(
                        rank: 0, submissionId: sub.id, title: sub.title, communityId: sub.community,
                        oblast: communities[sub.community]?.oblast, score: score, jurors: n, provisional: n < minJurors,
                        place: sub.place), sub.filed
                ))
        }
        rows.sort { a, b in
            if a.row.provisional != b.row.provisional { return b.row.provisional }
            let sa = a.row.score ?? -Double.infinity
            let sb = b.row.score ?? -Double.infinity
            if sa != sb { return sa > sb }
            if a.row.jurors != b.row.jurors { return a.row.jurors > b.row.jurors }
            return a.filed < b.filed
        }
        return rows.enumerated().map { i, r in
            var row = r.row
            row.rank = i + 1
            return row
        }
    }

    struct RegionRow: Equatable {
        var oblast: String
        var communities = 0
        var networkMembers = 0
        var networkPopulation: Int64 = 0
        var submissions: [String: Int] = [:]
        var meanScore: Double?
        var winners = 0
        var seminars = 0
        var seminarParticipants: Int64 = 0
        var seminarCommunities = 0
        var practices = 0
    }

    func regions() -> [RegionRow] {
        var rows: [String: RegionRow] = [:]
        func touch(_ oblast: String, _ body: (inout RegionRow) -> Void) {
            body(&rows[oblast, default: RegionRow(oblast: oblast)])
        }
        for (id, c) in communities {
            touch(c.oblast) {
                $0.communities += 1
                if members[id] != nil {
                    $0.networkMembers += 1
                    $0.networkPopulation += c.population
                }
            }
        }
        var scoreSums: [String: (Double, Int)] = [:]
        for sub in submissions.values.sorted(by: { $0.id < $1.id }) {
            guard let oblast = communities[sub.community]?.oblast else { continue }
            if !sub.withdrawn {
                touch(oblast) { $0.submissions[sub.competition, default: 0] += 1 }
                if !sub.scores.isEmpty {
                    let score = Double(sub.scores.values.reduce(0, +)) / Double(sub.scores.count)
                    let current = scoreSums[oblast] ?? (0, 0)
                    scoreSums[oblast] = (current.0 + score, current.1 + 1)
                }
            }
            if sub.place != nil { touch(oblast) { $0.winners += 1 } }
        }
        for (oblast, (sum, n)) in scoreSums { touch(oblast) { $0.meanScore = sum / Double(n) } }
        var attended = Set<String>()
        for seminar in seminars.values {
            touch(seminar.oblast) {
                $0.seminars += 1
                $0.seminarParticipants += Int64(seminar.participants)
            }
            attended.formUnion(seminar.communities)
        }
        for id in attended {
            if let c = communities[id] { touch(c.oblast) { $0.seminarCommunities += 1 } }
        }
        for p in practices.values {
            if let c = communities[p.community] { touch(c.oblast) { $0.practices += 1 } }
        }
        return rows.values.sorted { $0.oblast < $1.oblast }
    }

    /// Practices whose text (title, summary, body, tags) has a word starting with `prefix`,
    /// lowercased, splitting on anything that is not a letter or digit.
    func practicesWithWord(startingWith prefix: String) -> Set<String> {
        let prefix = prefix.lowercased()
        return Set(
            practices.values.filter { p in
                let text = ([p.title, p.summary, p.body] + p.tags).joined(separator: " ").lowercased()
                return text.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).contains { $0.hasPrefix(prefix) }
            }.map(\.id))
    }
}
