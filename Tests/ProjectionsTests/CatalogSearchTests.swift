import Events
import Projections
import Testing
import TestSupport

/// Full-text search in Ukrainian: inflections, case, apostrophes, Latin look-alikes, ranking,
/// snippets, revisions and unpublishing.
@Suite struct CatalogSearchTests {
    static func community(_ id: String, _ name: String, oblast: String) -> RecordedEvent {
        Fixtures.event(
            0, "CommunityRegistered", "community-\(id)",
            [
                "communityId": .string(id), "name": .string(name), "oblast": .string(oblast), "kind": "urban",
                "settlements": 1, "population": 1000, "council": ["name": "рада"],
            ])
    }

    static func practice(
        _ id: String, community: String, title: String, summary: String, body: String = "Опис практики.",
        sector: String = "governance", directions: [String] = ["budget-process"], tags: [String] = []
    ) -> RecordedEvent {
        Fixtures.event(
            0, "PracticePublished", "practice-\(id)",
            [
                "practiceId": .string(id), "communityId": .string(community), "title": .string(title),
                "sector": .string(sector), "directions": .array(directions.map(JSONValue.string)),
                "participationForms": ["consultation"], "summary": .string(summary), "body": .string(body),
                "tags": .array(tags.map(JSONValue.string)),
            ])
    }

    static let events: [RecordedEvent] = Fixtures.numbered([
        community("merefa", "Мерефʼянська міська громада", oblast: "UA-63"),
        community("pyriatyn", "Пирятинська міська громада", oblast: "UA-53"),
        practice("p1", community: "merefa", title: "Громадський бюджет", summary: "Мешканці обирають проєкти."),
        practice("p2", community: "pyriatyn", title: "Звіт про виконання", summary: "Прозорість бюджету громади."),
        practice(
            "p3", community: "merefa", title: "Бюджетний процес онлайн", summary: "Відкриті дані.",
            sector: "education", directions: ["strategic-planning"]),
        practice("p4", community: "pyriatyn", title: "Молодіжний центр", summary: "Простір для молоді."),
        practice(
            "p5", community: "merefa", title: "Мерефʼянська школа лідерства", summary: "Навчання активістів.",
            tags: ["освіта"]),
        practice("p6", community: "pyriatyn", title: "Сім'я і громада", summary: "Підтримка родин у Пирятині."),
        practice(
            "p7", community: "pyriatyn", title: "Енергоефективність",
            summary: "Утеплення шкіл.", body: "Довгий опис без ключових слів, але з бюджетом наприкінці."),
    ])

    func store(_ folder: TemporaryFolder, _ events: [RecordedEvent] = Self.events) throws -> ProjectionStore {
        let store = try folder.store()
        try store.apply(events: events, projection: "catalog")
        return store
    }

    func ids(_ store: ProjectionStore, _ query: String, _ filters: CatalogFilters = CatalogFilters()) throws -> Set<String> {
        Set(try store.catalog(query: query, filters: filters, limit: 100).rows.map(\.practiceId))
    }

