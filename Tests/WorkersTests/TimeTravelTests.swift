import Foundation
import Testing

import Events
import Projections
import Workers
import TestSupport

/// The state at a past time: the newest usable snapshot at or before it, then replay, in a
/// scratch folder; always equal to a full replay of the prefix, with a digest that any machine
/// reproduces.
@Suite struct TimeTravelTests {
    @Test(arguments: LogBackend.allCases) func timeTravelEqualsAFullReplayOfThePrefixForManyTimes(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(backend: backend)
        let machine = TimeMachine(reader: f.reader, snapshots: nil)
        for (label, time) in f.interestingTimes() {
            let position = try machine.position(at: time)
            #expect(position == f.expectedPosition(at: time), "\(label)")
            let past = try machine.state(at: position)
            defer { past.discard() }
            #expect(past.report.snapshot == nil)
            #expect(past.report.position == position)
            #expect(past.report.eventsReplayed == Int(position), "\(label)")
            #expect(try past.store.network().asOf.position == position, "\(label)")
            #expect(try StateDigest.compute(past.store) == f.referenceDigest(at: position), "\(label)")
        }
    }

    @Test(arguments: LogBackend.allCases) func timeTravelFromSnapshotsEqualsAFullReplay(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(backend: backend)
        let snapshots = f.snapshots()
        let snapshotPositions: [Int64] = [250, 600, 1000]
        for p in snapshotPositions { try f.snapshot(at: p, into: snapshots) }
        let machine = TimeMachine(reader: f.reader, snapshots: snapshots)
        for (label, time) in f.interestingTimes() {
            let position = try machine.position(at: time)
            let past = try machine.state(at: position)
            defer { past.discard() }
            let expectedSnapshot = snapshotPositions.last { $0 <= position }
            #expect(past.report.snapshotPosition == (expectedSnapshot ?? 0), "\(label)")
            #expect(past.report.snapshot != nil || expectedSnapshot == nil, "\(label)")
            #expect(past.report.eventsReplayed == Int(position - (expectedSnapshot ?? 0)), "\(label)")
            #expect(past.report.skipped.isEmpty)
            #expect(try StateDigest.compute(past.store) == f.referenceDigest(at: position), "\(label)")
        }
        // exactly at a snapshot's position: nothing to replay
        let exact = try machine.state(at: 600)
        defer { exact.discard() }
        #expect(exact.report.snapshotPosition == 600)
        #expect(exact.report.eventsReplayed == 0)
        #expect(try StateDigest.compute(exact.store) == f.referenceDigest(at: 600))
        // and without snapshots the same answer
        let replayed = try machine.state(at: 600, useSnapshots: false)
        defer { replayed.discard() }
        #expect(replayed.report.snapshot == nil)
        #expect(try StateDigest.compute(replayed.store) == StateDigest.compute(exact.store))
    }

    @Test(arguments: LogBackend.allCases) func aCorruptedSnapshotIsSkippedAndTheAnswerStillComes(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(backend: backend)
        let snapshots = f.snapshots()
        let older = try f.snapshot(at: 300, into: snapshots)
        let newer = try f.snapshot(at: 800, into: snapshots)
        try flipByte(in: newer.path + "/" + SnapshotManifest.contentFileName)
        let machine = TimeMachine(reader: f.reader, snapshots: snapshots)

        let past = try machine.state(at: 900)
        defer { past.discard() }
        #expect(past.report.snapshot == older.name)
        #expect(past.report.skipped.map(\.name) == [newer.name])
        #expect(past.report.eventsReplayed == 600)
        #expect(try StateDigest.compute(past.store) == f.referenceDigest(at: 900))

        // with the only candidate damaged: replay from the start
        try flipByte(in: older.path + "/" + SnapshotManifest.contentFileName, at: 100)
        let fromStart = try machine.state(at: 900)
        defer { fromStart.discard() }
        #expect(fromStart.report.snapshot == nil)
        #expect(fromStart.report.skipped.count == 2)
        #expect(fromStart.report.eventsReplayed == 900)
        #expect(try StateDigest.compute(fromStart.store) == f.referenceDigest(at: 900))
    }

    @Test(arguments: LogBackend.allCases) func aForeignSnapshotIsSkippedAndTheAnswerStillComes(_ backend: LogBackend) throws {
        var lines = try Sample.lines()
        let ours = try HistoryFixture(lines: Array(lines.prefix(700)), backend: backend)
        let text = String(decoding: lines[1], as: UTF8.self)
        lines[1] = Array(text.replacingOccurrences(of: "\"population\":25000", with: "\"population\":25001").utf8)
        let theirs = try HistoryFixture(lines: Array(lines.prefix(700)), backend: backend)
        let foreign = try theirs.snapshot(at: 500, into: ours.snapshots())

        let past = try TimeMachine(reader: ours.reader, snapshots: ours.snapshots()).state(at: 650)
        defer { past.discard() }
        #expect(past.report.snapshot == nil)
        #expect(past.report.skipped.map(\.name) == [foreign.name])
        #expect(past.report.skipped.first?.reason.contains("another history") == true)
        #expect(try StateDigest.compute(past.store) == ours.referenceDigest(at: 650))
    }

