import Crypto
import Foundation
import GRDB
import Logging

/// What opening a store found and did.
public struct RecoveryReport: Sendable, CustomStringConvertible {
    /// Bytes cut off the end of the log: a torn last frame, or frames of a transaction that
    /// never committed (never acknowledged).
    public var cutBytes: Int = 0
    public var cutEvents: Int = 0
    public var cutReason: String?
    /// Frames indexed from the log because the index was missing or behind.
    public var indexedFrames: Int = 0
    public var indexRebuilt = false

    public var description: String {
        var parts: [String] = []
        if let cutReason { parts.append("cut \(cutBytes) bytes (\(cutEvents) unacknowledged events) off the log's end: \(cutReason)") }
        if indexRebuilt { parts.append("rebuilt the index from the log") }
        if indexedFrames > 0 { parts.append("indexed \(indexedFrames) frames from the log") }
        return parts.isEmpty ? "clean" : parts.joined(separator: "; ")
    }
}

/// Damage in the log: bytes that no crash can leave (a complete frame that fails its checksum,
/// its decompression or the hash chain; a damaged frame or segment header; anything invalid
/// followed by a valid frame, or inside what the index recorded as committed). A writer refuses
/// to open on it; `admin repair` moves the damaged bytes aside.
public struct LogDamage: Error, Sendable, CustomStringConvertible {
    /// The segment file's path.
    public var segment: String
    /// The byte offset in `segment` where the damaged frame (or header) starts.
    public var offset: Int
    /// The first position in or after the damaged bytes.
    public var position: Int64
    public var reason: String
    /// The last position committed before the damage (0: none).
    public var committedHead: Int64
    /// The highest position known to be in or after the damaged bytes: the damaged frame's own
    /// header when it is valid, a valid frame header found after it, or the index's record.
    public var lastKnownPosition: Int64?
    /// Where the whole, committed log ends before the damage: a segment (its index among the
    /// log's segments) and the offset after its last good committed frame.
    var cutSegment: Int
    var cutOffset: Int

    /// The positions a repair takes out of the log: every one after the last good commit, up to
    /// the highest one known (nil when none is known beyond the damaged spot).
    public var affected: ClosedRange<Int64>? {
        let first = committedHead + 1
        let last = max(lastKnownPosition ?? 0, position - 1)
        return last >= first ? first...last : nil
    }

    public var description: String {
        "log segment \(segment) is damaged at offset \(offset), position \(position): \(reason); \(affectedText)"
    }

    /// The affected positions in words.
    public var affectedText: String {
        if let affected {
            let count = affected.upperBound - affected.lowerBound + 1
            let known = lastKnownPosition.map { $0 >= affected.upperBound } ?? false
            return "positions \(affected.lowerBound)…\(affected.upperBound) (\(count) \(count == 1 ? "event" : "events")\(known ? "" : " at least")) are affected (the damaged frame, the rest of its transaction, and everything after it)"
        }
        return "position \(committedHead + 1) and any after it are affected (how many is unknown: the damaged header cannot be trusted)"
    }
}

/// Brings the log and its index into agreement when a store is opened.
///
/// - What a crash can leave at the end of the log (a frame running past the end of the file,
///   zero bytes, fewer bytes than a frame header or bytes that do not start like one, frames
///   after the last COMMIT) is cut off by a writer and reported; a reader ignores it.
/// - Anything else is damage (``LogDamage``): nothing is changed, and a writer refuses to open.
/// - Index rows are added for committed frames the index does not know; an index that does not
///   match the log is rebuilt.
///
/// A *writer* recovery (the default) may cut the log's tail and writes the store's own index. A
/// *reader* recovery never writes a file: it indexes committed frames into the (in-memory)
/// index it is given, and reads frame bodies only up to the last COMMIT header in the log.
struct Recovery {
    /// `writer`: cuts the tail and writes the store's index. `reader`: writes no file, reads bodies
    /// only up to the last COMMIT header (or the end of what the index claims). `inspect`: writes
    /// no file, checks the whole log to its end (`admin repair`).
    enum Mode { case writer, reader, inspect }