    @Test func aWordFindsItsInflectedForms() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        #expect(try ids(store, "бюджет") == ["p1", "p2", "p3", "p7"])
        #expect(try ids(store, "бюджету") == ["p1", "p2", "p3", "p7"])
        #expect(try ids(store, "бюджетний") == ["p3"])
        #expect(try ids(store, "громади") == ["p1", "p2", "p6"])
        #expect(try ids(store, "громадою").isSuperset(of: ["p2", "p6"]))
    }

    @Test func searchIgnoresCase() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        #expect(try ids(store, "БЮДЖЕТ") == ids(store, "бюджет"))
        #expect(try ids(store, "Молодіжний") == ["p4"])
    }

    @Test func theThreeApostrophesAreOneLetter() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        #expect(try ids(store, "Мереф'янська") == ["p5"])
        #expect(try ids(store, "Мереф’янська") == ["p5"])
        #expect(try ids(store, "Мерефʼянська") == ["p5"])
        #expect(try ids(store, "сімʼя") == ["p6"])
        #expect(try ids(store, "сім’я") == ["p6"])
    }

    @Test func latinLookAlikesTypedByMistakeStillMatch() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        // "Пирятині" with a Latin i; "прозорість" with Latin o, p, i; "Мерефʼянська" with Latin M, e, a.
        #expect(try ids(store, "Пирятинi") == ["p6"])
        #expect(try ids(store, "пpoзopiсть") == ["p2"])
        #expect(try ids(store, "Mерефʼянськa") == ["p5"])
    }

    @Test func filtersNarrowTheSearch() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        #expect(try ids(store, "бюджет", CatalogFilters(sector: "education")) == ["p3"])
        #expect(try ids(store, "бюджет", CatalogFilters(direction: "budget-process")) == ["p1", "p2", "p7"])
        #expect(try ids(store, "бюджет", CatalogFilters(oblast: "UA-63")) == ["p1", "p3"])
        #expect(try ids(store, "бюджет", CatalogFilters(community: "pyriatyn")) == ["p2", "p7"])
        #expect(try ids(store, "бюджет", CatalogFilters(form: "dialogue")).isEmpty)
        let page = try store.catalog(query: "бюджет")
        #expect(page.facets.oblast == ["UA-63": 2, "UA-53": 2])
        #expect(page.facets.sector == ["governance": 3, "education": 1])
        #expect(page.facets.community == ["merefa": 2, "pyriatyn": 2])
        #expect(page.facets.form == ["consultation": 4])
    }

    @Test func titleMatchesRankAboveBodyMatches() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        let page = try store.catalog(query: "бюджет")
        #expect(page.rows.last?.practiceId == "p7")
        #expect(page.rows.map(\.rank) == [1, 2, 3, 4])
    }

    @Test func snippetsHighlightTheOriginalWords() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        let p7 = try store.catalog(query: "бюджету").rows.first { $0.practiceId == "p7" }!
        #expect(p7.snippet.contains("[бюджетом]"), "\(p7.snippet)")
        let p5 = try store.catalog(query: "мереф'янська").rows.first!
        #expect(p5.snippet.isEmpty == false)
        let p2 = try store.catalog(query: "пpoзopiсть").rows.first!
        #expect(p2.snippet.hasPrefix("[Прозорість]"), "\(p2.snippet)")
    }

    @Test func revisionsUpdateTheIndexAndUnpublishedPracticesDisappear() throws {
        let folder = try TemporaryFolder()
        var events = Self.events
        let n = Int64(events.count)
        events.append(
            Fixtures.event(
                n + 1, "PracticeRevised", "practice-p4",
                ["practiceId": "p4", "changes": ["summary": "Бюджет участі для молоді.", "sector": "youth-sports"]]))
        events.append(Fixtures.event(n + 2, "PracticeUnpublished", "practice-p1", ["practiceId": "p1", "reason": "застаріла"]))
        let store = try store(folder, events)
        #expect(try ids(store, "бюджет") == ["p2", "p3", "p4", "p7"])
        #expect(try ids(store, "простір").isEmpty)
        #expect(try store.catalog(query: nil, filters: CatalogFilters(sector: "youth-sports")).rows.map(\.practiceId) == ["p4"])
        #expect(try store.catalog(query: nil).total == 6)
    }

    @Test func stemmerStripsInflectionsOnly() {
        #expect(UkrainianText.stem("бюджету") == "бюджет")
        #expect(UkrainianText.stem("бюджет") == "бюджет")
        #expect(UkrainianText.stem("бюджетний") == "бюджетн")
        #expect(UkrainianText.stem("громадою") == "громад")
        #expect(UkrainianText.stem("ліс") == "ліс")
        #expect(UkrainianText.indexText("Мерефʼянська, «Ґанок»!  TOP") == "мерефянська ганок тор")
        #expect(UkrainianText.indexText("ви\u{301}бори й\u{306}ї") == "вибори йї")
        #expect(UkrainianText.indexText("и\u{306}і\u{308}") == "йї")
    }

    @Test func aQueryWithoutWordsListsEverything() throws {
        let folder = try TemporaryFolder()
        let store = try store(folder)
        #expect(try store.catalog(query: "«»!?").total == Self.events.count - 2)
        #expect(try store.catalog(query: "такого слова немає").total == 0)
    }
}

/// Issue 7, item 7: a search that schedules the in-memory index in the background, and a
/// close right after it, must never leave a thread on a closed connection.
@Suite struct CatalogCloseRaceTests {
    @Test func closingRightAfterASearchWaitsForTheBackgroundIndex() throws {
        let folder = try TemporaryFolder()
        let sample = try Fixtures.sample()
        do {
            let store = try folder.store()
            try store.apply(events: sample, projection: "catalog")
            try store.close()
        }
        for round in 0..<150 {
            let store = try ProjectionStore(
                path: folder.path + "/projections.sqlite", projections: StandardProjections.all,
                backgroundIndexing: true)
            let page = try store.catalog(query: round % 2 == 0 ? "бюджет" : nil, limit: 5)
            #expect(page.total > 0)
            try store.close()
            // After close nothing runs: a later search fails cleanly and schedules nothing.
            #expect(throws: (any Error).self) { try store.catalog(query: "бюджет", limit: 5) }
        }
    }

    @Test func aOneShotStoreBuildsNoIndexInTheBackground() throws {
        let folder = try TemporaryFolder()
        let store = try ProjectionStore(
            path: folder.path + "/projections.sqlite", projections: StandardProjections.all,
            backgroundIndexing: false)
        defer { try? store.close() }
        try store.apply(events: CatalogSearchTests.events, projection: "catalog")
        let sqlite = try store.catalog(query: "бюджет", limit: 10, strategy: .sqlite)
        let auto = try store.catalog(query: "бюджет", limit: 10)
        #expect(auto.rows.map(\.practiceId) == sqlite.rows.map(\.practiceId))
        #expect(auto.total == sqlite.total)
    }
}
