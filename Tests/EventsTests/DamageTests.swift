import Foundation
import Testing
import TestSupport

@testable import Events

#if canImport(Glibc)
import Glibc
#endif

/// A flipped bit never makes a writer delete acknowledged events: a complete frame that fails a
/// check is damage, refused with its segment, offset and positions, and `admin repair` moves
/// it aside (never deleting it) and says which positions are gone.
@Suite struct DamageTests {

    /// The sample (or its first `events`) imported in commits of `commitEvery` (one frame each) and
    /// one event appended: 1255 events by default, in one segment, every frame a commit.
    struct Fixture {
        let store: TestStore
        let segment: String
        let bytes: [UInt8]
        let frames: [RawFrame]
        let index: Data
        let lines: [[UInt8]]

        init(in dir: URL, name: String = "damaged", events: Int? = nil, commitEvery: Int = 100) throws {
            store = try TestStore.create(in: dir, name: name)
            let sample = try Sample.lines()
            try store.importLines(Array(sample.prefix(events ?? sample.count)), commitEvery: commitEvery)
            _ = try store.withWriter { try $0.append([Sample.note("note-a", 1)], validate: false) }
            segment = try #require(try store.segmentPaths().first)
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment)))
            frames = try rawFrames(bytes)
            try #require(frames.allSatisfy(\.header.isCommit) && frames.count >= 10)
            index = try Data(contentsOf: URL(fileURLWithPath: store.layout.index))
            lines = try store.exportedLines()
        }

        /// Puts `segmentBytes` in place, with the original index or none, and no leftovers of
        /// an earlier repair.
        func install(_ segmentBytes: [UInt8], withIndex: Bool) throws {
            try Data(segmentBytes).write(to: URL(fileURLWithPath: segment))
            store.removeIndex()
            try? FileManager.default.removeItem(atPath: store.layout.root + "/damaged")
            if withIndex { try index.write(to: URL(fileURLWithPath: store.layout.index)) }
        }

        var segmentNow: [UInt8] { (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))) ?? [] }

        /// `bytes` with one bit flipped.
        func flipped(at offset: Int, bit: Int) -> [UInt8] {
            var out = bytes
            out[offset] ^= UInt8(1 << bit)
            return out
        }
    }

    /// Whether `error` is a writer's refusal naming the segment, the offset, the position and `admin repair`.
    static func isRefusal(_ error: any Error, segment: String, offset: Int, position: Int64) -> Bool {
        guard let e = error as? EventStoreError, e.code == .corruption else { return false }
        return e.message.contains(segment) && e.message.contains("offset \(offset)") && e.message.contains("position \(position)")
            && e.message.contains("admin repair")
    }

    @Test func aFlippedBitInTheLastFrameMakesEveryWriterRefuseAndCutsNothing() throws {
        try withTemporaryDirectory { dir in
            let fixture = try Fixture(in: dir)
            let last = fixture.frames.last!
            var failures = CrashTests.Failures()
            let spots = [
                ("the header's position field", last.offset + 20), ("the header's checksum", last.offset + 88),
                ("the header's COMMIT flag", last.offset + 14), ("the body", last.offset + FrameHeader.size + 3), ("the body's last byte", last.end - 1),
            ]
            for (what, offset) in spots {
                for withIndex in [true, false] {
                    let damaged = fixture.flipped(at: offset, bit: 2)
                    try fixture.install(damaged, withIndex: withIndex)
                    let label = "\(what) \(withIndex ? "with" : "without") the index"
                    do {
                        let head = try fixture.store.withWriter { $0.head }
                        failures.check(false, "\(label): the writer opened (head \(head))")
                    } catch {
                        failures.check(
                            Self.isRefusal(error, segment: fixture.segment, offset: last.offset, position: last.header.firstPosition),
                            "\(label): not a refusal naming segment, offset and position: \(error)")
                    }
                    failures.check(fixture.segmentNow == damaged, "\(label): the refused writer changed the segment")
                    let report = try fixture.store.verify()
                    failures.check(!report.ok && report.problem?.offset == last.offset, "\(label): verify \(String(describing: report.problem))")
                    // a reader never serves the damaged frame: it fails, or reads what is before it
                    if let read = try? fixture.store.exportedLines() {
                        failures.check(read == Array(fixture.lines.prefix(read.count)) && read.count < fixture.lines.count, "\(label): a reader read \(read.count) events")
                    }
                    failures.check(fixture.segmentNow == damaged, "\(label): a reader changed the segment")
                }
            }
            failures.report("damaged last frames")
        }
    }

    @Test func repairMovesTheDamageAsideKeepsEveryEventBeforeItAndReportsThePositionsGone() throws {
        try withTemporaryDirectory { dir in
            let fixture = try Fixture(in: dir)
            let frame = fixture.frames[6]
            let damaged = fixture.flipped(at: frame.offset + FrameHeader.size + 40, bit: 5)
            try fixture.install(damaged, withIndex: true)
            let repair = LogRepair(layout: fixture.store.layout)

            let plan = try #require(try ReaderTests.expectUnchanged(fixture.store, "repair --dry-run") { try repair.plan() })
            let kept = frame.header.firstPosition - 1
            #expect(!plan.applied)
            #expect(plan.offset == frame.offset && plan.position == frame.header.firstPosition && plan.segment == fixture.segment)
            #expect(plan.keptHead == kept && plan.lostFirst == kept + 1)
            #expect(plan.lostLast == 1255 && plan.lostCount == 1255 - kept)
            #expect(plan.movedBytes == damaged.count - frame.offset)

            let report = try #require(try repair.repair())
            #expect(report.applied && report.keptHead == kept && report.lostLast == 1255 && report.lostCount == 1255 - kept)
            #expect(report.movedTo.count == 1)
            let moved = [UInt8](try Data(contentsOf: URL(fileURLWithPath: report.movedTo[0])))
            let movedIsTheDamage = moved == Array(damaged[frame.offset...])
            #expect(movedIsTheDamage, "the moved bytes are not the damaged frame and all after it")
            #expect(report.movedTo[0].hasPrefix(fixture.store.layout.root + "/damaged/segment-00000000000000000001.zst-\(frame.offset)-"))
            let segmentIsThePrefix = fixture.segmentNow == Array(damaged[..<frame.offset])
            #expect(segmentIsThePrefix, "the segment is not its bytes before the damage")
            let read = try fixture.store.exportedLines()
            let keptEveryEvent = read == Array(fixture.lines.prefix(Int(kept)))
            #expect(keptEveryEvent, "after the repair the log holds \(read.count) events, expected the first \(kept)")
            #expect(try fixture.store.verify().ok)
            #expect(try repair.plan() == nil, "a repaired log still has something to repair")
            #expect(try repair.repair() == nil)
            // the log goes on from the last good commit
            #expect(try fixture.store.withWriter { try $0.append([Sample.note("note-b", 1)], validate: false).positions } == [kept + 1])
        }
    }

    /// A damaged segment header in the middle of a log of many segments: the repair moves that
    /// segment and every later one whole.
    @Test func repairOfADamagedSegmentHeaderMovesThatSegmentAndTheLaterOnesWhole() throws {
        try withTemporaryDirectory { dir in
            var options = EventStoreOptions()
            options.segmentSize = 4096
            let store = try TestStore.create(in: dir)
            let text = String(repeating: "Громадський бюджет участі ", count: 20)
            try store.withWriter(options) { writer in
                for n in 1...30 { _ = try writer.append([Sample.note("note-a", n, text: text)], validate: false) }
            }
            let lines = try store.exportedLines()
            let segments = try store.layout.segments()
            try #require(segments.count >= 3)
            let target = segments[1]
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: target.path)))
            bytes[30] ^= 0x08
            try Data(bytes).write(to: URL(fileURLWithPath: target.path))
            #expect {
                try store.withWriter { _ in }
            } throws: { Self.isRefusal($0, segment: target.path, offset: 0, position: target.first) }

            let report = try #require(try LogRepair(layout: store.layout).repair())
            #expect(report.keptHead == target.first - 1 && report.lostFirst == target.first && report.lostLast == 30)
            #expect(report.movedTo.count == segments.count - 1)
            #expect(report.movedTo.allSatisfy { $0.contains("-0-") })
            #expect(try store.layout.segments().map(\.path) == segments.prefix(1).map(\.path))
            let read = try store.exportedLines()
            let keptEveryEvent = read == Array(lines.prefix(Int(target.first - 1)))
            #expect(keptEveryEvent, "after the repair the log holds \(read.count) events, expected \(target.first - 1)")
            #expect(try store.verify().ok)
        }
    }

    /// The index recorded events as committed that the log no longer holds (its last segment
    /// gone, or cut at a frame boundary): no crash does that, so it is damage, not a torn write.
    @Test func aLogShorterThanWhatItsIndexRecordsIsDamageNotATornWrite() throws {
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
            try FileManager.default.removeItem(atPath: last.path)
            #expect {
                try store.withWriter { _ in }
            } throws: { error in
                guard let e = error as? EventStoreError, e.code == .corruption else { return false }
                return e.message.contains("committed through position 30") && e.message.contains("position \(last.first)")
            }
            #expect(throws: EventStoreError.self) { _ = try store.exportedLines() }
            // a second attempt is refused as well: the refusal kept the index's record
            #expect(throws: EventStoreError.self) { try store.withWriter { _ in } }
            #expect(try store.layout.segments().count == segments.count - 1, "a refused open changed the log")

            let report = try #require(try LogRepair(layout: store.layout).repair())
            #expect(report.keptHead == last.first - 1 && report.lostFirst == last.first && report.lostLast == 30 && report.movedTo.isEmpty)
            #expect(try store.withWriter { $0.head } == last.first - 1)
            #expect(try store.verify().ok)
        }
    }

    /// A frame header whose checksum was recomputed over a huge declared length: no reader
    /// allocates it (the header is refused above 256 MiB; below, the zstd frame's own content
    /// size must agree before anything is allocated).
    @Test func aFrameHeaderDeclaringGigabytesIsRefusedWithoutAllocatingThem() throws {
        try withTemporaryDirectory { dir in
            let fixture = try Fixture(in: dir)
            let last = fixture.frames.last!
            for (declared, expected) in [(UInt32.max, "more than a frame may hold"), (200 << 20, "does not decompress")] {
                var header = last.header
                header.uncompressedLength = declared
                var forged = Array(fixture.bytes[..<last.offset])
                header.encode(into: &forged)
                forged += fixture.bytes[(last.offset + FrameHeader.size)...]
                try fixture.install(forged, withIndex: false)
                let report = try fixture.store.verify()
                #expect(!report.ok && report.problem?.offset == last.offset && report.problem?.reason.contains(expected) == true,
                        "declared \(declared): \(String(describing: report.problem))")
                #expect {
                    try fixture.store.withWriter { _ in }
                } throws: { Self.isRefusal($0, segment: fixture.segment, offset: last.offset, position: last.header.firstPosition) }
                if let read = try? fixture.store.exportedLines() { #expect(read.count < fixture.lines.count) }
            }
        }
    }

    /// A short campaign (scripts/bitflip-campaign.sh runs a thousand through the binary): random
    /// single-bit flips in the segment header, frame headers and bodies, with and without the
    /// index. Verify catches every one naming where; no reader serves a changed event; no writer
    /// changes the segment; a repair keeps every event before the damaged frame.
    @Test func aHundredRandomBitFlipsAreCaughtAndRepairedWithoutLosingAnEventBeforeTheDamage() throws {
        try withTemporaryDirectory { dir in
            let fixture = try Fixture(in: dir, events: 360, commitEvery: 30)  // small: a hundred trials in seconds
            var generator = SplitMix(seed: 2026)
            var failures = CrashTests.Failures()
            for trial in 0..<100 {
                let frame = fixture.frames[Int(generator.next() % UInt64(fixture.frames.count))]
                let offset: Int
                switch trial % 3 {
                case 0: offset = Int(generator.next() % UInt64(SegmentHeader.size))
                case 1: offset = frame.offset + Int(generator.next() % UInt64(FrameHeader.size))
                default: offset = frame.offset + FrameHeader.size + Int(generator.next() % UInt64(frame.header.compressedLength))
                }
                let bit = Int(generator.next() % 8)
                let withIndex = trial % 2 == 0
                let damaged = fixture.flipped(at: offset, bit: bit)
                try fixture.install(damaged, withIndex: withIndex)
                let label = "trial \(trial): bit \(bit) at offset \(offset) \(withIndex ? "with" : "without") the index"
                let damagedAt = offset < SegmentHeader.size ? 0 : frame.offset
                let kept = offset < SegmentHeader.size ? 0 : frame.header.firstPosition - 1

                let report = try fixture.store.verify()
                failures.check(!report.ok && report.problem?.offset == damagedAt, "\(label): verify \(String(describing: report.problem))")
                if let read = try? fixture.store.exportedLines() {
                    failures.check(read == Array(fixture.lines.prefix(read.count)), "\(label): a reader served changed events")
                }
                do {
                    try fixture.store.withWriter { _ in }
                } catch let e as EventStoreError where e.code == .corruption {
                } catch {
                    failures.check(false, "\(label): the writer failed otherwise: \(error)")
                }
                failures.check(fixture.segmentNow == damaged, "\(label): a writer changed the segment")
                do {
                    let repaired = try LogRepair(layout: fixture.store.layout).repair()
                    failures.check(repaired?.keptHead == kept, "\(label): the repair kept \(String(describing: repaired?.keptHead)), expected \(kept)")
                    failures.check(try fixture.store.exportedLines() == Array(fixture.lines.prefix(Int(kept))), "\(label): events before the damage were lost")
                    failures.check(try fixture.store.verify().ok, "\(label): the repaired log does not verify")
                } catch {
                    failures.check(false, "\(label): the repair failed: \(error)")
                }
            }
            failures.report("bit flips")
        }
    }

    @Test func adminRepairReportsInTextAndJSONAndSaysWhenThereIsNothingToRepair() throws {
        try withTemporaryDirectory { dir in
            let fixture = try Fixture(in: dir)
            let root = fixture.store.layout.root
            let clean = try runAdmin(["--store", root, "repair"])
            #expect(clean.status == 0 && clean.stdout.contains("nothing to repair"), "\(clean.stdout) \(clean.stderr)")

            let frame = fixture.frames[3]
            let damaged = fixture.flipped(at: frame.offset + FrameHeader.size + 7, bit: 1)
            try fixture.install(damaged, withIndex: false)
            let refused = try runAdmin(["--store", root, "init"])
            #expect(refused.status == 1 && refused.stderr.contains("offset \(frame.offset)") && refused.stderr.contains("admin repair"), "\(refused.stderr)")
            let dry = try runAdmin(["--store", root, "repair", "--dry-run"])
            #expect(dry.status == 0, "\(dry.stderr)")
            let kept = frame.header.firstPosition - 1
            #expect(dry.stdout.contains("positions \(kept + 1)…1255 (\(1255 - kept) events) would be gone"), "\(dry.stdout)")
            #expect(fixture.segmentNow == damaged)
            let done = try runAdmin(["--store", root, "repair", "--json"])
            #expect(done.status == 0, "\(done.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(done.stdout.utf8)) as? [String: Any])
            #expect(json["lostFirst"] as? Int == Int(kept + 1) && json["lostLast"] as? Int == 1255 && json["lostCount"] as? Int == Int(1255 - kept))
            #expect(json["keptHead"] as? Int == Int(kept) && json["applied"] as? Bool == true)
            let verify = try runAdmin(["--store", root, "verify"])
            #expect(verify.status == 0 && verify.stdout.contains("head position \(kept)"), "\(verify.stdout) \(verify.stderr)")
        }
    }
}