    let layout: StoreLayout
    let index: LogIndex
    let logger: Logger
    var mode: Mode = .writer
    /// The last frame an index recorded as committed; nil: `index`'s own last frame. Nothing
    /// before its end can be a torn write.
    var claimed: LogIndex.Frame? = nil

    struct Tail {
        var segmentFirst: Int64 = 1
        var segmentEnd = 0
        var nextPosition: Int64 = 1
        var lastHash: [UInt8]?
        var lastRecordedAt: Int64 = .min
    }

    /// A place in the log and the chain's state there.
    struct Cursor {
        var segment = 0
        var offset = SegmentHeader.size
        var expected: Int64 = 1
        var previousHash: [UInt8]?
        var lastRecorded: Int64 = .min
    }

    typealias Segments = [(first: Int64, path: String)]
    typealias PendingFrame = (LogIndex.Frame, [LogIndex.EventRow])

    /// The steps, in order: drop an empty segment a torn roll left; check the part of the log the
    /// index knows (or rebuild the index); scan the rest, indexing the committed frames the index
    /// lacks; a writer then cuts the torn or uncommitted tail.
    func run(report: inout RecoveryReport) throws -> Tail {
        var segments = try layout.segments()
        let claim = try claimed ?? index.lastFrame()
        try dropEmptySegment(&segments, claim: claim, report: &report)
        let start = try checkIndexedPart(segments, claim: claim, report: &report)
        let committed = try scanTail(segments, from: start, claim: claim, report: &report)
        guard !segments.isEmpty else { return Tail() }
        var tail = Tail(
            segmentFirst: segments[committed.segment].first, segmentEnd: committed.offset, nextPosition: committed.expected,
            lastHash: committed.previousHash, lastRecordedAt: committed.lastRecorded)
        if mode == .writer { try cutTornTail(after: committed, segments, tail: &tail, report: &report) }
        return tail
    }

    /// Where the scan starts: after the index's last frame when the index agrees with the log (a
    /// writer reads that frame's body once more), else at the start of the log, with the index
    /// reset to be rebuilt.
    private func checkIndexedPart(_ segments: Segments, claim: LogIndex.Frame?, report: inout RecoveryReport) throws -> Cursor {
        guard let agreed = try walkIndexedHeaders(segments) else {
            try rebuildIndex(claim: claim, report: &report)
            return Cursor()
        }
        if mode == .writer, let last = agreed.lastFrame {
            try checkBody(of: last, segments, before: agreed.before, claim: claim)
        }
        return agreed.after
    }

    /// Resets an index that does not match the log. A writer whose index recorded commits checks
    /// the whole log first: a refused open must leave the index's record of what was committed for
    /// the next attempt and for a repair.
    private func rebuildIndex(claim: LogIndex.Frame?, report: inout RecoveryReport) throws {
        if mode == .writer, claim != nil {
            var dry = RecoveryReport()
            let scratch = try LogIndex.inMemory(copying: nil, immutable: true)
            _ = try Recovery(layout: layout, index: scratch, logger: logger, mode: .inspect, claimed: claim).run(report: &dry)
        }
        logger.warning("the index does not match the log; rebuilding it", metadata: ["index.path": "\(index.path)"])
        try index.reset()
        report.indexRebuilt = true
    }

    /// A last segment whose header never reached the disk, or that holds less than a header and a
    /// frame header, is the end of a torn roll: a writer removes it, a reader ignores it.
    private func dropEmptySegment(_ segments: inout Segments, claim: LogIndex.Frame?, report: inout RecoveryReport) throws {
        guard let last = segments.last, (claim?.segment ?? 0) < last.first || claim == nil else { return }
        let file = try PosixFile(path: last.path, flags: O_RDONLY)
        let header = try FrameScanner(file: file, segmentFirst: last.first).segmentHeader()
        let size = try file.size
        guard header == nil && size < SegmentHeader.size + FrameHeader.size else { return }
        if mode == .writer {
            try removeSegment(last.path)
            report.cutBytes += size
            report.cutReason = "an empty segment from an interrupted roll"
        }
        segments.removeLast()
    }

