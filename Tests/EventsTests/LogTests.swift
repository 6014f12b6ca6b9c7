import Foundation
import Testing
import TestSupport

@testable import Events

/// The event log through its API: import and export, optimistic concurrency, idempotent ids,
/// group commit, atomic batches, recorded time, segments.
@Suite struct LogTests {

    // MARK: round trip

    @Test func sampleHistoryRoundTripsThroughImportAndExportWithIdenticalHashes() throws {
        try withTemporaryDirectory { dir in
            let sample = try Sample.lines()
            let first = try TestStore.create(in: dir, name: "first")
            let imported = try first.importLines(sample)
            #expect(imported.appended == sample.count)
            #expect(imported.rejected == 0)
            #expect(imported.head == Int64(sample.count))

            let exported = try first.exportedLines()
            try #require(exported.count == sample.count)
            // positions dense from 1; ids, streams, types, times and payloads as in the sample;
            // versions dense per stream; recordedAt never decreasing
            var versions: [String: Int64] = [:]
            var lastRecorded = Timestamp(milliseconds: .min)
            for (n, (source, stored)) in zip(sample, exported).enumerated() {
                let proposed = try EventCodec.decodeProposed(line: source)
                let event = try stored.withUnsafeBufferPointer { try EventCodec.decodeRecorded(line: $0) }
                #expect(event.position == Int64(n + 1))
                #expect(event.id == proposed.id)
                #expect(event.stream == proposed.stream)
                #expect(event.type == proposed.type)
                #expect(event.occurredAt == proposed.occurredAt)
                #expect(event.recordedAt == proposed.recordedAt)
                #expect(event.data == proposed.data)
                #expect(event.metadata == proposed.metadata)
                #expect(event.version == (versions[event.stream] ?? -1) + 1)
                versions[event.stream] = event.version
                #expect(event.recordedAt >= lastRecorded)
                lastRecorded = event.recordedAt
            }

            // the export, imported into an empty store, gives the same bytes
            let second = try TestStore.create(in: dir, name: "second")
            let reimported = try second.importLines(exported)
            #expect(reimported.appended == sample.count)
            let again = try second.exportedLines()
            #expect(again == exported, "the second store's export differs from the first's")

            let a = try first.verify()
            let b = try second.verify()
            #expect(a.ok && b.ok)
            #expect(a.headPosition == Int64(sample.count))
            #expect(a.headHash == hashField(exported.last!))
            #expect(a.headHash == b.headHash)
            let reader = try EventLogReader(layout: second.layout)
            #expect(try reader.head().hash == a.headHash)
        }
    }

    @Test func anAlteredExportIsRejectedOnImportNamingTheLineAndTheHash() throws {
        try withTemporaryDirectory { dir in
            let source = try TestStore.create(in: dir, name: "source")
            try source.importLines(try Sample.lines(prefix: 40))
            let exported = try source.exportedLines()

            // the 10th event's payload changed, its hash kept
            var tampered = exported
            let line = String(decoding: tampered[9], as: UTF8.self)
            let changed = line.replacingOccurrences(of: #""settlements":"#, with: #""settlements":1"#)
            try #require(changed != line)
            tampered[9] = Array(changed.utf8)

            let target = try TestStore.create(in: dir, name: "target")
            let before = try target.logFiles()
            #expect {
                try target.importLines(tampered)
            } throws: { error in
                let e = error as? EventStoreError
                return e?.code == .invalidEvent && e!.message.contains("line 10") && e!.message.contains("field hash")
            }
            #expect(try target.logFiles() == before, "a rejected import changed the log")
            #expect(try EventLogReader(layout: target.layout).head().position == 0)
        }
    }

    // MARK: idempotent ids

    @Test func reimportingTheSampleChangesNothing() throws {
        try withTemporaryDirectory { dir in
            let sample = try Sample.lines()
            let store = try TestStore.create(in: dir)
            // a partial import first, then the whole file: only the rest is appended
            let partial = try store.importLines(Array(sample.prefix(100)), commitEvery: 30)
            #expect(partial.appended == 100)
            let rest = try store.importLines(sample)
            #expect(rest.appended == sample.count - 100)
            #expect(rest.duplicates == 100)
            let files = try store.logFiles()
            let exported = try store.exportedLines()

            let again = try store.importLines(sample)
            #expect(again.appended == 0)
            #expect(again.duplicates == sample.count)
            #expect(again.head == Int64(sample.count))
            // its own export (lines with positions and hashes) is no news either
            let exportAgain = try store.importLines(exported)
            #expect(exportAgain.appended == 0)
            #expect(exportAgain.duplicates == sample.count)
            #expect(try store.logFiles() == files, "a re-import changed the log's bytes")
            #expect(try store.exportedLines() == exported)

            // the same hashes as a single import of the whole file
            let single = try TestStore.create(in: dir, name: "single")
            try single.importLines(sample)
            #expect(try single.exportedLines() == exported)
        }
    }

