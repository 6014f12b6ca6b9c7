import Events
import Foundation
import Projections
import Testing
import TestSupport

/// A full rebuild of a scaled history and catalog searches over 10,000 practices. These tests
/// assert what the answers are, never how long they took (timing depends on the machine):
/// they print the figures for a reader, and `make bench` measures them properly in release.
/// `HROMADA_PERF_EVENTS` sets the size of the rebuild (default 50,000 events).
@Suite struct PerformanceTests {
    @Test func rebuildingEveryReadModelOfAScaledHistory() throws {
        let target = ProcessInfo.processInfo.environment["HROMADA_PERF_EVENTS"].flatMap(Int.init) ?? 50_000
        let copies = try max(1, target / Fixtures.sample().count)
        let events = try Fixtures.scaledSample(copies: copies)
        let folder = try TemporaryFolder()
        let store = try folder.store()
        let source = InMemoryEventSource(events: events)
        let start = ContinuousClock.now
        try store.rebuild(source: source, batchSize: 20_000)
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        let rate = Double(events.count) / seconds
        print("rebuild of \(events.count) events into all read models: \(Int(seconds * 1000)) ms, \(Int(rate)) events/s")
        #expect(try store.status().allSatisfy { $0.checkpoint.position == Int64(events.count) })
        // The catalog holds what a fold written apart from the projection finds in the events.
        #expect(try store.catalog(query: nil, limit: 0).total == ReferenceFold(events).practices.count)
    }

    @Test func searchStrategiesAgreeOverTenThousandPractices() throws {
        let practices = try Fixtures.sample().filter { $0.type == "PracticePublished" || $0.type == "CommunityRegistered" }
        let copies = 10_000 / max(1, practices.filter { $0.type == "PracticePublished" }.count) + 1
        var events: [RecordedEvent] = []
        for k in 0..<copies {
            for e in practices {
                var e = e
                if k > 0 {
                    e.data = Fixtures.rename(e.data, suffix: "-\(k)")
                    e.stream += "-\(k)"
                }
                e.position = Int64(events.count + 1)
                events.append(e)
            }
        }
        let folder = try TemporaryFolder()
        let store = try folder.store()
        try store.rebuild(projection: "catalog", source: InMemoryEventSource(events: events))
        let total = try store.catalog(query: nil, limit: 0).total
        #expect(total >= 10_000)
        let queries = [
            "бюджет", "громадський бюджет участі", "електронні петиції", "школа", "Мереф'янська", "прозорість",
            "молодіжний центр", "інклюзивне навчання", "стратегічний план розвитку", "соціальне таксі",
        ]
        func measure(_ strategy: CatalogSearchStrategy, rounds: Int) throws -> (p50: Double, p99: Double, pages: [CatalogPage]) {
            var durations: [Double] = []
            var pages: [CatalogPage] = []
            for round in 0..<rounds {
                for (i, q) in queries.enumerated() {
                    let filters =
                        round % 2 == 0 ? CatalogFilters() : CatalogFilters(sector: i % 2 == 0 ? "governance" : "education")
                    let start = ContinuousClock.now
                    let page = try store.catalog(query: q, filters: filters, limit: 20, strategy: strategy)
                    durations.append((ContinuousClock.now - start) / .milliseconds(1))
                    if round < 2 { pages.append(page) }
                }
            }
            durations.sort()
            return (durations[durations.count / 2], durations[max(0, Int(Double(durations.count) * 0.99) - 1)], pages)
        }
        let start = ContinuousClock.now
        try store.warmUpCatalogSearch()
        let warmUp = (ContinuousClock.now - start) / .milliseconds(1)
        let memory = try measure(.automatic, rounds: 10)
        let sqlite = try measure(.sqlite, rounds: 2)
        print(
            "catalog search over \(total) practices: in-memory index (built in \(Int(warmUp)) ms) p50 \(memory.p50) ms, p99 \(memory.p99) ms; FTS5 p50 \(sqlite.p50) ms, p99 \(sqlite.p99) ms"
        )
        // Both ways of searching give the same pages, and the common words find many practices.
        #expect(memory.pages == sqlite.pages)
        #expect(memory.pages[0].total >= copies)
    }
}