    /// Walks the frame headers of the part of the log the index knows (without reading bodies).
    /// Returns the place after the index's last frame, or nil when the index does not match the
    /// log (it is then rebuilt from a full scan, which also names any damage).
    private func walkIndexedHeaders(_ segments: Segments) throws -> (before: Cursor, after: Cursor, lastFrame: Int?)? {
        guard let indexedLast = try index.lastFrame() else { return (Cursor(), Cursor(), nil) }
        var cursor = Cursor()
        var before = cursor
        for (n, seg) in segments.enumerated() where seg.first <= indexedLast.segment {
            let file = try PosixFile(path: seg.path, flags: O_RDONLY)
            var scanner = try FrameScanner(file: file, segmentFirst: seg.first)
            guard let header = try scanner.segmentHeader(), header.firstPosition == seg.first, seg.first == cursor.expected,
                header.previousHash == hashBytes(cursor.previousHash)
            else { return nil }
            while let (h, offset) = try scanner.nextHeader() {
                guard h.firstPosition == cursor.expected else { return nil }
                before = cursor
                cursor = Cursor(
                    segment: n, offset: offset + h.totalLength, expected: h.lastPosition + 1, previousHash: h.lastHash,
                    lastRecorded: h.lastRecordedAt)
                if h.firstPosition == indexedLast.firstPosition {
                    let agrees = seg.first == indexedLast.segment && Int64(offset) == indexedLast.offset && h.lastHash == indexedLast.lastHash
                    return agrees ? (before, cursor, offset) : nil
                }
            }
            if seg.first == indexedLast.segment { return nil }
        }
        return nil
    }

    /// A writer reads the body of the index's last frame (the one the next append chains from)
    /// once more: the walk over the indexed part reads headers only.
    /// - Throws: ``LogDamage`` when it fails its checksum, decompression or the hash chain.
    private func checkBody(of offset: Int, _ segments: Segments, before: Cursor, claim: LogIndex.Frame?) throws {
        let n = before.segment
        let seg = segments[n]
        var scanner = try FrameScanner(file: try PosixFile(path: seg.path, flags: O_RDONLY), segmentFirst: seg.first, from: offset)
        let committed = before
        let reason: String
        var known: [Int64?] = [claim?.lastPosition]
        switch try scanner.next() {
        case .frame(let frame):
            do {
                let last = try ChainCheck.check(
                    body: frame.body, firstPosition: frame.header.firstPosition, count: Int(frame.header.count), previous: before.previousHash)
                if last == frame.header.lastHash { return }
                reason = "hash chain broken: the events' bytes do not give the hash the frame header records"
            } catch let failure as ChainCheck.Failure {
                reason = failure.reason
            }
            known.append(frame.header.lastPosition)
        case .bad(_, let why, _, let header):
            reason = why
            known.append(header?.lastPosition)
        case .end:
            reason = "the frame the index records is missing"
        }
        throw damage(
            segments, n, offset: offset, position: before.expected,
            reason: reason + "; the index records it as committed, so this is not a torn write", committed: committed, known: known)
    }

    /// Whether the log holds a COMMIT frame after `frame` (the whole log when nil), from frame
    /// headers alone: a reader's cheap test of whether an index lags.
    static func logHasCommit(after frame: LogIndex.Frame?, layout: StoreLayout) throws -> Bool {
        let segments = try layout.segments()
        var start = Cursor()
        if let frame {
            guard let n = segments.firstIndex(where: { $0.first == frame.segment }) else { return true }
            start.segment = n
            start.offset = Int(frame.offset + frame.length)
        }
        return try lastCommitEnd(from: start, segments) != nil
    }

