import Events
import Foundation
import Projections
import Synchronization
import Testing
import TestSupport

/// Rebuilds beside the live tables, swapped in one transaction; incremental folds equal rebuilds.
@Suite struct RebuildTests {
    @Test func incrementalApplicationEqualsARebuildAtEveryPrefix() throws {
        let folder = try TemporaryFolder()
        let incremental = try folder.store(name: "incremental.sqlite")
        let rebuilt = try folder.store(name: "rebuilt.sqlite")
        let events = try Fixtures.sample()
        let source = InMemoryEventSource()
        var checked = 0
        for (i, event) in events.enumerated() {
            try incremental.apply(events: [event])
            source.append([event])
            let n = i + 1
            guard n % 25 == 0 || n > events.count - 100 else { continue }
            try rebuilt.rebuild(source: source, batchSize: 97)
            #expect(try allDumps(rebuilt) == allDumps(incremental), "prefix \(n)")
            if n % 100 == 0 || n == events.count {
                #expect(try allAnswers(rebuilt) == allAnswers(incremental), "prefix \(n)")
            }
            checked += 1
        }
        #expect(checked > 140)
    }

    @Test func queriesNeverSeeAnEmptyOrHalfBuiltModelDuringARebuild() async throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        try store.apply(events: Fixtures.sample())
        let expected = (
            regions: try store.regions().rows.count, network: try store.network().rows.count,
            catalog: try store.catalog(query: nil).total, seminars: try store.seminars().rows.count,
            board: try store.leaderboard(competitionId: "bp-2019", themeCode: "2").rows.count,
            search: try store.catalog(query: "бюджет").total
        )
        #expect(expected.regions > 0 && expected.catalog > 0 && expected.board > 0)
        let done = Flag()
        let reader = Task.detached { () -> (reads: Int, bad: [String]) in
            var reads = 0
            var bad: [String] = []
            while !done.value.load(ordering: .acquiring) || reads < 5 {
                do {
                    let got = (
                        regions: try store.regions().rows.count, network: try store.network().rows.count,
                        catalog: try store.catalog(query: nil).total, seminars: try store.seminars().rows.count,
                        board: try store.leaderboard(competitionId: "bp-2019", themeCode: "2").rows.count,
                        search: try store.catalog(query: "бюджет").total
                    )
                    if got != expected { bad.append("\(got)") }
                } catch {
                    bad.append("\(error)")
                }
                reads += 1
            }
            return (reads, bad)
        }
        let source = try InMemoryEventSource(events: Fixtures.sample())
        for _ in 0..<3 {
            try store.rebuild(source: source, batchSize: 40)
        }
        done.value.store(true, ordering: .releasing)
        let result = await reader.value
        #expect(result.bad.isEmpty, "\(result.bad.prefix(3))")
        #expect(result.reads >= 5)
        #expect(try store.status().allSatisfy { $0.state == .running && $0.rebuildPosition == nil })
    }

    @Test func liveAppliesDuringARebuildAreKeptByTheSwap() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        let events = try Fixtures.sample()
        try store.apply(events: Array(events.prefix(1000)))
        // The source already holds everything; the live tables lag behind it, and the rebuild
        // ends past the live checkpoint.
        try store.rebuild(source: InMemoryEventSource(events: events), batchSize: 300)
        #expect(try store.status().allSatisfy { $0.checkpoint.position == Int64(events.count) })
        let direct = try folder.store(name: "direct.sqlite")
        try direct.apply(events: events)
        #expect(try allDumps(store) == allDumps(direct))
    }

    @Test func aSourceBehindTheLiveCheckpointKeepsTheLiveTables() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        try store.apply(events: Fixtures.sample())
        let before = try allDumps(store)
        #expect {
            try store.rebuild(projection: "network", source: InMemoryEventSource(events: Array(Fixtures.sample().prefix(50))))
        } throws: { ($0 as? ProjectionError)?.code == .sourceBehind }
        #expect(try allDumps(store) == before)
        let status = try store.status().first { $0.name == "network" }!
        #expect(status.state == .running)
        #expect(status.lastError?.contains("rebuild failed") == true)
    }

    @Test func aStaleSchemaIsReportedRefusedAndCuredByARebuild() throws {
        let folder = try TemporaryFolder()
        do {
            let store = try folder.store()
            try store.apply(events: Fixtures.sample())
            try store.close()
        }
        let projections: [any Projection] = StandardProjections.all.map { $0.name == "catalog" ? Bumped(base: $0) : $0 }
        let store = try folder.store(projections: projections)
        let stale = try store.status().filter(\.isStale)
        #expect(stale.map(\.name) == ["catalog"])
        #expect(stale.first?.storedSchemaVersion == 1)
        #expect(stale.first?.codeSchemaVersion == 2)
        #expect {
            try store.apply(events: [], projection: "catalog")
        } throws: { ($0 as? ProjectionError)?.code == .staleSchema }
        try store.rebuild(projection: "catalog", source: InMemoryEventSource(events: Fixtures.sample()))
        #expect(try store.status().allSatisfy { !$0.isStale })
        #expect(try store.catalog(query: nil).total == ReferenceFold(Fixtures.sample()).practices.count)
    }

    @Test func aRebuiltFileCopiesIntoASnapshot() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        try store.rebuild(source: InMemoryEventSource(events: Fixtures.sample()))
        try store.copy(to: folder.path + "/copy.sqlite")
        let copy = try folder.store(name: "copy.sqlite")
        #expect(try allDumps(copy) == allDumps(store))
        #expect(try allAnswers(copy) == allAnswers(store))
    }
}

/// A flag shared between tasks.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
