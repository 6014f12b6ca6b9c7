import Events
import Foundation
import Projections
import Rendering
import Testing
import TestSupport

/// Each read model over the sample history, against what the reference fold computes.
@Suite struct ReadModelTests {
    let folder: TemporaryFolder
    let store: ProjectionStore
    let reference: ReferenceFold

    init() throws {
        folder = try TemporaryFolder()
        store = try folder.store()
        try store.apply(events: Fixtures.sample())
        reference = try ReferenceFold(Fixtures.sample())
    }

    @Test func sampleHistoryIsLoaded() throws {
        let sample = try Fixtures.sample()
        #expect(sample.count > 1000)
        #expect(sample.last?.position == Int64(sample.count))
    }

    @Test func leaderboardsMatchTheReferenceForEveryThemeAndKind() throws {
        #expect(try Set(store.competitions()) == Set(reference.competitions.keys))
        for (competitionId, competition) in reference.competitions {
            for theme in competition.themes {
                for kind in [nil, "urban", "settlement", "rural"] {
                    let board = try store.leaderboard(competitionId: competitionId, themeCode: theme, kind: kind)
                    let expected = reference.board(competitionId, theme, kind: kind)
                    let actual = board.rows.map {
                        ReferenceFold.BoardRow(
                            rank: $0.rank, submissionId: $0.submissionId, title: $0.title ?? "",
                            communityId: $0.communityId, oblast: $0.oblast, score: $0.score, jurors: $0.jurors,
                            provisional: $0.provisional, place: $0.place)
                    }
                    #expect(actual == expected, "\(competitionId)/\(theme)/\(kind ?? "all")")
                    #expect(try board.asOf.position == Int64(Fixtures.sample().count))
                    #expect(try board.asOf.recordedAt == Fixtures.sample().last?.recordedAt)
                }
            }
        }
    }

    @Test func leaderboardsOfACompetitionComeOnePerTheme() throws {
        let boards = try store.leaderboards(competitionId: "bp-2020")
        #expect(boards.map(\.themeCode) == reference.competitions["bp-2020"]?.themes)
        #expect(boards.allSatisfy { board in board.rows.map(\.rank) == board.rows.indices.map { $0 + 1 } })
    }

    @Test func leaderboardShowsPlacesWithdrawalsAndProvisionalRows() throws {
        var places = 0
        var provisional = 0
        for (competitionId, competition) in reference.competitions {
            for board in try store.leaderboards(competitionId: competitionId) {
                places += board.rows.filter { $0.place != nil }.count
                provisional += board.rows.filter(\.provisional).count
                let withdrawn = Set(reference.submissions.values.filter(\.withdrawn).map(\.id))
                #expect(board.rows.allSatisfy { !withdrawn.contains($0.submissionId) })
                // Provisional rows come last.
                if let firstProvisional = board.rows.firstIndex(where: \.provisional) {
                    let tail = board.rows[firstProvisional...]
                    #expect(tail.allSatisfy { $0.provisional })
                }
            }
            _ = competition
        }
        #expect(places > 0)
        #expect(provisional > 0)
    }

    @Test func leaderboardJSONHasTheSpecKeysAndNulls() throws {
        let board = try store.leaderboard(competitionId: "bp-2021", themeCode: "1")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(board)) as! [String: Any]
        for key in ["competitionId", "themeCode", "asOf", "rows"] { #expect(json[key] != nil, "\(key)") }
        let asOf = json["asOf"] as! [String: Any]
        #expect(try asOf["position"] as? Int == Fixtures.sample().count)
        #expect(asOf["recordedAt"] is String)
        let rows = json["rows"] as! [[String: Any]]
        #expect(!rows.isEmpty)
        for row in rows {
            for key in ["rank", "submissionId", "title", "communityId", "oblast", "score", "jurors", "provisional", "place"] {
                #expect(row.keys.contains(key), "\(key)")
            }
            // 2021 is still being judged: no places yet, so `place` is null.
            #expect(row["place"] is NSNull)
        }
        #expect(rows.contains { $0["score"] is NSNumber })
    }