    @Test func appendingAnIDTheLogHoldsReportsItsOriginalPosition() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            try store.withWriter { writer in
                let id = UUID()
                let first = try writer.append([Sample.note("note-a", 1, id: id, expectedVersion: -1)], validate: false)
                #expect(first.positions == [1])
                #expect(first.appended == 1)
                _ = try writer.append([Sample.note("note-b", 2)], validate: false)
                // a retry of the same id, even with an expectedVersion that no longer holds
                let retry = try writer.append([Sample.note("note-a", 1, id: id, expectedVersion: -1)], validate: false)
                #expect(retry.positions == [1])
                #expect(retry.appended == 0)
                #expect(retry.duplicates == 1)
                #expect(retry.head == 2)
                // an id repeated inside one batch is appended once
                let other = UUID()
                let batch = try writer.append(
                    [Sample.note("note-c", 3, id: other), Sample.note("note-c", 3, id: other)], validate: false)
                #expect(batch.positions == [3, 3])
                #expect(batch.appended == 1)
                #expect(writer.head == 3)
            }
        }
    }

    // MARK: optimistic concurrency

    @Test func appendsConflictOnExpectedVersion() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            try store.withWriter { writer in
                #expect(try writer.append([Sample.note("note-a", 1, expectedVersion: -1)], validate: false).positions == [1])
                let files = try store.logFiles()

                func expectConflict(_ event: ProposedEvent, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) {
                    #expect(sourceLocation: sourceLocation) {
                        try writer.append([event], validate: false)
                    } throws: { error in
                        guard let e = error as? EventStoreError, e.code == .wrongExpectedVersion else { return false }
                        return e.message.contains(text) && e.message.contains(event.stream)
                    }
                }
                expectConflict(Sample.note("note-a", 2, expectedVersion: -1), mentioning: "already exists")
                expectConflict(Sample.note("note-a", 2, expectedVersion: 5), mentioning: "is at version 0, not 5")
                expectConflict(Sample.note("note-b", 2, expectedVersion: 0), mentioning: "does not exist")
                #expect(writer.head == 1)
                #expect(try store.logFiles() == files, "a conflicting append changed the log")

                #expect(try writer.append([Sample.note("note-a", 2, expectedVersion: 0)], validate: false).positions == [2])
                #expect(try writer.append([Sample.note("note-b", 3, expectedVersion: -1)], validate: false).positions == [3])
                #expect(try writer.append([Sample.note("note-a", 4, expectedVersion: 1)], validate: false).positions == [4])
            }
            let reader = try EventLogReader(layout: store.layout)
            #expect(try reader.streamVersion("note-a") == 2)
            #expect(try reader.streamVersion("note-b") == 0)
            #expect(try reader.stream("note-a").map(\.position) == [1, 2, 4])
        }
    }

    @Test func importNamesTheLineAndFieldOfAnExpectedVersionConflict() throws {
        try withTemporaryDirectory { dir in
            let sample = try Sample.lines(prefix: 5)
            let store = try TestStore.create(in: dir)
            try store.importLines(sample)
            let files = try store.logFiles()
            // the sample's first line again under a new id: its stream exists already
            var line = String(decoding: sample[0], as: UTF8.self)
            let id = try #require(try EventCodec.decodeProposed(line: sample[0]).id)
            line = line.replacingOccurrences(of: id.uuidString.lowercased(), with: UUID().uuidString.lowercased())
            #expect {
                let fresh = Array(#"{"stream":"note-x","type":"NoteTaken","occurredAt":"2020-01-01T00:00:00Z","data":{}}"#.utf8)
                try store.importLines([fresh, Array(line.utf8)], validate: false)
            } throws: { error in
                guard let e = error as? EventStoreError else { return false }
                return e.code == .invalidEvent && e.message.contains("line 2") && e.message.contains("field expectedVersion")
            }
            #expect(try store.logFiles() == files)
            #expect(try EventLogReader(layout: store.layout).streamVersion("note-x") == nil)
        }
    }

    // MARK: atomic batches

    @Test func aBatchWhoseThirdEventBreaksExpectedVersionLeavesNothing() throws {
        try withTemporaryDirectory { dir in
            var options = EventStoreOptions()
            options.frameBytes = 1  // every event of a batch in a frame of its own
            let store = try TestStore.create(in: dir)
            try store.withWriter(options) { writer in
                _ = try writer.append([Sample.note("note-a", 1, expectedVersion: -1)], validate: false)
                _ = try writer.append([Sample.note("note-a", 2, expectedVersion: 0)], validate: false)
                let files = try store.logFiles()
                let firstID = UUID()
                let batch = [
                    Sample.note("note-new", 3, id: firstID, expectedVersion: -1),
                    Sample.note("note-new", 4, expectedVersion: 0),
                    Sample.note("note-a", 5, expectedVersion: 0),  // note-a is at 1
                    Sample.note("note-a", 6),
                ]
                #expect {
                    try writer.append(batch, validate: false)
                } throws: { error in
                    guard let e = error as? EventStoreError else { return false }
                    // the conflict as values, not only as a sentence
                    return e.code == .wrongExpectedVersion && e.message.contains("event 3 of 4")
                        && e.conflict == VersionConflict(stream: "note-a", expected: 0, actual: 1)
                        && e.message.hasSuffix("expectedVersion: stream note-a is at version 1, not 0")
                }
                #expect(writer.head == 2)
                #expect(try store.logFiles() == files, "the failed batch left bytes in the log")
                let reader = try EventLogReader(layout: store.layout)
                #expect(try reader.position(of: firstID) == nil)
                #expect(try reader.streamVersion("note-new") == nil)
                #expect(try reader.streamVersion("note-a") == 1)

                // the corrected batch goes in whole, right after the head
                var fixed = batch
                fixed[2].expectedVersion = 1
                let result = try writer.append(fixed, validate: false)
                #expect(result.positions == [3, 4, 5, 6])
                #expect(try reader.stream("note-new").map(\.version) == [0, 1])
                #expect(try reader.stream("note-a").map(\.version) == [0, 1, 2, 3])
            }
            let report = try store.verify()
            #expect(report.ok)
            #expect(report.headPosition == 6)
            #expect(try store.withWriter { $0.head } == 6)
        }
    }

    @Test func aFailedBatchThatRolledSegmentsLeavesNoSegmentBehind() throws {
        try withTemporaryDirectory { dir in
            var options = EventStoreOptions()
            options.frameBytes = 512
            options.segmentSize = 2048
            let store = try TestStore.create(in: dir)
            let long = String(repeating: "громада ", count: 60)
            try store.withWriter(options) { writer in
                _ = try writer.append((1...3).map { Sample.note("note-a", $0, text: long) }, validate: false)
                let files = try store.logFiles()
                var batch = (4...20).map { Sample.note("note-b", $0, text: long) }
                batch.append(Sample.note("note-a", 21, expectedVersion: 0, text: long))
                #expect(throws: EventStoreError.self) { try writer.append(batch, validate: false) }
                #expect(try store.logFiles() == files, "the failed batch left files or bytes behind")
                #expect(writer.head == 3)
                batch[batch.count - 1].expectedVersion = 2
                #expect(try writer.append(batch, validate: false).positions == Array(4...21))
            }
            #expect(try store.segmentPaths().count > 2)
            let report = try store.verify()
            #expect(report.ok, "\(String(describing: report.problem))")
            #expect(report.headPosition == 21)
            store.removeIndex()
            #expect(try store.withWriter(options) { $0.head } == 21)
            #expect(try store.events().map(\.position) == Array(1...21))
        }
    }

    // MARK: group commit

    @Test func concurrentAppendsFromManyTasksAllSucceedWithDensePositions() async throws {
        try await withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let writer = try EventStore(layout: store.layout)
            let tasks = 16
            let appendsPerTask = 15
            // each task: its own stream, one event per append with the exact expectedVersion, and
            // every 5th append also a conflicting request that must fail without harming the others
            let outcomes = try await withThrowingTaskGroup(of: ([Int64], Int).self) { group in
                for t in 0..<tasks {
                    group.addTask {
                        try await onThread {
                            var positions: [Int64] = []
                            var conflicts = 0
                            for k in 0..<appendsPerTask {
                                let event = Sample.note("note-t\(t)", k, expectedVersion: Int64(k) - 1)
                                positions += try writer.append([event], validate: false).positions
                                if k % 5 == 4 {
                                    do {
                                        _ = try writer.append(
                                            [Sample.note("note-t\(t)", 1000 + k), Sample.note("note-t\(t)", 2000 + k, expectedVersion: 0)],
                                            validate: false)
                                    } catch let e as EventStoreError where e.code == .wrongExpectedVersion {
                                        conflicts += 1
                                    }
                                }
                            }
                            return (positions, conflicts)
                        }
                    }
                }
                var all: [([Int64], Int)] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            let total = tasks * appendsPerTask
            let positions = outcomes.flatMap(\.0).sorted()
            #expect(positions == Array(1...Int64(total)))
            #expect(outcomes.map(\.1).reduce(0, +) == tasks * (appendsPerTask / 5))
            #expect(writer.head == Int64(total))
            writer.close()

            let events = try store.events()
            #expect(events.map(\.position) == Array(1...Int64(total)))
            for t in 0..<tasks {
                let mine = events.filter { $0.stream == "note-t\(t)" }
                #expect(mine.map(\.version) == Array(0..<Int64(appendsPerTask)))
                #expect(mine.map { $0.data["n"] } == (0..<appendsPerTask).map { JSONValue.int(Int64($0)) })
            }
            let report = try store.verify()
            #expect(report.ok)
            #expect(report.headPosition == Int64(total))
        }
    }

    // MARK: time

    @Test func recordedAtNeverDecreases() throws {
        try withTemporaryDirectory { dir in
            let clock = SteppingClock(start: 1_700_000_000_000, step: -10_000)  // runs backwards
            var options = EventStoreOptions()
            options.clock = { clock.next() }
            let store = try TestStore.create(in: dir)
            try store.withWriter(options) { writer in
                for n in 1...5 { _ = try writer.append([Sample.note("note-a", n)], validate: false) }
                // a migrated recordedAt later than the log's is kept (within the clock skew allowed)
                let later = Timestamp(milliseconds: 1_700_000_060_000)
                _ = try writer.append([Sample.note("note-a", 6, recordedAt: later)], validate: false)
                // one earlier than the log's last is rejected, naming the field, and writes nothing
                let files = try store.logFiles()
                #expect {
                    try writer.append([Sample.note("note-a", 7, recordedAt: Timestamp(milliseconds: 1_700_000_059_999))], validate: false)
                } throws: { error in
                    guard let e = error as? EventStoreError else { return false }
                    return e.code == .invalidEvent && e.message.contains("field recordedAt")
                }
                #expect(try store.logFiles() == files)
                // the store's clock, now behind the log, does not take it backwards
                _ = try writer.append([Sample.note("note-a", 8)], validate: false)
            }
            let times = try store.events().map(\.recordedAt.milliseconds)
            #expect(times.count == 7)
            #expect(times == times.sorted(), "recordedAt decreased: \(times)")
            #expect(times[0] == 1_700_000_000_000)
            #expect(times[5] == 1_700_000_060_000)
            #expect(times[6] == 1_700_000_060_000)
            #expect(try store.verify().ok)
        }
    }

    // MARK: segments and zstd

    /// `zstd -dc` of the segments prints the stored lines: the export lines without their hash
    /// field (docs/FORMAT.md), and the SHA-256 chain over them gives the export's hashes.
    @Test func zstdOfTheSegmentsPrintsTheExportedLinesWithoutTheirHashes() throws {
        try withTemporaryDirectory { dir in
            var options = EventStoreOptions()
            options.segmentSize = 64 << 10
            options.frameBytes = 16 << 10
            let store = try TestStore.create(in: dir)
            try store.importLines(try Sample.lines(), options: options, commitEvery: 100)
            let segments = try store.segmentPaths()
            #expect(segments.count > 1)
            let exported = try store.exportedLines()

            let zstd = Process()
            zstd.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            zstd.arguments = ["zstd", "-dc"] + segments
            let out = Pipe()
            zstd.standardOutput = out
            zstd.standardError = FileHandle.nullDevice
            try zstd.run()
            let printed = [UInt8](out.fileHandleForReading.readDataToEndOfFile())
            zstd.waitUntilExit()
            #expect(zstd.terminationStatus == 0, "zstd -dc failed (is zstd installed?)")
            #expect(printed == exported.map(storedLine(ofExport:)).joinedLines(), "zstd -dc printed \(printed.count) bytes")

            var previous: [UInt8]? = nil
            var chained: [String] = []
            for line in printed.split(separator: 0x0A) {
                previous = Array(line).withUnsafeBufferPointer { EventCodec.chainHash(previous: previous, content: $0) }
                chained.append(EventCodec.hex(previous!))
            }
            #expect(chained == exported.map(hashField))
        }
    }

    /// An import's frames but its last are compressed on a thread of their own while the next
    /// one is encoded: the log's bytes, the index and the ids looked up meanwhile are those of
    /// frames compressed one after another on the writer's thread.
    @Test func framesCompressedInTheBackgroundWriteTheBytesOfFramesCompressedInline() throws {
        try withTemporaryDirectory { dir in
            let sample = try Sample.lines()
            // the whole sample twice in one import: the second copy's ids are found in the frame
            // being compressed, in the open frame and in the index
            let twice = sample + sample
            var files: [[String: Data]] = []
            var exports: [[[UInt8]]] = []
            for background in [false, true] {
                var options = EventStoreOptions()
                options.segmentSize = 64 << 10
                options.frameBytes = 4 << 10
                options.compressInBackground = background
                let store = try TestStore.create(in: dir, name: background ? "background" : "inline")
                let result = try store.importLines(twice, options: options)
                #expect(result.appended == sample.count)
                #expect(result.duplicates == sample.count)
                let report = try store.verify()
                #expect(report.ok, "\(String(describing: report.problem))")
                #expect(try store.segmentPaths().count > 2)
                files.append(try store.logFiles())
                exports.append(try store.exportedLines())
                let reader = try EventLogReader(layout: store.layout)
                let events = try store.events()
                for e in events.prefix(50) + events.suffix(50) {
                    #expect(try reader.position(of: e.id) == e.position)
                }
                // the index holds what a writer opened without it rebuilds from the log
                store.removeIndex()
                #expect(try store.withWriter(options) { $0.head } == Int64(sample.count))
                #expect(try store.exportedLines() == exports.last!)
            }
            #expect(files[0] == files[1], "the log's bytes differ")
            #expect(exports[0] == exports[1])
        }
    }

    /// A request abandoned while one of its frames is being compressed leaves nothing of it.
    @Test func aRejectedImportWithAFrameBeingCompressedLeavesNothing() throws {
        try withTemporaryDirectory { dir in
            var options = EventStoreOptions()
            options.frameBytes = 2 << 10
            let store = try TestStore.create(in: dir)
            let sample = try Sample.lines()
            try store.importLines(Array(sample.prefix(10)), options: options)
            let files = try store.logFiles()
            var bad = Array(sample[10..<300])
            bad.append(Array(#"{"type":"NoteAdded","stream":"note-x"}"#.utf8))
            #expect(throws: EventStoreError.self) { try store.importLines(bad, options: options) }
            #expect(try store.logFiles() == files, "the rejected import left bytes in the log")
            let again = try store.importLines(Array(sample[10...]), options: options)
            #expect(again.appended == sample.count - 10)
            #expect(try store.verify().ok)
        }
    }

    // MARK: opening and closing

    @Test func aSecondWriterInTheSameProcessIsRefusedWhileTheFirstIsOpen() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let first = try EventStore(layout: store.layout)
            #expect {
                _ = try EventStore(layout: store.layout)
            } throws: { error in
                (error as? EventStoreError)?.code == .locked
            }
            withExtendedLifetime(first) {}
        }
    }

    /// `close()` is documented to let go of the writer's lock.
    @Test func closingAStoreLetsAnotherWriterOpenIt() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let first = try EventStore(layout: store.layout)
            _ = try first.append([Sample.note("note-a", 1)], validate: false)
            first.close()
            #expect(throws: EventStoreError.self) { try first.append([Sample.note("note-a", 2)], validate: false) }
            #expect(throws: Never.self, "close() did not release the writer's lock") {
                let second = try EventStore(layout: store.layout)
                #expect(second.head == 1)
                second.close()
            }
            withExtendedLifetime(first) {}
        }
    }

    @Test func anIndexThatIsMissingIsRebuiltFromTheLog() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            try store.importLines(try Sample.lines(prefix: 200), commitEvery: 50)
            let exported = try store.exportedLines()
            store.removeIndex()
            let report = try store.withWriter { writer in
                #expect(writer.head == 200)
                return writer.recovery
            }
            #expect(report.indexedFrames > 0)
            #expect(report.cutReason == nil)
            #expect(try store.exportedLines() == exported)
            let reader = try EventLogReader(layout: store.layout)
            let first = try #require(try EventCodec.decodeProposed(line: try Sample.lines(prefix: 1)[0]).id)
            #expect(try reader.position(of: first) == 1)
        }
    }
}

/// A clock for `EventStoreOptions.clock` that moves by `step` milliseconds on every reading.
final class SteppingClock: @unchecked Sendable {
    // @unchecked: `now` is guarded by `lock`.
    private let lock = NSLock()
    private var now: Int64
    private let step: Int64
    init(start: Int64, step: Int64) {
        now = start
        self.step = step
    }
    func next() -> Timestamp {
        lock.lock()
        defer { lock.unlock() }
        let t = now
        now += step
        return Timestamp(milliseconds: t)
    }
}