    /// The end of the last frame whose header carries COMMIT, walking headers only from `start`
    /// (nil: none). A reader reads bodies only up to there.
    private static func lastCommitEnd(from start: Cursor, _ segments: Segments) throws -> (segment: Int, offset: Int)? {
        var found: (segment: Int, offset: Int)?
        var n = start.segment
        var offset = start.offset
        while n < segments.count {
            let file = try PosixFile(path: segments[n].path, flags: O_RDONLY)
            var scanner = try FrameScanner(file: file, segmentFirst: segments[n].first, from: offset)
            while let (h, at) = try scanner.nextHeader() {
                if h.isCommit { found = (n, at + h.totalLength) }
            }
            if scanner.offset != scanner.fileSize { break }
            n += 1
            offset = SegmentHeader.size
        }
        return found
    }

    /// Checks bodies and the chain from `start` on, indexes committed frames, and returns the place
    /// after the last committed frame. A reader reads only up to the last COMMIT header (or the
    /// end of what the index claims).
    /// - Throws: ``LogDamage`` at the first damage.
    private func scanTail(_ segments: Segments, from start: Cursor, claim: LogIndex.Frame?, report: inout RecoveryReport) throws -> Cursor {
        var cursor = start
        var committed = start
        var pending = MissingFrames(index: index)
        var stopAt: (segment: Int, offset: Int)? = nil
        if mode == .reader {
            guard let end = try readerEnd(segments, from: start, claim: claim) else { return committed }
            stopAt = end
        }
        func claimCovers(_ n: Int, _ offset: Int) -> Bool { claim.map { covers($0, segment: segments[n].first, offset: offset) } ?? false }
        var walker = FrameWalker(
            segments, from: (start.segment, start.offset), stopAt: stopAt, huntsAfterDamage: true, mayBeTorn: { !claimCovers($0, $1) })
        walk: while true {
            switch try walker.next() {
            case .end:
                break walk
            case .segment(let n, let header):
                try checkSegmentHeader(header, segments, n, cursor: cursor, committed: committed)
            case .tornTail(let n, let at, let reason):
                report.cutReason = "torn frame at segment \(segments[n].path) offset \(at) (\(reason))"
                break walk
            case .damage(let n, let at, let reason, let header, let followed):
                var why = reason
                if claimCovers(n, at), let claim {
                    why += "; the index records the log as committed through position \(claim.lastPosition), so this is not a torn write"
                } else if followed != nil {
                    why += FrameWalker.framesFollow
                }
                throw damage(segments, n, offset: at, position: cursor.expected, reason: why, committed: committed,
                             known: [followed, header?.lastPosition, claim.map(\.lastPosition)])
            case .frame(let n, let frame):
                let rows = try checkFrame(frame, segments, n, cursor: &cursor, committed: committed, claim: claim)
                if try pending.add(frame, segment: segments[n].first, rows: rows, report: &report) { committed = cursor }
            }
        }
        pending.reportUncommitted(&report)
        try checkClaimReached(claim, committed: committed, segments)
        return committed
    }

    /// Where a reader stops reading bodies: the end of the last frame whose header carries COMMIT
    /// or the end of what the index claims, whichever is later; nil: nothing to read.
    private func readerEnd(_ segments: Segments, from start: Cursor, claim: LogIndex.Frame?) throws -> (segment: Int, offset: Int)? {
        let claimEnd = claim.map { claim -> (segment: Int, offset: Int) in
            guard let n = segments.firstIndex(where: { $0.first == claim.segment }) else { return (segments.count, 0) }
            return (n, Int(claim.offset + claim.length))
        }
        let commitEnd = try Self.lastCommitEnd(from: start, segments)
        return [commitEnd, claimEnd].compactMap({ $0 }).max(by: { ($0.segment, $0.offset) < ($1.segment, $1.offset) })
    }