    @Test func unknownCompetitionThemeOrKindIsAClearError() throws {
        #expect { try store.leaderboard(competitionId: "nope", themeCode: "1") } throws: {
            ($0 as? ProjectionError)?.code == .notFound
        }
        #expect { try store.leaderboard(competitionId: "bp-2020", themeCode: "9") } throws: {
            ($0 as? ProjectionError)?.code == .notFound
        }
        #expect { try store.leaderboard(competitionId: "bp-2020", themeCode: "1", kind: "village") } throws: {
            ($0 as? ProjectionError)?.code == .invalidArgument
        }
    }

    @Test func regionalStatisticsMatchTheReference() throws {
        let actual = try store.regions()
        let expected = reference.regions()
        #expect(actual.rows.map(\.oblast) == expected.map(\.oblast))
        for (a, e) in zip(actual.rows, expected) {
            #expect(a.communities == e.communities, "\(e.oblast)")
            #expect(a.networkMembers == e.networkMembers, "\(e.oblast)")
            #expect(a.networkPopulation == e.networkPopulation, "\(e.oblast)")
            #expect(a.submissions == e.submissions, "\(e.oblast)")
            #expect((a.meanScore == nil) == (e.meanScore == nil), "\(e.oblast)")
            if let x = a.meanScore, let y = e.meanScore { #expect(abs(x - y) < 1e-9, "\(e.oblast)") }
            #expect(a.winners == e.winners, "\(e.oblast)")
            #expect(a.seminars == e.seminars, "\(e.oblast)")
            #expect(a.seminarParticipants == e.seminarParticipants, "\(e.oblast)")
            #expect(a.seminarCommunities == e.seminarCommunities, "\(e.oblast)")
            #expect(a.practices == e.practices, "\(e.oblast)")
        }
        #expect(try actual.asOf.position == Int64(Fixtures.sample().count))
    }

    @Test func regionsJSONHasTheSpecKeys() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(store.regions())) as! [String: Any]
        let rows = json["rows"] as! [[String: Any]]
        for key in [
            "oblast", "communities", "networkMembers", "networkPopulation", "submissions", "meanScore", "winners",
            "seminars", "seminarParticipants", "seminarCommunities", "practices",
        ] {
            #expect(rows.allSatisfy { $0.keys.contains(key) }, "\(key)")
        }
        #expect(rows.contains { ($0["submissions"] as? [String: Int])?.isEmpty == false })
    }

    @Test func networkRegisterMatchesTheReference() throws {
        let network = try store.network()
        #expect(network.rows.map(\.communityId) == reference.members.keys.sorted())
        for row in network.rows {
            let member = reference.members[row.communityId]!
            let community = reference.communities[row.communityId]
            #expect(row.joinedAt == member.joinedAt)
            #expect(row.sectors == member.sectors)
            #expect(row.directions == member.directions)
            #expect(row.name == community?.name)
            #expect(row.oblast == community?.oblast)
            let attended = reference.seminars.values.filter { $0.communities.contains(row.communityId) }.count
            #expect(row.seminarsAttended == attended, "\(row.communityId)")
        }
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(network)) as! [String: Any]
        let rows = json["rows"] as! [[String: Any]]
        for key in ["communityId", "name", "oblast", "joinedAt", "sectors", "directions", "seminarsAttended"] {
            #expect(rows.allSatisfy { $0.keys.contains(key) }, "\(key)")
        }
    }

    @Test func seminarsMatchTheReference() throws {
        let seminars = try store.seminars()
        let expected = reference.seminars.values.sorted { ($0.date, $0.id) < ($1.date, $1.id) }
        #expect(seminars.rows.map(\.seminarId) == expected.map(\.id))
        for (a, e) in zip(seminars.rows, expected) {
            #expect(a.date == e.date)
            #expect(a.oblast == e.oblast)
            #expect(a.direction == e.direction)
            #expect(a.participants == e.participants)
            #expect(a.communityIds == e.communities)
            #expect(a.communities == e.communities.count)
        }
    }

    @Test func catalogListsEveryPublishedPracticeWithItsCurrentFields() throws {
        let page = try store.catalog(query: nil, limit: 10_000)
        #expect(page.total == reference.practices.count)
        #expect(page.rows.map(\.practiceId) == reference.practices.keys.sorted())
        for hit in page.rows {
            let p = reference.practices[hit.practiceId]!
            #expect(hit.title == p.title)
            #expect(hit.sector == p.sector)
            #expect(hit.communityId == p.community)
            #expect(hit.oblast == reference.communities[p.community]?.oblast)
            #expect(hit.directions == p.directions)
            #expect(hit.participationForms == p.forms)
            #expect(hit.tags == p.tags)
        }
        #expect(page.rows.map(\.rank) == (0..<page.rows.count).map { $0 + 1 })
    }

    @Test func catalogFacetsCountTheMatchingPractices() throws {
        let page = try store.catalog(query: nil, limit: 0)
        #expect(page.rows.isEmpty)
        var sectors: [String: Int] = [:]
        var directions: [String: Int] = [:]
        var oblasts: [String: Int] = [:]
        for p in reference.practices.values {
            sectors[p.sector, default: 0] += 1
            for d in p.directions { directions[d, default: 0] += 1 }
            if let o = reference.communities[p.community]?.oblast { oblasts[o, default: 0] += 1 }
        }
        #expect(page.facets.sector == sectors)
        #expect(page.facets.direction == directions)
        #expect(page.facets.oblast == oblasts)
        let (sector, count) = sectors.max { $0.value < $1.value }!
        let filtered = try store.catalog(query: nil, filters: CatalogFilters(sector: sector), limit: 1000)
        #expect(filtered.total == count)
        #expect(filtered.rows.allSatisfy { $0.sector == sector })
        let (direction, dCount) = directions.max { $0.value < $1.value }!
        #expect(try store.catalog(query: nil, filters: CatalogFilters(direction: direction)).total == dCount)
        let (oblast, oCount) = oblasts.max { $0.value < $1.value }!
        let byOblast = try store.catalog(query: nil, filters: CatalogFilters(oblast: oblast), limit: 1000)
        #expect(byOblast.total == oCount)
        #expect(byOblast.rows.allSatisfy { $0.oblast == oblast })
    }

    @Test func catalogSearchFindsExactlyThePracticesWithTheWord() throws {
        for word in ["бюджет", "школа", "петиції", "Бюджету", "прозорість"] {
            let stem = UkrainianText.stem(UkrainianText.indexText(word))
            let expected = reference.practicesWithWord(startingWith: stem)
            let page = try store.catalog(query: word, limit: 10_000)
            #expect(Set(page.rows.map(\.practiceId)) == expected, "\(word)")
            #expect(page.total == expected.count, "\(word)")
        }
    }

    @Test func catalogSearchHighlightsTheOriginalText() throws {
        let page = try store.catalog(query: "бюджет", limit: 5)
        #expect(!page.rows.isEmpty)
        for hit in page.rows {
            #expect(hit.snippet.contains("["), "\(hit.snippet)")
            let marked = hit.snippet.split(separator: "[").dropFirst().map { $0.prefix { $0 != "]" } }
            #expect(marked.allSatisfy { $0.lowercased().hasPrefix("бюджет") }, "\(hit.snippet)")
            #expect(hit.relevance != nil)
        }
        let relevance = page.rows.compactMap(\.relevance)
        #expect(relevance == relevance.sorted(by: >))
    }

    @Test func inMemorySearchAnswersExactlyLikeFTS5() throws {
        let oblast = reference.communities[reference.practices.values.first!.community]!.oblast
        let community = reference.practices.values.first!.community
        let queries: [String?] = [
            nil, "бюджет", "громадський бюджет участі", "школа", "Мереф'янська", "прозорість петиції", "zzz", "«»",
            "онлайн-трансляція", "Бюджетного процесу",
        ]
        let filterSets = [
            CatalogFilters(), CatalogFilters(sector: "governance"), CatalogFilters(direction: "budget-process"),
            CatalogFilters(form: "dialogue", oblast: oblast), CatalogFilters(community: community),
            CatalogFilters(sector: "nothing"),
        ]
        for query in queries {
            for filters in filterSets {
                for limit in [0, 3, 1000] {
                    let sqlite = try store.catalog(query: query, filters: filters, limit: limit, strategy: .sqlite)
                    let memory = try store.catalog(query: query, filters: filters, limit: limit, strategy: .memory)
                    #expect(try canonicalJSON(memory) == canonicalJSON(sqlite), "\(query ?? "nil") \(filters) \(limit)")
                }
            }
        }
    }

    @Test func catalogJSONHasTheSpecKeys() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(store.catalog(query: "бюджет"))) as! [String: Any]
        for key in ["query", "asOf", "total", "rows"] { #expect(json.keys.contains(key), "\(key)") }
        let rows = json["rows"] as! [[String: Any]]
        for key in ["practiceId", "title", "communityId", "oblast", "sector", "snippet", "rank"] {
            #expect(rows.allSatisfy { $0.keys.contains(key) }, "\(key)")
        }
        let all = try JSONSerialization.jsonObject(with: JSONEncoder().encode(store.catalog(query: nil))) as! [String: Any]
        #expect(all["query"] is NSNull)
    }

    @Test func textTablesAlignUkrainianText() throws {
        let text = try store.leaderboard(competitionId: "bp-2020", themeCode: "1").renderText()
        let lines = text.split(separator: "\n").dropFirst()
        // The rule under the header is as wide as the widest line: every column lines up.
        let rule = lines.dropFirst().first!
        #expect(lines.allSatisfy { $0.count <= rule.count })
        let titleColumn = lines.first!.range(of: "title")!.lowerBound
        let offset = lines.first!.distance(from: lines.first!.startIndex, to: titleColumn)
        for line in lines.dropFirst(2) {
            // The character before each title column starts is a separator space.
            let i = line.index(line.startIndex, offsetBy: offset - 1)
            #expect(line[i] == " ", "\(line)")
        }
        for render in [
            try store.regions().renderText(), try store.catalog(query: "бюджет").renderText(),
            try store.network().renderText(), try store.seminars().renderText(),
            try ProjectionStatus.renderText(try store.status(), head: Int64(Fixtures.sample().count)),
        ] {
            #expect(render.split(separator: "\n").count >= 3)
        }
    }
}
