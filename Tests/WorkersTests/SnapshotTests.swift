import Crypto
import Foundation
import GRDB
import Testing

import Events
import Projections
import Workers
import TestSupport

/// Snapshots of the read models: consistent, atomic, checked against their checksums and the
/// log's chain, skipped when stale, restorable, pruned by policy, taken by the workers.
@Suite struct SnapshotTests {
    static func sha256(_ path: String) throws -> String {
        EventCodec.hex(Array(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path)))))
    }

    static func names(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test(arguments: LogBackend.allCases) func createWritesAManifestAndCompressedContentIntoItsOwnFolder(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(backend: backend)
        let snapshots = f.snapshots()
        let live = try f.liveProjections()
        defer { try? live.close() }
        let created = try snapshots.create(from: live, source: LogEventSource(reader: f.reader))
        #expect(created.isNew)
        #expect(created.eventsApplied == f.events.count)
        let m = try #require(created.info.manifest)
        #expect(m.position == f.head)
        #expect(m.recordedAt == f.events.last!.recordedAt.rfc3339)
        #expect(m.chainHash == f.events.last!.hash)
        #expect(m.projections.map(\.name) == StandardProjections.names)
        #expect(m.projections.map(\.schemaVersion) == StandardProjections.all.map(\.schemaVersion))
        #expect(created.info.name == SnapshotManifest.folderName(position: f.head, recordedAt: f.events.last!.recordedAt))
        #expect(created.info.name.hasPrefix(String(repeating: "0", count: 20 - String(f.head).count) + String(f.head) + "-"))

        // only the snapshot's folder is left: no temporary folder, no raw copy
        #expect(Self.names(snapshots.directory) == [created.info.name])
        #expect(Self.names(created.info.path) == [SnapshotManifest.fileName, SnapshotManifest.contentFileName])
        let content = created.info.path + "/" + m.content.file
        #expect(try Self.sha256(content) == m.content.compressedSHA256)
        let size = try FileManager.default.attributesOfItem(atPath: content)[.size] as? Int
        #expect(Int64(size ?? -1) == m.content.compressedBytes)
        #expect(m.content.compressedBytes < m.content.rawBytes)

        // the manifest on disk decodes to the same value
        let onDisk = try JSONDecoder().decode(
            SnapshotManifest.self, from: Data(contentsOf: URL(fileURLWithPath: created.info.path + "/manifest.json")))
        #expect(onDisk == m)

        let verified = try snapshots.verify(created.info.name, reader: f.reader)
        #expect(verified.problem == nil)
    }

    @Test(arguments: LogBackend.allCases) func createAtTheSamePositionTwiceWritesNothingNew(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 300, backend: backend)
        let snapshots = f.snapshots()
        let live = try f.liveProjections()
        defer { try? live.close() }
        let first = try snapshots.create(from: live, source: LogEventSource(reader: f.reader))
        let second = try snapshots.create(from: live, source: LogEventSource(reader: f.reader))
        #expect(first.isNew)
        #expect(!second.isNew)
        #expect(second.eventsApplied == 0)
        #expect(second.info.name == first.info.name)
        #expect(Self.names(snapshots.directory) == [first.info.name])
    }

    @Test(arguments: LogBackend.allCases) func aSnapshotCutAtAPositionHoldsTheStateOfThatPosition(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(backend: backend)
        let snapshots = f.snapshots()
        let info = try f.snapshot(at: 500, into: snapshots)
        #expect(info.position == 500)
        // restoring it into a new file gives exactly the replayed state at 500
        let store = try f.freshProjections()
        defer { try? store.close() }
        try snapshots.restore(info.name, into: store, reader: f.reader)
        #expect(try store.status().allSatisfy { $0.checkpoint.position == 500 })
        #expect(try StateDigest.compute(store) == f.referenceDigest(at: 500))
    }

    @Test(arguments: LogBackend.allCases) func anEmptyLogHasNothingToSnapshot(_ backend: LogBackend) throws {
        let f = try HistoryFixture(lines: [], backend: backend)
        let live = try f.liveProjections()
        defer { try? live.close() }
        #expect(throws: SnapshotError.self) {
            try f.snapshots().create(from: live, source: LogEventSource(reader: f.reader))
        }
        #expect(Self.names(f.snapshots().directory).allSatisfy { !$0.hasPrefix(".tmp-") })
    }

    @Test(arguments: LogBackend.allCases) func verifyRefusesACorruptedSnapshot(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 400, backend: backend)
        let snapshots = f.snapshots()
        let info = try f.snapshot(at: 400, into: snapshots)
        // list looks at the manifest only: still usable
        #expect(try snapshots.list(reader: f.reader).map(\.isUsable) == [true])
        try flipByte(in: info.path + "/" + SnapshotManifest.contentFileName)
        let verified = try snapshots.verify(info.name, reader: f.reader)
        #expect(verified.problem?.code == .corrupt)

        // a truncated file too
        let other = try f.snapshot(at: 200, into: snapshots)
        let path = other.path + "/" + SnapshotManifest.contentFileName
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: path))
        #expect(try snapshots.verify(other.name, reader: f.reader).problem?.code == .corrupt)

        // and restoring it is refused, leaving the read models as they were
        let live = try f.liveProjections()
        defer { try? live.close() }
        try live.catchUp(source: LogEventSource(reader: f.reader))
        #expect(throws: SnapshotError.self) { try snapshots.restore(info.name, into: live, reader: f.reader) }
        #expect(try live.status().allSatisfy { $0.checkpoint.position == 400 })
    }

    @Test(arguments: LogBackend.allCases) func verifyRefusesASnapshotOfAnotherHistory(_ backend: LogBackend) throws {
        var lines = try Sample.lines()
        let ours = try HistoryFixture(lines: Array(lines.prefix(600)), backend: backend)
        // the same events but for one population figure: every hash after it differs
        let text = String(decoding: lines[0], as: UTF8.self)
        let changed = text.replacingOccurrences(of: "\"population\":25096", with: "\"population\":25097")
        #expect(changed != text)
        lines[0] = Array(changed.utf8)
        let theirs = try HistoryFixture(lines: Array(lines.prefix(600)), backend: backend)
        #expect(ours.events[300].hash != theirs.events[300].hash)

        let foreign = try theirs.snapshot(at: 300, into: ours.snapshots())
        let listed = try ours.snapshots().list(reader: ours.reader)
        #expect(listed.count == 1)
        #expect(listed[0].problem?.code == .foreign)
        #expect(listed[0].problem?.message.contains("another history") == true)
        #expect(try ours.snapshots().verify(foreign.name, reader: ours.reader).problem?.code == .foreign)
        // it is fine for its own history
        #expect(try ours.snapshots().verify(foreign.name, reader: theirs.reader).problem == nil)

        let live = try ours.liveProjections()
        defer { try? live.close() }
        #expect(throws: SnapshotError.self) { try ours.snapshots().restore(foreign.name, into: live, reader: ours.reader) }
    }

    @Test(arguments: LogBackend.allCases) func verifyRefusesASnapshotWhoseChainValueWasAltered(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 300, backend: backend)
        let snapshots = f.snapshots()
        let info = try f.snapshot(at: 250, into: snapshots)
        let path = info.path + "/" + SnapshotManifest.fileName
        var m = try JSONDecoder().decode(SnapshotManifest.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        m.chainHash = String(repeating: "0", count: 64)
        try m.encoded().write(to: URL(fileURLWithPath: path))
        #expect(try snapshots.verify(info.name, reader: f.reader).problem?.code == .foreign)
    }

    @Test(arguments: LogBackend.allCases) func aSnapshotBeyondTheLogsHeadIsRefused(_ backend: LogBackend) throws {
        let longer = try HistoryFixture.sample(prefix: 400, backend: backend)
        let shorter = try HistoryFixture.sample(prefix: 200, backend: backend)
        let info = try longer.snapshot(at: 350, into: shorter.snapshots())
        let checked = try shorter.snapshots().verify(info.name, reader: shorter.reader)
        #expect(checked.problem?.code == .foreign)
        #expect(checked.problem?.message.contains("ends at position 200") == true)
    }

    @Test(arguments: LogBackend.allCases) func staleSchemaVersionsAreSkippedWithTheReasonInList(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 300, backend: backend)
        let snapshots = f.snapshots()
        let older = try f.snapshot(at: 100, into: snapshots)
        // a snapshot written by a build whose leaderboard was at another schema version
        let bumped: [any Projection] = StandardProjections.all.map { $0.name == "leaderboard" ? Bumped(base: $0) : $0 }
        let newer = try f.snapshot(at: 200, into: snapshots, projections: bumped)
        #expect(newer.manifest?.projections.first { $0.name == "leaderboard" }?.schemaVersion
            == LeaderboardProjection().schemaVersion + 1)

        let listed = try snapshots.list(reader: f.reader)
        #expect(listed.map(\.name) == [older.name, newer.name])
        #expect(listed[0].isUsable)
        let problem = try #require(listed[1].problem)
        #expect(problem.code == .stale)
        #expect(problem.message.contains("leaderboard"))
        #expect(problem.message.contains("schema version \(LeaderboardProjection().schemaVersion + 1)"))

        // verify says it is intact but stale; the time machine passes over it to the older one
        #expect(try snapshots.verify(newer.name, reader: f.reader).problem?.code == .stale)
        let past = try TimeMachine(reader: f.reader, snapshots: snapshots).state(at: 250)
        defer { past.discard() }
        #expect(past.report.snapshot == older.name)
        #expect(past.report.skipped.map(\.name) == [newer.name])
        #expect(past.report.skipped.first?.reason.contains("schema version") == true)
        #expect(past.report.eventsReplayed == 150)
        #expect(try StateDigest.compute(past.store) == f.referenceDigest(at: 250))

        // a time machine that only needs the network can use the newer one
        let network = try TimeMachine(reader: f.reader, snapshots: snapshots).state(at: 250, projections: ["network"])
        defer { network.discard() }
        #expect(network.report.snapshot == newer.name)
        #expect(network.report.eventsReplayed == 50)
    }

    @Test(arguments: LogBackend.allCases) func createRefusesStaleReadModels(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 100, backend: backend)
        let path = f.root + "/stale.sqlite"
        do {
            let store = try ProjectionStore(path: path)
            try store.catchUp(source: LogEventSource(reader: f.reader))
            try store.close()
        }
        let bumped: [any Projection] = StandardProjections.all.map { $0.name == "regions" ? Bumped(base: $0) : $0 }
        let store = try ProjectionStore(path: path, projections: bumped)
        defer { try? store.close() }
        let error = try #require(throws: SnapshotError.self) {
            try f.snapshots().create(from: store, source: LogEventSource(reader: f.reader))
        }
        #expect(error.code == .stale)
        #expect(error.message.contains("regions"))
    }

    @Test(arguments: LogBackend.allCases) func restoreThenCatchUpEqualsLive(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(backend: backend)
        let snapshots = f.snapshots()
        let live = try f.liveProjections()
        defer { try? live.close() }
        // the live read models stand at 700 when the snapshot is taken, then move on to the head
        try live.catchUp(source: LogEventSource(reader: f.reader, upTo: 700), upTo: 700)
        let info = try snapshots.create(from: live, source: LogEventSource(reader: f.reader, upTo: 700)).info
        #expect(info.position == 700)
        try live.catchUp(source: LogEventSource(reader: f.reader))
        let atHead = try StateDigest.compute(live)
        #expect(atHead == (try f.referenceDigest(at: f.head)))

        let manifest = try snapshots.restore(info.name, into: live, reader: f.reader)
        #expect(manifest.position == 700)
        #expect(try live.status().allSatisfy { $0.checkpoint.position == 700 && $0.state == .running })
        #expect(try StateDigest.compute(live) == f.referenceDigest(at: 700))
        // the live file stays in WAL mode, so readers and the writer go on side by side
        let mode = try DatabaseQueue(path: live.path).read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")

        let caught = try live.catchUp(source: LogEventSource(reader: f.reader))
        #expect(caught.eventsRead == f.events.count - 700)
        #expect(try StateDigest.compute(live) == atHead)
    }

    @Test(arguments: LogBackend.allCases) func readersOfTheLiveStoreKeepWorkingAcrossARestore(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 400, backend: backend)
        let snapshots = f.snapshots()
        let info = try f.snapshot(at: 150, into: snapshots)
        let live = try f.liveProjections()
        defer { try? live.close() }
        try live.catchUp(source: LogEventSource(reader: f.reader))
        #expect(try live.regions().asOf.position == 400)
        try snapshots.restore(info.name, into: live, reader: f.reader)
        #expect(try live.regions().asOf.position == 150)
        #expect(try live.network() == f.replayed(upTo: 150).network())
    }

    @Test(arguments: LogBackend.allCases) func pruneKeepsTheNewestN(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 500, backend: backend)
        let snapshots = f.snapshots()
        let made = try [100, 200, 300, 400, 500].map { try f.snapshot(at: Int64($0), into: snapshots).name }
        // leftovers of an interrupted write, old enough to go
        let leftover = snapshots.directory + "/.tmp-interrupted"
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: leftover)

        let wouldGo = try snapshots.prune(.keep(2), reader: f.reader, dryRun: true)
        #expect(wouldGo == Array(made.prefix(3)))
        #expect(try snapshots.list(reader: f.reader).count == 5)

        let removed = try snapshots.prune(.keep(2), reader: f.reader)
        #expect(removed == Array(made.prefix(3)))
        #expect(try snapshots.list(reader: f.reader).map(\.name) == Array(made.suffix(2)))
        #expect(Self.names(snapshots.directory) == Array(made.suffix(2)))
    }

    @Test(arguments: LogBackend.allCases) func pruneLeavesUnusableSnapshotsAloneUnlessAsked(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 300, backend: backend)
        let snapshots = f.snapshots()
        let good = try f.snapshot(at: 300, into: snapshots)
        let bumped: [any Projection] = StandardProjections.all.map { $0.name == "catalog" ? Bumped(base: $0) : $0 }
        let stale = try f.snapshot(at: 100, into: snapshots, projections: bumped)
        #expect(try snapshots.prune(.keep(1), reader: f.reader).isEmpty)
        #expect(try snapshots.prune(.keep(1), reader: f.reader, unusable: true) == [stale.name])
        #expect(try snapshots.list(reader: f.reader).map(\.name) == [good.name])
    }

    @Test func retentionKeepsOneADayForAMonthThenOneAMonth() {
        let reference = Timestamp(rfc3339: "2024-06-30T12:00:00Z")!
        func t(_ s: String) -> Timestamp { Timestamp(rfc3339: s)! }
        let snapshots: [(name: String, time: Timestamp)] = [
            ("today-late", t("2024-06-30T11:00:00Z")),
            ("today-early", t("2024-06-30T01:00:00Z")),
            ("yesterday", t("2024-06-29T10:00:00Z")),
            ("in-the-month-a", t("2024-06-10T10:00:00Z")),
            ("in-the-month-b", t("2024-06-10T08:00:00Z")),
            ("may-late", t("2024-05-20T00:00:00Z")),
            ("may-early", t("2024-05-02T00:00:00Z")),
            ("april", t("2024-04-15T00:00:00Z")),
            ("march-late", t("2024-03-31T00:00:00Z")),
            ("march-early", t("2024-03-01T00:00:00Z")),
            ("last-year", t("2023-01-05T00:00:00Z")),
        ]
        let daily = SnapshotRetention.daily(forDays: 31, keepLast: 1).kept(snapshots, reference: reference)
        #expect(
            daily == ["today-late", "yesterday", "in-the-month-a", "may-late", "april", "march-late", "last-year"])
        // the month that straddles the daily window keeps its newest older one too
        let bounded = SnapshotRetention.daily(forDays: 31, thenMonthlyForMonths: 2, keepLast: 1)
            .kept(snapshots, reference: reference)
        #expect(bounded == ["today-late", "yesterday", "in-the-month-a", "may-late", "april"])
        let onlyN = SnapshotRetention.keep(3).kept(snapshots, reference: reference)
        #expect(onlyN == ["today-late", "today-early", "yesterday"])
        #expect(SnapshotRetention.keep(0).kept(snapshots, reference: reference).isEmpty)
    }

    @Test(arguments: LogBackend.allCases) func policySnapshotsEveryNEventsOrTMinutes(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 1000, backend: backend)
        let clock = ManualClock()
        let snapshots = f.snapshots(now: clock.function)
        let live = try f.liveProjections()
        defer { try? live.close() }
        let policy = SnapshotPolicy(
            snapshots: snapshots, reader: f.reader, everyEvents: 300, everyMinutes: 60, now: clock.function)
        // the worker's rounds: the read models move, then the hook runs
        func round(to position: Int64) throws {
            let source = LogEventSource(reader: f.reader, upTo: position)
            try live.catchUp(source: source)
            try policy.caughtUp(projections: live, source: source)
        }
        func positions() throws -> [Int64] { try snapshots.list(reader: f.reader).compactMap(\.position) }

        try round(to: 100)
        #expect(try positions().isEmpty)  // 100 events since none: not yet
        try round(to: 320)
        #expect(try positions() == [320])  // >= 300 events
        try round(to: 500)
        #expect(try positions() == [320])  // 180 events, 0 minutes
        clock.advance(minutes: 61)
        try round(to: 520)
        #expect(try positions() == [320, 520])  // an hour passed with new events
        clock.advance(minutes: 61)
        try policy.caughtUp(projections: live, source: LogEventSource(reader: f.reader, upTo: 520))
        #expect(try positions() == [320, 520])  // no new event: nothing
        try round(to: 830)
        #expect(try positions() == [320, 520, 830])

        #expect(policy.isDue(position: 10, lastPosition: 0, lastTakenAt: clock.time, now: clock.time) == false)
        #expect(policy.isDue(position: 300, lastPosition: 0, lastTakenAt: clock.time, now: clock.time))
    }

    @Test(arguments: LogBackend.allCases) func policyPrunesAfterEachSnapshotAndRemembersTheLastOneOnDisk(_ backend: LogBackend) throws {
        let f = try HistoryFixture.sample(prefix: 600, backend: backend)
        let clock = ManualClock()
        let snapshots = f.snapshots(now: clock.function)
        try f.snapshot(at: 150, into: snapshots)
        let live = try f.liveProjections()
        defer { try? live.close() }
        let policy = SnapshotPolicy(
            snapshots: snapshots, reader: f.reader, everyEvents: 200, retention: .keep(2), now: clock.function)
        for p: Int64 in [300, 360, 600] {
            let source = LogEventSource(reader: f.reader, upTo: p)
            try live.catchUp(source: source)
            try policy.caughtUp(projections: live, source: source)
        }
        // 300 is only 150 past the snapshot on disk; 360 is 210 past it; 600 is 240 past 360
        #expect(try snapshots.list(reader: f.reader).compactMap(\.position) == [360, 600])
    }

    @Test(arguments: LogBackend.allCases) func zstdFilesRoundTripAndReportTheirChecksums(_ backend: LogBackend) throws {
        let f = try HistoryFixture(lines: [], backend: backend)
        let raw = f.root + "/raw.bin"
        var bytes = [UInt8]()
        for i in 0..<3_000_000 { bytes.append(UInt8(truncatingIfNeeded: i % 251 ^ (i >> 9))) }
        try Data(bytes).write(to: URL(fileURLWithPath: raw))
        let packed = try ZstdFile.compress(from: raw, to: f.root + "/raw.zst", level: 3)
        #expect(packed.inputBytes == Int64(bytes.count))
        #expect(packed.inputSHA256 == (try SnapshotTests.sha256(raw)))
        #expect(packed.outputSHA256 == (try SnapshotTests.sha256(f.root + "/raw.zst")))
        let unpacked = try ZstdFile.decompress(from: f.root + "/raw.zst", to: f.root + "/back.bin")
        #expect(unpacked.outputSHA256 == packed.inputSHA256)
        #expect(unpacked.inputSHA256 == packed.outputSHA256)
        #expect(try Data(contentsOf: URL(fileURLWithPath: f.root + "/back.bin")) == Data(bytes))
        // only hashing
        #expect(try ZstdFile.decompress(from: f.root + "/raw.zst", to: nil) == unpacked)
        // an empty file
        try Data().write(to: URL(fileURLWithPath: f.root + "/empty"))
        let empty = try ZstdFile.compress(from: f.root + "/empty", to: f.root + "/empty.zst")
        #expect(try ZstdFile.decompress(from: f.root + "/empty.zst", to: nil).outputSHA256 == empty.inputSHA256)
        // damage: zstd's own checksum or framing catches it
        try flipByte(in: f.root + "/raw.zst")
        #expect(throws: EventStoreError.self) { try ZstdFile.decompress(from: f.root + "/raw.zst", to: nil) }
    }
}
