import Foundation
import Testing
import TestSupport

@testable import Events

#if canImport(Glibc)
import Glibc
#endif

/// The log under damage and crashes: torn tails at every byte, bit flips, forged events, writers
/// killed with SIGKILL, two writer processes, a reader process following a writer.
@Suite struct CrashTests {

    /// 63 events of the sample in small frames (1 KiB of lines: two events), committed every 7:
    /// many frames, some ending a transaction (COMMIT) and some not; the last one a single event.
    static func smallStore(in dir: URL, name: String = "small") throws -> (store: TestStore, segment: [UInt8], frames: [RawFrame]) {
        var options = EventStoreOptions()
        options.frameBytes = 1024
        let store = try TestStore.create(in: dir, name: name)
        try store.importLines(try Sample.lines(prefix: 63), options: options, commitEvery: 7)
        let segments = try store.segmentPaths()
        try #require(segments.count == 1)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segments[0])))
        let frames = try rawFrames(bytes)
        try #require(frames.count >= 10, "expected many frames, found \(frames.count)")
        try #require(frames.contains { !$0.header.isCommit }, "expected frames that do not end a transaction")
        try #require(frames.last!.header.isCommit)
        return (store, bytes, frames)
    }

    /// An empty store whose segment the test writes (and whose index it removes) per trial.
    struct Trial {
        let store: TestStore
        let segmentPath: String

        init(in dir: URL, name: String = "trial") throws {
            store = try TestStore.create(in: dir, name: name)
            segmentPath = store.layout.logDirectory + "/" + StoreLayout.segmentName(firstPosition: 1)
        }

        /// Puts `bytes` in place as the store's only segment; without `keepIndex`, removes the
        /// index so that opening rebuilds it from the log alone.
        func install(_ bytes: [UInt8], keepIndex: Bool = false) throws {
            let fd = open(segmentPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            try #require(fd >= 0, "cannot open \(segmentPath)")
            defer { close(fd) }
            let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            try #require(written == bytes.count && ftruncate(fd, off_t(bytes.count)) == 0, "cannot write \(segmentPath)")
            if !keepIndex { store.removeIndex() }
        }

        var segmentSize: Int { (try? FileManager.default.attributesOfItem(atPath: segmentPath)[.size] as? Int) ?? -1 }
    }

    /// Collects failures of a loop of many trials and reports the first few.
    struct Failures {
        var list: [String] = []
        mutating func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { list.append(message()) }
        }
        func report(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(list.isEmpty, "\(list.count) \(what) failed; first: \(list.prefix(5).joined(separator: " | "))", sourceLocation: sourceLocation)
        }
    }

    // MARK: torn tails

    @Test func theLastFrameTruncatedAtEveryByteOffsetIsCutBackToTheLastCommit() throws {
        try withTemporaryDirectory { dir in
            let (_, bytes, frames) = try Self.smallStore(in: dir)
            let trial = try Trial(in: dir)
            let last = frames.last!
            var failures = Failures()
            for cut in last.offset..<bytes.count {
                // mostly with the index of the last commit (as a crash leaves it), every 32nd without
                try trial.install(Array(bytes[..<cut]), keepIndex: (cut - last.offset) % 32 != 0)
                let committed = frames.last { $0.header.isCommit && $0.end <= cut }!
                let expectedHead = committed.header.lastPosition
                let pendingEvents = frames.filter { $0.offset >= committed.end && $0.end <= cut }.reduce(0) { $0 + Int($1.header.count) }

                if cut % 4 == 0 {  // verify tolerates a torn tail
                    let before = try trial.store.verify()
                    failures.check(before.ok, "cut \(cut): verify of the torn log reports \(String(describing: before.problem))")
                    failures.check(before.headPosition == expectedHead, "cut \(cut): verify's head \(before.headPosition), expected \(expectedHead)")
                }

                do {
                    let (head, recovery) = try trial.store.withWriter { ($0.head, $0.recovery) }
                    failures.check(head == expectedHead, "cut \(cut): head \(head) after opening, expected \(expectedHead)")
                    failures.check(
                        recovery.cutBytes == cut - committed.end, "cut \(cut): recovery cut \(recovery.cutBytes) bytes, expected \(cut - committed.end)")
                    failures.check(recovery.cutEvents == pendingEvents, "cut \(cut): recovery cut \(recovery.cutEvents) events, expected \(pendingEvents)")
                    failures.check((recovery.cutReason != nil) == (cut > committed.end), "cut \(cut): recovery reason \(String(describing: recovery.cutReason))")
                    failures.check(trial.segmentSize == committed.end, "cut \(cut): segment is \(trial.segmentSize) bytes, expected \(committed.end)")
                } catch {
                    failures.check(false, "cut \(cut): the store does not open: \(error)")
                    continue
                }
                let after = try trial.store.verify()
                failures.check(
                    after.ok && after.headPosition == expectedHead && after.uncommittedTailBytes == 0,
                    "cut \(cut): verify after opening: ok \(after.ok), head \(after.headPosition), tail \(after.uncommittedTailBytes)")
            }
            failures.report("truncations")
        }
    }

