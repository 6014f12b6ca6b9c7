import Events
import Projections
import Testing
import TestSupport

/// The checkpoint moves with the rows, only forward, and never lets an event apply twice.
@Suite struct ExactlyOnceTests {
    @Test func applyingTheSameBatchTwiceChangesNothing() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        let batch = try Array(Fixtures.sample().prefix(600))
        try store.apply(events: batch)
        let once = try allDumps(store)
        try store.apply(events: batch)
        #expect(try allDumps(store) == once)
        for status in try store.status() {
            #expect(status.checkpoint.position == 600)
            #expect(status.checkpoint.recordedAt == batch.last?.recordedAt)
        }
    }

    @Test func overlappingBatchesApplyEachEventOnce() throws {
        let folder = try TemporaryFolder()
        let whole = try folder.store(name: "whole.sqlite")
        let pieces = try folder.store(name: "pieces.sqlite")
        let events = try Array(Fixtures.sample().prefix(900))
        try whole.apply(events: events)
        try pieces.apply(events: Array(events[0..<300]))
        try pieces.apply(events: Array(events[100..<700]))
        try pieces.apply(events: Array(events[650..<900]))
        try pieces.apply(events: Array(events[0..<900]))
        #expect(try allDumps(pieces) == allDumps(whole))
        #expect(try allAnswers(pieces) == allAnswers(whole))
    }

    @Test func aGapAfterTheCheckpointIsRefusedAndNothingMoves() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        try store.apply(events: Array(Fixtures.sample().prefix(10)), projection: "leaderboard")
        let before = try store.dump(projection: "leaderboard")
        #expect {
            try store.apply(events: Array(Fixtures.sample()[11..<20]), projection: "leaderboard")
        } throws: { error in
            let e = error as? ProjectionError
            return e?.code == .outOfOrder && e?.position == 12 && e?.projection == "leaderboard"
        }
        #expect(try store.dump(projection: "leaderboard") == before)
        #expect(try store.checkpoint(of: "leaderboard").position == 10)
    }

    @Test func aMalformedEventFailsTheProjectionWithoutKeepingTheBatch() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        let good = try Array(Fixtures.sample().prefix(5))
        try store.apply(events: good)
        let bad = Fixtures.event(6, "JuryScoreAdded", "submission-x", ["jurorId": "j1", "scores": ["a": 1]])
        #expect {
            try store.apply(events: [bad], projection: "leaderboard")
        } throws: { error in
            let e = error as? ProjectionError
            return e?.code == .malformedEvent && e?.position == 6
                && e?.description.contains("submissionId") == true && e?.description.contains("leaderboard") == true
        }
        let status = try store.status().first { $0.name == "leaderboard" }!
        #expect(status.state == .failed)
        #expect(status.lastError?.contains("position 6") == true)
        #expect(status.checkpoint.position == 5)
        // Events of types a projection does not read still move its checkpoint.
        try store.apply(events: [bad], projection: "seminars")
        #expect(try store.checkpoint(of: "seminars").position == 6)
    }

    @Test func catchUpReadsASourceUpToAPosition() throws {
        let folder = try TemporaryFolder()
        let store = try folder.store()
        let source = try InMemoryEventSource(events: Fixtures.sample())
        let report = try store.catchUp(source: source, upTo: 700, batchSize: 128)
        #expect(report.checkpoints.values.allSatisfy { $0.position == 700 })
        try store.catchUp(source: source, batchSize: 1000)
        let head = try Int64(Fixtures.sample().count)
        #expect(try store.status().allSatisfy { $0.checkpoint.position == head })
        let direct = try folder.store(name: "direct.sqlite")
        try direct.apply(events: Fixtures.sample())
        #expect(try allDumps(store) == allDumps(direct))
    }

    @Test func inMemorySourceRecordsJSONLinesLikeAStore() throws {
        let text = try String(contentsOf: TestPaths.sampleHistory, encoding: .utf8)
        let source = try InMemoryEventSource(jsonLines: text)
        #expect(try source.head().position == Int64(Fixtures.sample().count))
        let page = try source.events(after: 100, limit: 3)
        #expect(page.map(\.position) == [101, 102, 103])
        #expect(try page.map(\.version) == Fixtures.sample()[100..<103].map(\.version))
        #expect(try source.events(after: Int64(Fixtures.sample().count), limit: 10).isEmpty)
    }
}