    /// Checks one frame against the chain at `cursor` (positions, recordedAt, every line's hash
    /// and decoding), advances `cursor` past it, and returns its index rows.
    /// - Throws: ``LogDamage`` when it does not continue the log.
    private func checkFrame(
        _ frame: FrameScanner.ReadFrame, _ segments: Segments, _ n: Int, cursor: inout Cursor, committed: Cursor, claim: LogIndex.Frame?
    ) throws -> [LogIndex.EventRow] {
        let h = frame.header
        func fail(_ position: Int64, _ reason: String) throws -> Never {
            throw damage(segments, n, offset: frame.offset, position: position, reason: reason, committed: committed,
                         known: [h.lastPosition, claim.map(\.lastPosition), try FrameHunt.lastPosition(after: frame.offset, in: segments, segmentIndex: n)])
        }
        guard h.firstPosition == cursor.expected else {
            try fail(cursor.expected, "expected position \(cursor.expected), found \(h.firstPosition)")
        }
        guard h.firstRecordedAt >= cursor.lastRecorded, h.lastRecordedAt >= h.firstRecordedAt else {
            try fail(h.firstPosition, "recordedAt decreases")
        }
        var rows: [LogIndex.EventRow] = []
        do {
            cursor.previousHash = try ChainCheck.check(
                body: frame.body, firstPosition: h.firstPosition, count: Int(h.count), previous: cursor.previousHash
            ) { position, line, digest in
                var exported: [UInt8] = []
                EventCodec.appendExportLine(stored: line, hash: digest, into: &exported)
                let event = try exported.withUnsafeBufferPointer { try EventCodec.decodeRecorded(line: $0) }
                rows.append((position, event.stream, event.version, event.id))
            }
        } catch let failure as ChainCheck.Failure {
            try fail(failure.position, failure.reason)
        } catch {
            try fail(h.firstPosition, "an event does not decode: \(error)")
        }
        guard cursor.previousHash == h.lastHash else {
            try fail(h.firstPosition, "hash chain broken: the events' bytes do not give the hash the frame header records")
        }
        cursor.expected = h.lastPosition + 1
        cursor.lastRecorded = h.lastRecordedAt
        cursor.segment = n
        cursor.offset = frame.offset + h.totalLength
        return rows
    }

    /// The frames checked since the last COMMIT, indexed when a COMMIT frame ends their transaction.
    private struct MissingFrames {
        let index: LogIndex
        var frames: [PendingFrame] = []

        init(index: LogIndex) { self.index = index }

        /// Adds a checked frame; a COMMIT frame indexes it and those before it. Returns whether it did.
        mutating func add(
            _ frame: FrameScanner.ReadFrame, segment: Int64, rows: [LogIndex.EventRow], report: inout RecoveryReport
        ) throws -> Bool {
            let h = frame.header
            frames.append((
                LogIndex.Frame(
                    firstPosition: h.firstPosition, count: Int64(h.count), segment: segment, offset: Int64(frame.offset),
                    length: Int64(h.totalLength), firstRecordedAt: h.firstRecordedAt, lastRecordedAt: h.lastRecordedAt,
                    lastHash: h.lastHash, rawLength: Int64(h.uncompressedLength)), rows
            ))
            guard h.isCommit else { return false }
            try index.queue.write { db in
                for (frame, rows) in frames {
                    try LogIndex.insert(frame: frame, rows: rows, in: db)
                }
            }
            report.indexedFrames += frames.count
            frames.removeAll()
            return true
        }

        /// Frames after the last COMMIT: a transaction that never committed (a writer cuts it).
        func reportUncommitted(_ report: inout RecoveryReport) {
            guard !frames.isEmpty else { return }
            report.cutEvents += frames.reduce(0) { $0 + Int($1.0.count) }
            report.cutReason = report.cutReason ?? "a transaction that never committed"
        }
    }

    /// The log must hold every position the index recorded as committed: a log that ends before
    /// (a segment missing, a file cut short) lost acknowledged events, which no crash does.
    /// - Throws: ``LogDamage`` at the end of the log.
    private func checkClaimReached(_ claim: LogIndex.Frame?, committed: Cursor, _ segments: Segments) throws {
        guard let claim, committed.expected - 1 < claim.lastPosition else { return }
        let reason = "the log ends at position \(committed.expected - 1), but the index records it as committed through position \(claim.lastPosition) (a segment is missing or was cut short)"
        guard let last = segments.indices.last else {
            throw LogDamage(
                segment: layout.logDirectory, offset: 0, position: 1, reason: reason, committedHead: 0,
                lastKnownPosition: claim.lastPosition, cutSegment: 0, cutOffset: SegmentHeader.size)
        }
        let size = try PosixFile(path: segments[last].path, flags: O_RDONLY).size
        throw damage(segments, last, offset: size, position: committed.expected, reason: reason, committed: committed, known: [claim.lastPosition])
    }