    @Test func garbageAfterTheLastFrameIsCutAndReported() throws {
        try withTemporaryDirectory { dir in
            let (store, bytes, frames) = try Self.smallStore(in: dir)
            let head = frames.last!.header.lastPosition
            var generator = SplitMix(seed: 42)
            let garbage = (0..<500).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let path = try store.segmentPaths()[0]
            try Data(bytes + garbage).write(to: URL(fileURLWithPath: path))

            let recovery = try store.withWriter { writer in
                #expect(writer.head == head)
                return writer.recovery
            }
            #expect(recovery.cutBytes == garbage.count)
            #expect(recovery.cutEvents == 0)
            let reason = try #require(recovery.cutReason)
            #expect(reason.contains("torn"))
            #expect(reason.contains("offset \(bytes.count)"))
            #expect(recovery.description.contains("cut \(garbage.count) bytes"))
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
            #expect(try store.verify().ok)
            // and the log goes on from there
            #expect(try store.withWriter { try $0.append([Sample.note("note-a", 1)], validate: false).positions } == [head + 1])
        }
    }

    /// A crash while a new segment is being started leaves a file that is empty, a torn header,
    /// a header alone, or a header and a torn frame: opening removes it and goes on.
    @Test func anInterruptedSegmentRollIsUndoneOnOpen() throws {
        try withTemporaryDirectory { dir in
            var options = EventStoreOptions()
            options.segmentSize = 4096
            let store = try TestStore.create(in: dir)
            let text = String(repeating: "Громадський бюджет участі ", count: 20)
            try store.withWriter(options) { writer in
                for n in 1...30 { _ = try writer.append([Sample.note("note-a", n, text: text)], validate: false) }
            }
            let segments = try store.layout.segments()
            try #require(segments.count >= 3)
            let last = segments.last!
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: last.path)))
            let frames = try rawFrames(bytes)
            try #require(frames.first!.header.isCommit)
            let exported = try store.exportedLines()
            var failures = Failures()
            for cut in [0, 10, SegmentHeader.size - 1, SegmentHeader.size, SegmentHeader.size + 1, SegmentHeader.size + FrameHeader.size - 1,
                        SegmentHeader.size + FrameHeader.size + 10, frames.first!.end - 1] {
                try Data(bytes[..<cut]).write(to: URL(fileURLWithPath: last.path))
                store.removeIndex()
                do {
                    let (head, recovery) = try store.withWriter(options) { ($0.head, $0.recovery) }
                    failures.check(head == last.first - 1, "cut \(cut): head \(head), expected \(last.first - 1)")
                    failures.check(recovery.cutBytes == cut, "cut \(cut): recovery reports \(recovery.cutBytes) bytes cut")
                    failures.check(
                        recovery.cutReason != nil && recovery.description.contains("cut \(cut) bytes"),
                        "cut \(cut): the removed segment is not reported (cutBytes \(recovery.cutBytes), reason \(String(describing: recovery.cutReason)), \"\(recovery.description)\")")
                    failures.check(!FileManager.default.fileExists(atPath: last.path), "cut \(cut): the torn segment is still there")
                } catch {
                    failures.check(false, "cut \(cut): the store does not open: \(error)")
                    continue
                }
                let report = try store.verify()
                failures.check(report.ok && report.headPosition == last.first - 1, "cut \(cut): verify \(String(describing: report.problem))")
            }
            failures.report("interrupted rolls")
            // and the log goes on: the same events again give the same bytes and hashes
            let again = try store.withWriter(options) { writer in
                try (Int(last.first)...30).map { n in try writer.append([Sample.note("note-a", n, text: text)], validate: false) }
            }
            #expect(again.flatMap(\.positions) == Array(last.first...30))
            #expect(try store.verify().ok)
            #expect(try store.exportedLines().count == exported.count)
        }
    }

    // MARK: damage

    @Test func singleBitFlipsAnywhereInASegmentAreCaughtByVerify() throws {
        try withTemporaryDirectory { dir in
            let (_, bytes, frames) = try Self.smallStore(in: dir)
            let trial = try Trial(in: dir)
            let middle = frames[frames.count / 2]
            let last = frames.last!
            // every byte of the segment header and of three frame headers, and bytes spread over the file
            var offsets = Set(0..<SegmentHeader.size)
            for frame in [frames[0], middle, last] { offsets.formUnion(frame.offset..<(frame.offset + FrameHeader.size)) }
            offsets.formUnion(stride(from: 0, to: bytes.count, by: max(1, bytes.count / 90)))
            offsets.insert(bytes.count - 1)
            #expect(offsets.count >= 300)

            var failures = Failures()
            for offset in offsets.sorted() {
                let bit = UInt8(1) << UInt8((offset &* 7 &+ 3) % 8)
                var flipped = bytes
                flipped[offset] ^= bit
                try trial.install(flipped, keepIndex: true)
                let frame = frames.last { $0.offset <= offset }
                let damagedAt = offset < SegmentHeader.size ? 0 : frame!.offset
                let what = "bit \(bit) at offset \(offset)"

                let report = try trial.store.verify()
                guard let problem = report.problem, !report.ok else {
                    failures.check(false, "\(what): verify reports no problem")
                    continue
                }
                failures.check(problem.segment.hasSuffix(StoreLayout.segmentName(firstPosition: 1)), "\(what): problem names \(problem.segment)")
                failures.check(problem.offset == damagedAt, "\(what): problem at offset \(problem.offset), expected \(damagedAt)")
                let position = offset < SegmentHeader.size ? 1 : frame!.header.firstPosition
                failures.check(problem.position == position, "\(what): problem at position \(problem.position), expected \(position)")

                // opening: a complete last frame that fails a checksum is damage, not a torn write:
                // the writer refuses, naming segment, offset and position, and changes nothing
                if damagedAt == last.offset && offset % 8 == 0 {
                    do {
                        let head = try trial.store.withWriter { $0.head }
                        failures.check(false, "\(what): damage in the last frame opened the store (head \(head)) instead of refusing")
                    } catch let e as EventStoreError {
                        failures.check(
                            e.code == .corruption && e.message.contains("offset \(last.offset)") && e.message.contains("admin repair"),
                            "\(what): the refusal does not name the offset and `admin repair`: \(e.message)")
                    }
                    failures.check(
                        [UInt8](try Data(contentsOf: URL(fileURLWithPath: trial.segmentPath))) == flipped,
                        "\(what): a refused open changed the segment")
                }
            }
            failures.report("bit flips")
        }
    }

    /// Opening runs in a child process (`admin import` of an empty file opens the writer): a crash
    /// there fails this test instead of ending the whole test run.
    @Test func damageInTheMiddleOfTheLogRefusesToOpenNamingSegmentOffsetAndPosition() throws {
        try withTemporaryDirectory { dir in
            let (store, bytes, frames) = try Self.smallStore(in: dir)
            let segment = try store.segmentPaths()[0]
            let empty = dir.appendingPathComponent("empty.jsonl")
            try Data().write(to: empty)
            var failures = Failures()

            func expectRefusal(_ damaged: [UInt8], _ frame: RawFrame, _ what: String) throws {
                let result = try runAdmin(["--store", store.layout.root, "import", empty.path])
                let firstLine = result.stderr.split(separator: "\n").first { $0.hasPrefix("error:") || $0.contains("Fatal error") }.map(String.init) ?? result.stderr
                failures.check(!result.signalled, "\(what): opening crashed (signal \(result.status)): \(firstLine)")
                failures.check(result.status == 1, "\(what): exit status \(result.status)")
                failures.check(
                    firstLine.contains(segment) && firstLine.contains("offset \(frame.offset)")
                        && firstLine.contains("position \(frame.header.firstPosition)"),
                    "\(what): stderr does not name segment, offset \(frame.offset) and position \(frame.header.firstPosition): \(firstLine)")
                failures.check(
                    [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment))) == damaged, "\(what): a refused open changed the segment")
            }

            // a byte of the body of frames spread over the log (each with frames after it), the index gone
            let spread = stride(from: 0, to: frames.count - 1, by: max(1, (frames.count - 1) / 8)).map { frames[$0] }
            for frame in spread {
                var damaged = bytes
                damaged[frame.offset + FrameHeader.size + 10] ^= 0x10
                try Data(damaged).write(to: URL(fileURLWithPath: segment))
                store.removeIndex()
                try expectRefusal(damaged, frame, "body of the frame at \(frame.offset)")
            }

            // a frame header's position field, the index intact
            for frame in [frames[1], frames[frames.count / 2], frames[frames.count - 2]] {
                try Data(bytes).write(to: URL(fileURLWithPath: segment))
                store.removeIndex()
                #expect(try store.withWriter { $0.head } == 63)
                var damaged = bytes
                damaged[frame.offset + 20] ^= 0x01
                try Data(damaged).write(to: URL(fileURLWithPath: segment))
                try expectRefusal(damaged, frame, "header of the frame at \(frame.offset)")
            }
            failures.report("damaged logs")
        }
    }

    /// With the index intact a writer opens without reading old frames' bodies; the damage must
    /// then surface when the frame is read, naming where it is.
    @Test func damageInTheMiddleIsNeverServedSilently() throws {
        try withTemporaryDirectory { dir in
            let (store, bytes, frames) = try Self.smallStore(in: dir)
            let segment = try store.segmentPaths()[0]
            let frame = frames[frames.count / 2]
            var damaged = bytes
            damaged[frame.offset + FrameHeader.size + 10] ^= 0x10
            try Data(damaged).write(to: URL(fileURLWithPath: segment))
            do {
                let head = try store.withWriter { $0.head }
                #expect(head == 63)
            } catch let e as EventStoreError {
                #expect(e.code == .corruption && e.message.contains("offset \(frame.offset)"))
                return
            }
            #expect {
                _ = try store.exportedLines()
            } throws: { error in
                guard let e = error as? EventStoreError, e.code == .corruption else { return false }
                return e.message.contains(segment) && e.message.contains("offset \(frame.offset)")
                    && e.message.contains("position \(frame.header.firstPosition)")
            }
            #expect(try !store.verify().ok)
        }
    }

    /// An event's bytes changed by one character, its frame recompressed with both CRCs
    /// recomputed: every checksum holds, and only the hash chain can tell.
    @Test func anEventAlteredWithRecomputedChecksumsBreaksTheHashChain() throws {
        try withTemporaryDirectory { dir in
            let (store, bytes, frames) = try Self.smallStore(in: dir)
            let original = try store.verify()
            try #require(original.ok)
            let k = try #require(frames.indices.first { $0 >= frames.count / 2 && frames[$0].header.count >= 2 })
            let frame = frames[k]
            let lines = try decompressedBody(bytes, frame).split(separator: 0x0A).map(Array.init)
            let trial = try Trial(in: dir)

            // the frame's first event
            try trial.install(try forgeSegment(bytes, frames, bodies: [k: Self.alterOneDigit(in: lines, at: 0).joinedLines()]))
            _ = try rawFrames([UInt8](try Data(contentsOf: URL(fileURLWithPath: trial.segmentPath))))  // headers and lengths hold
            let report = try trial.store.verify()
            #expect(!report.ok)
            #expect(report.problem?.position == frame.header.firstPosition)
            #expect(report.problem?.offset == frame.offset)
            #expect(report.problem?.reason.contains("hash chain") == true, "\(String(describing: report.problem))")
            #expect {
                _ = try EventStore(layout: trial.store.layout)
            } throws: { error in
                guard let e = error as? EventStoreError, e.code == .corruption else { return false }
                return e.message.contains("offset \(frame.offset)") && e.message.contains("position \(frame.header.firstPosition)")
                    && e.message.contains("hash chain")
            }

            // the frame's last event: the chain names the frame that holds it
            try trial.install(try forgeSegment(bytes, frames, bodies: [k: Self.alterOneDigit(in: lines, at: lines.count - 1).joinedLines()]))
            let last = try trial.store.verify()
            #expect(!last.ok)
            #expect(last.problem.map { (frame.header.firstPosition...frame.header.lastPosition).contains($0.position) } == true)
            #expect(last.problem?.offset == frame.offset)
            #expect(last.problem?.reason.contains("hash chain") == true, "\(String(describing: last.problem))")

            // with the index of the unaltered log in place, opening does not read old bodies; reading does
            let kept = store.layout.logDirectory + "/" + StoreLayout.segmentName(firstPosition: 1)
            try Data(try forgeSegment(bytes, frames, bodies: [k: Self.alterOneDigit(in: lines, at: 0).joinedLines()])).write(to: URL(fileURLWithPath: kept))
            #expect {
                _ = try store.exportedLines()
            } throws: { error in
                guard let e = error as? EventStoreError, e.code == .corruption else { return false }
                return e.message.contains("position \(frame.header.firstPosition)") && e.message.contains("hash chain")
            }
        }
    }

    /// A forger who rewrites every frame header after the change makes the log consistent
    /// again; a head hash published earlier is what still catches it (`verify --expect`).
    @Test func aRewrittenHistoryIsCaughtByAPublishedHeadHash() throws {
        try withTemporaryDirectory { dir in
            let (store, bytes, frames) = try Self.smallStore(in: dir)
            let original = try store.verify()
            let publishedHead = try #require(original.headHash)
            let k = frames.count / 2
            let frame = frames[k]
            let before = try #require(try EventLogReader(layout: store.layout).hash(at: frame.header.firstPosition - 1))
            let lines = try decompressedBody(bytes, frame).split(separator: 0x0A).map(Array.init)

            let trial = try Trial(in: dir)
            try trial.install(try forgeSegment(bytes, frames, bodies: [k: Self.alterOneDigit(in: lines, at: 0).joinedLines()], rechain: true))
            let forged = try trial.store.verify()
            #expect(forged.ok, "the forger's log is self-consistent: \(String(describing: forged.problem))")
            #expect(forged.headPosition == original.headPosition)
            #expect(forged.headHash != publishedHead)

            let receipt = try LogVerifier(layout: trial.store.layout).verify(expect: publishedHead)
            #expect(!receipt.ok)
            #expect(receipt.problem?.reason.contains("not in this log's chain") == true, "\(String(describing: receipt.problem))")
            // a receipt from before the change is still in the chain
            let earlier = try LogVerifier(layout: trial.store.layout).verify(expect: before)
            #expect(earlier.ok)
            #expect(earlier.expectedFoundAt == frame.header.firstPosition - 1)
        }
    }

    /// `lines` with one digit of line `n`'s payload changed (the line's length kept).
    static func alterOneDigit(in lines: [[UInt8]], at n: Int) throws -> [[UInt8]] {
        var lines = lines
        var line = lines[n]
        let dataStart = try #require(firstRange(of: Array(#","data":{"#.utf8), in: line)).upperBound
        let digitAt = try #require(line[dataStart...].firstIndex { $0 >= 0x30 && $0 <= 0x39 })
        line[digitAt] = line[digitAt] == 0x39 ? 0x38 : line[digitAt] + 1
        lines[n] = line
        return lines
    }

    // MARK: processes

    @Test func importsKilledWithSIGKILLKeepEveryAcknowledgedEventAndNothingPartial() throws {
        try withTemporaryDirectory { dir in
            let sample = try Sample.lines()
            let total = Int64(sample.count)
            let reference = try TestStore.create(in: dir, name: "reference")
            try reference.importLines(sample)
            let referenceLines = try reference.exportedLines()
            let referenceHashes = referenceLines.map(hashField)

            let every = 20
            var store = try TestStore.create(in: dir, name: "killed-0")
            var stores = 1
            var kills = 0
            var rounds = 0
            var head: Int64 = 0
            var generator = SystemRandomNumberGenerator()
            while kills < 15 || rounds < 20 {
                rounds += 1
                try #require(rounds <= 40, "only \(kills) of \(rounds) imports were killed while running")
                if head == total {
                    store = try TestStore.create(in: dir, name: "killed-\(stores)")
                    stores += 1
                    head = 0
                }
                // the lines the store does not have yet
                let input = dir.appendingPathComponent("input-\(rounds).jsonl")
                try Data(sample[Int(head)...].joinedLines()).write(to: input)
                let child = try AdminChild(["--store", store.layout.root, "import", "--commit-every", "\(every)", input.path])
                usleep(UInt32.random(in: 5_000...300_000, using: &generator))
                child.kill(SIGKILL)
                let result = child.finish()
                if result.signalled { kills += 1 } else {
                    #expect(result.status == 0, "round \(rounds): \(result.stderr)")
                }
                let acknowledged = child.acknowledged.max() ?? head
                let round = "round \(rounds) (killed: \(result.signalled), acknowledged \(acknowledged))"

                // what the killed writer left: at most a torn tail after the last commit
                let raw = try store.verify()
                #expect(raw.ok, "\(round): \(String(describing: raw.problem))")

                let (newHead, recovery) = try store.withWriter { ($0.head, $0.recovery) }
                #expect(newHead >= acknowledged, "\(round): head \(newHead) lost acknowledged events")
                #expect(newHead >= head, "\(round): head went back from \(head) to \(newHead)")
                #expect((newHead - head) % Int64(every) == 0 || newHead == total, "\(round): head \(newHead) is not a commit point")
                #expect(newHead == raw.headPosition, "\(round): recovery \(recovery)")
                head = newHead

                let after = try store.verify()
                #expect(after.ok && after.headPosition == head && after.uncommittedTailBytes == 0, "\(round): \(String(describing: after.problem))")
                let hashes = try store.exportedLines().map(hashField)
                #expect(hashes == Array(referenceHashes.prefix(Int(head))), "\(round): the stored events differ from the reference import")
            }
            #expect(kills >= 15)

            // and an import that is left alone completes the log, identical to the reference
            let final = try runAdmin(["--store", store.layout.root, "import", "--commit-every", "\(every)", TestPaths.sampleHistory.path])
            #expect(final.status == 0, "\(final.stderr)")
            #expect(final.stdout.contains("head position \(total)"))
            #expect(try store.exportedLines() == referenceLines)
            #expect(try store.verify().ok)
        }
    }

    @Test func twoWriterProcessesTakeTurnsAndNeitherLosesEvents() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let count = 150
            func file(_ prefix: String) throws -> (URL, [UUID]) {
                var ids: [UUID] = []
                var text = ""
                for n in 0..<count {
                    let id = UUID()
                    ids.append(id)
                    text += Self.communityLine(id: id, community: "\(prefix)-\(n)") + "\n"
                }
                let url = dir.appendingPathComponent("\(prefix).jsonl")
                try Data(text.utf8).write(to: url)
                return (url, ids)
            }
            let (fileA, idsA) = try file("wa")
            let (fileB, idsB) = try file("wb")

            // both at once, each waiting for the other's lock
            let a = try AdminChild(["--store", store.layout.root, "import", "--wait", "--commit-every", "10", fileA.path])
            let b = try AdminChild(["import", fileB.path, "--commit-every", "10", "--wait", "--store", store.layout.root])
            let ra = a.finish()
            let rb = b.finish()
            #expect(ra.status == 0, "\(ra.stderr)")
            #expect(rb.status == 0, "\(rb.stderr)")
            #expect(ra.stdout.contains("imported \(count) events"))
            #expect(rb.stdout.contains("imported \(count) events"))

            let reader = try EventLogReader(layout: store.layout)
            #expect(try reader.head().position == Int64(2 * count))
            let positionsA = try idsA.map { try #require(try reader.position(of: $0)) }
            let positionsB = try idsB.map { try #require(try reader.position(of: $0)) }
            #expect(Set(positionsA + positionsB) == Set(1...Int64(2 * count)))
            // one writer at a time: each file's events are one run of positions
            #expect(positionsA == Array(positionsA[0]..<(positionsA[0] + Int64(count))))
            #expect(positionsB == Array(positionsB[0]..<(positionsB[0] + Int64(count))))
            for n in 0..<count {
                #expect(try reader.streamVersion("community-wa-\(n)") == 0)
                #expect(try reader.streamVersion("community-wb-\(n)") == 0)
            }
            #expect(try store.verify().ok)
        }
    }

    @Test func aWriterProcessIsRefusedWhileAnotherHoldsTheLockAndWaitsWithWait() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let input = dir.appendingPathComponent("one.jsonl")
            let id = UUID()
            try Data((Self.communityLine(id: id, community: "lock-1") + "\n").utf8).write(to: input)

            var holder: EventStore? = try EventStore(layout: store.layout)
            _ = try holder!.append([Sample.note("note-a", 1)], validate: false)
            let files = try store.logFiles()

            let refused = try runAdmin(["--store", store.layout.root, "import", input.path])
            #expect(refused.status == 1)
            // at once, naming the store and the holder (this test process)
            #expect(
                refused.stderr.contains("the store \(store.layout.root) is being written by process \(getpid())")
                    && refused.stderr.contains("--wait"), "\(refused.stderr)")
            #expect(try store.logFiles() == files)

            let waiting = try AdminChild(["--store", store.layout.root, "import", "--wait", input.path])
            usleep(400_000)
            #expect(waiting.process.isRunning, "an importer with --wait did not wait for the lock")
            holder = nil  // frees the store and its lock
            let done = waiting.finish()
            #expect(done.status == 0, "\(done.stderr)")
            #expect(done.stdout.contains("head position 2"))
            #expect(try EventLogReader(layout: store.layout).position(of: id) == 2)
        }
    }

    /// A writer in this process is paused inside an import, with 510 events committed and its
    /// next transaction open (as an importer is while it waits for input); a reader process must
    /// still read every committed event, at once.
    @Test func aReaderProcessReadsEveryCommitWhileTheWriterHoldsItsNextTransactionOpen() throws {
        try withTemporaryDirectory { dir in try Self.readWhileTheWriterWaits(in: dir) }
    }

    static func readWhileTheWriterWaits(in dir: URL) throws {
        let sample = try Sample.lines()
        let store = try TestStore.create(in: dir)
        let follower = try EventLogReader(layout: store.layout)
        let writer = try EventStore(layout: store.layout)
        let gate = Gate(pauseAt: 600)
        let feed = LineFeed(sample, gate: gate)
        let importing = Thread {
            var options = EventStore.ImportOptions()
            options.commitEvery = 10
            _ = try? writer.importLines(options: options, next: { feed.next() })
            gate.finished()
        }
        importing.start()
        defer { gate.release() }

        gate.waitUntilPaused()
        // the writer commits what it has been given, then waits for more inside its next
        // transaction: wait until the head stays put
        let deadline = Date().addingTimeInterval(10)
        var head: Int64 = 0
        var stableSince = Date()
        while Date() < deadline {
            let now = try follower.head().position
            if now != head {
                head = now
                stableSince = Date()
            } else if head > 0 && Date().timeIntervalSince(stableSince) > 0.3 {
                break
            }
            usleep(10_000)
        }
        try #require(head > 0 && head % 10 == 0, "the paused writer committed nothing readable (head \(head))")

        let from = head - 9
        let reader = try AdminChild(["--store", store.layout.root, "read", "--from", "\(from)"])
        let finished = reader.wait(upTo: 4) { !$0.process.isRunning }
        #expect(finished, "a reader process is blocked while the writer holds its next transaction open (head \(head))")
        let result = reader.finish(timeout: 0.1)
        #expect(result.status == 0, "reader: \(result.stderr)")
        let lines = result.stdoutLines.map { Array($0.utf8) }

        gate.release()
        try #require(gate.waitUntilFinished(timeout: 30), "the import did not finish")
        #expect(writer.head == Int64(sample.count))
        writer.close()
        let reference = try store.exportedLines()
        #expect(lines == Array(reference[Int(from - 1)..<Int(head)]), "the reader printed \(lines.count) lines from \(from)")
    }

    /// The writer is a process importing the sample (commit every 10 lines); this process and
    /// reader processes read along: every state they see is a whole number of commits, and the
    /// events are those of a reference import.
    @Test func readersFollowAWriterProcessAndSeeOnlyWholeCommits() throws {
        try withTemporaryDirectory { dir in
            let sample = try Sample.lines()
            let total = Int64(sample.count)
            let reference = try TestStore.create(in: dir, name: "reference")
            try reference.importLines(sample)
            let referenceLines = try reference.exportedLines()

            let store = try TestStore.create(in: dir)
            let follower = try EventLogReader(layout: store.layout)
            let writer = try AdminChild(["--store", store.layout.root, "import", "--commit-every", "10", TestPaths.sampleHistory.path])
            var seenHeads: [Int64] = []
            var read: [[UInt8]] = []
            var readers: [AdminChild] = []
            var readerResults: [ChildResult] = []
            var failures = Failures()
            while true {
                let running = writer.process.isRunning
                let head = try follower.head().position
                if seenHeads.last != head {
                    seenHeads.append(head)
                    failures.check(head % 10 == 0 || head == total, "this process saw head \(head)")
                    try follower.forEachLine(from: Int64(read.count) + 1, through: head) { _, line in
                        read.append(Array(line))
                        return true
                    }
                }
                if running, readers.last.map({ !$0.process.isRunning }) ?? true, readers.count < 8 {
                    if let last = readers.last { readerResults.append(last.finish()) }
                    readers.append(try AdminChild(["--store", store.layout.root, "read"]))
                }
                if !running { break }  // this pass read the head after the writer ended
                usleep(1_000)
            }
            let done = writer.finish()
            #expect(done.status == 0, "\(done.stderr)")
            if let last = readers.last { readerResults.append(last.finish()) }

            #expect(read == referenceLines, "this process read \(read.count) events, not those of the reference")
            let intermediate = seenHeads.filter { $0 > 0 && $0 < total }
            #expect(intermediate.count >= 2, "this process did not follow the writer: heads seen \(seenHeads)")
            for (n, result) in readerResults.enumerated() {
                let lines = result.stdoutLines.map { Array($0.utf8) }
                failures.check(result.status == 0, "reader \(n): exit \(result.status): \(result.stderr)")
                failures.check(lines.count % 10 == 0 || lines.count == Int(total), "reader \(n) printed \(lines.count) events")
                failures.check(lines == Array(referenceLines.prefix(lines.count)), "reader \(n) printed events that differ from the reference")
            }
            failures.report("observations")
        }
    }

    /// A valid `CommunityRegistered` line.
    static func communityLine(id: UUID, community: String) -> String {
        #"{"id":"\#(id.uuidString.lowercased())","stream":"community-\#(community)","type":"CommunityRegistered","occurredAt":"2021-03-01T10:00:00Z","expectedVersion":-1,"data":{"communityId":"\#(community)","name":"Тестова сільська громада","oblast":"UA-05","kind":"rural","settlements":3,"population":4200,"council":{"name":"Тестова сільська рада"}},"metadata":{"actor":"test"}}"#
    }
}