    @Test(arguments: LogBackend.allCases) func onlyTheProjectionsNeededAreRebuilt(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(backend: backend)
        let snapshots = f.snapshots()
        try f.snapshot(at: 400, into: snapshots)
        let past = try TimeMachine(reader: f.reader, snapshots: snapshots).state(at: 900, projections: ["leaderboard"])
        defer { past.discard() }
        #expect(past.store.projections.map(\.name) == ["leaderboard"])
        #expect(past.report.projections == ["leaderboard"])
        #expect(past.report.snapshotPosition == 400)
        let reference = try f.replayed(upTo: 900)
        defer { try? reference.close() }
        let competitions = try reference.competitions()
        #expect(!competitions.isEmpty)
        #expect(try past.store.competitions() == competitions)
        for c in competitions {
            #expect(try past.store.leaderboards(competitionId: c) == reference.leaderboards(competitionId: c))
        }
        #expect(throws: SnapshotError.self) {
            try TimeMachine(reader: f.reader, snapshots: nil).state(at: 10, projections: ["nonsense"])
        }
    }

    @Test(arguments: LogBackend.allCases) func theLiveReadModelsAreNeverTouched(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(backend: backend)
        let live = try f.liveProjections()
        defer { try? live.close() }
        try live.catchUp(source: LogEventSource(reader: f.reader))
        let before = try StateDigest.compute(live)
        let statusBefore = try live.status()
        let snapshots = f.snapshots()
        try f.snapshot(at: 500, into: snapshots)
        let past = try TimeMachine(reader: f.reader, snapshots: snapshots).state(at: 700)
        #expect(past.directory.hasPrefix(FileManager.default.temporaryDirectory.path))
        #expect(past.store.path != live.path)
        #expect(try StateDigest.compute(past.store) != before)
        past.discard()
        #expect(!FileManager.default.fileExists(atPath: past.directory))
        #expect(try StateDigest.compute(live) == before)
        #expect(try live.status() == statusBefore)
    }

    @Test(arguments: LogBackend.allCases) func theDigestIsStableAcrossIndependentBuildsAndDiffersForDifferentTimes(_ backend: LogBackend) throws {
        let a = try HistoryFixture.sample(backend: backend)
        let b = try HistoryFixture.sample(backend: backend)
        #expect(a.root != b.root)
        // b travels through a snapshot, a replays from the start
        try b.snapshot(at: 450, into: b.snapshots())
        let time = a.events[899].recordedAt
        let position = try TimeMachine(reader: a.reader, snapshots: nil).position(at: time)
        let pastA = try TimeMachine(reader: a.reader, snapshots: nil).state(at: position)
        defer { pastA.discard() }
        let pastB = try TimeMachine(reader: b.reader, snapshots: b.snapshots()).state(at: position)
        defer { pastB.discard() }
        #expect(pastB.report.snapshotPosition == 450)

        let outA = a.root + "/state"
        let outB = b.root + "/nested/state"
        let digestA = try StateDigest.write(pastA.store, to: outA)
        let digestB = try StateDigest.write(pastB.store, to: outB)
        #expect(digestA == digestB)
        #expect(digestA.position == position)
        #expect(digestA.digest.count == 64)
        // the files themselves are byte for byte the same, and SHA256SUMS hashes to the digest
        let files = digestA.files.map(\.path) + [StateDigest.sumsFileName]
        #expect(files.contains("regions.json") && files.contains("catalog.json") && files.contains("network.json"))
        #expect(files.contains("seminars.json") && files.contains { $0.hasPrefix("leaderboard/") })
        for file in files {
            let x = try Data(contentsOf: URL(fileURLWithPath: outA + "/" + file))
            let y = try Data(contentsOf: URL(fileURLWithPath: outB + "/" + file))
            #expect(x == y, "\(file)")
        }
        #expect(try SnapshotTests.sha256(outA + "/" + StateDigest.sumsFileName) == digestA.digest)
        let sums = try String(contentsOfFile: outA + "/" + StateDigest.sumsFileName, encoding: .utf8)
        #expect(sums.split(separator: "\n").count == digestA.files.count)
        #expect(try SnapshotTests.sha256(outA + "/regions.json") == digestA.files.first { $0.path == "regions.json" }?.sha256)
        // canonical JSON: the asOf of the answer is in it
        let regions = try String(contentsOfFile: outA + "/regions.json", encoding: .utf8)
        #expect(regions.hasPrefix("{\"asOf\":{\"position\":\(position),"))

        // computing again gives the same; another time gives another digest
        #expect(try StateDigest.compute(pastA.store) == digestA)
        let other = try TimeMachine(reader: a.reader, snapshots: nil).state(at: position - 1)
        defer { other.discard() }
        #expect(try StateDigest.compute(other.store).digest != digestA.digest)
    }

    @Test(arguments: LogBackend.allCases) func writingAStateRefusesAFolderThatHoldsFiles(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 50, backend: backend)
        let past = try TimeMachine(reader: f.reader, snapshots: nil).state(at: 50)
        defer { past.discard() }
        let out = f.root + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: out + "/notes.txt"))
        #expect(throws: SnapshotError.self) { try StateDigest.write(past.store, to: out) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["notes.txt"])
        // an empty folder is fine
        try FileManager.default.removeItem(atPath: out + "/notes.txt")
        try StateDigest.write(past.store, to: out)
        #expect(FileManager.default.fileExists(atPath: out + "/" + StateDigest.sumsFileName))
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.root).allSatisfy { !$0.hasPrefix(".tmp-") })
    }

    @Test(arguments: LogBackend.allCases) func theEmptyStateBeforeTheFirstEventHasAStableDigest(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 20, backend: backend)
        let past = try TimeMachine(reader: f.reader, snapshots: f.snapshots()).state(at: 0)
        defer { past.discard() }
        #expect(past.report.position == 0)
        #expect(past.report.recordedAt == nil)
        #expect(past.report.eventsReplayed == 0)
        let empty = try HistoryFixture(lines: [], backend: backend)
        let nothing = try TimeMachine(reader: empty.reader, snapshots: nil).state(at: 5)
        defer { nothing.discard() }
        #expect(nothing.report.position == 0)
        #expect(try StateDigest.compute(past.store) == StateDigest.compute(nothing.store))
    }
}