    /// Checks the header of segment `n` as the scan enters it.
    private func checkSegmentHeader(_ header: SegmentHeader?, _ segments: Segments, _ n: Int, cursor: Cursor, committed: Cursor) throws {
        let seg = segments[n]
        let reason: String
        if let header {
            if header.firstPosition != seg.first || seg.first != cursor.expected {
                reason = "the segment starts at position \(header.firstPosition) (its name says \(seg.first)), but position \(cursor.expected) was expected there (a segment is missing or misnamed)"
            } else if header.previousHash != hashBytes(cursor.previousHash) {
                reason = "its previous-hash does not continue the chain"
            } else {
                return
            }
        } else {
            reason = "its header is invalid"
        }
        throw damage(segments, n, offset: 0, position: cursor.expected, reason: reason, committed: committed,
                     known: [try FrameHunt.lastPosition(after: 0, in: segments, segmentIndex: n)])
    }

    /// Whether the index's committed frame `claim` ends beyond `offset` of the segment starting at `segment`.
    private func covers(_ claim: LogIndex.Frame, segment: Int64, offset: Int) -> Bool {
        claim.segment > segment || (claim.segment == segment && claim.offset + claim.length > Int64(offset))
    }

    private func damage(
        _ segments: Segments, _ n: Int, offset: Int, position: Int64, reason: String, committed: Cursor, known: [Int64?]
    ) -> LogDamage {
        let last = known.compactMap { $0 }.filter { $0 >= position }.max()
        return LogDamage(
            segment: segments[n].path, offset: offset, position: position, reason: reason, committedHead: committed.expected - 1,
            lastKnownPosition: last, cutSegment: committed.segment, cutOffset: committed.offset)
    }

    /// A writer cuts everything after the last committed frame: later segments, the rest of
    /// the last one, and a last segment left holding only its header.
    private func cutTornTail(after committed: Cursor, _ segments: Segments, tail: inout Tail, report: inout RecoveryReport) throws {
        for k in stride(from: segments.count - 1, to: committed.segment, by: -1) {
            report.cutBytes += (try? PosixFile(path: segments[k].path, flags: O_RDONLY).size) ?? 0
            report.cutReason = report.cutReason ?? "segments after the last committed frame"
            try removeSegment(segments[k].path)
        }
        let file = try PosixFile(path: segments[committed.segment].path, flags: O_RDWR)
        let size = try file.size
        if size > committed.offset {
            report.cutBytes += size - committed.offset
            report.cutReason = report.cutReason ?? "bytes after the last committed frame"
            try file.truncate(to: committed.offset)
            try file.sync()
        }
        if committed.offset <= SegmentHeader.size && committed.segment > 0 {
            // an empty segment at the end: keep it only when it is the first
            report.cutBytes += committed.offset
            report.cutReason = report.cutReason ?? "an empty segment from an interrupted roll"
            try removeSegment(segments[committed.segment].path)
            let prev = segments[committed.segment - 1]
            tail.segmentFirst = prev.first
            tail.segmentEnd = try PosixFile(path: prev.path, flags: O_RDONLY).size
        }
        try PosixFile.syncDirectory(layout.logDirectory)
        if report.cutReason != nil {
            logger.warning("recovered the log's tail", metadata: ["recovery": "\(report)"])
        }
    }

    private func removeSegment(_ path: String) throws {
        if unlink(path) != 0 { throw PosixFile.error("cannot remove \(path)") }
    }

    private func hashBytes(_ digest: [UInt8]?) -> [UInt8] {
        digest ?? [UInt8](repeating: 0, count: 32)
    }
}