/// The first range of `needle` in `haystack`.
func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
    guard needle.count <= haystack.count else { return nil }
    for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
        return i..<(i + needle.count)
    }
    return nil
}

/// A small seeded generator (SplitMix64), for reproducible garbage.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Pauses an import's input at a line until the test lets it go.
final class Gate: @unchecked Sendable {
    // @unchecked: the flags are guarded by `condition`.
    let pauseAt: Int
    private let condition = NSCondition()
    private var paused = false
    private var released = false
    private var done = false

    init(pauseAt: Int) { self.pauseAt = pauseAt }

    /// Called by the input at each line: blocks at `pauseAt` until released.
    func pass(_ line: Int) {
        guard line == pauseAt else { return }
        condition.lock()
        paused = true
        condition.broadcast()
        while !released { condition.wait() }
        condition.unlock()
    }

    func waitUntilPaused() {
        condition.lock()
        while !paused && !done { condition.wait() }
        condition.unlock()
    }

    func release() {
        condition.lock()
        released = true
        condition.broadcast()
        condition.unlock()
    }

    func finished() {
        condition.lock()
        done = true
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilFinished(timeout: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while !done { if !condition.wait(until: deadline) { break } }
        return done
    }
}

/// Lines handed out one by one (the `next` of an import), passing a gate.
final class LineFeed: @unchecked Sendable {
    // @unchecked: used by the import's one reading thread.
    private let lines: [[UInt8]]
    private let gate: Gate
    private var index = 0
    init(_ lines: [[UInt8]], gate: Gate) {
        self.lines = lines
        self.gate = gate
    }
    func next() -> [UInt8]? {
        gate.pass(index)
        defer { index += 1 }
        return index < lines.count ? lines[index] : nil
    }
}
