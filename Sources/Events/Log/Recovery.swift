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

/// Brings the log and its index into agreement when a writer opens the store.
///
/// - A torn or uncommitted tail (after the last COMMIT frame, with no valid frame after the
///   damage) is cut off and reported.
/// - Damage followed by valid frames is not a torn write: opening is refused, naming the
///   segment, the offset and the position.
/// - Index rows are added for committed frames the index does not know; an index that does not
///   match the log is rebuilt.
struct Recovery {
    let layout: StoreLayout
    let index: LogIndex
    let logger: Logger

    struct Tail {
        var segmentFirst: Int64 = 1
        var segmentEnd = 0
        var nextPosition: Int64 = 1
        var lastHash: [UInt8]?
        var lastRecordedAt: Int64 = .min
    }

    func run(report: inout RecoveryReport) throws -> Tail {
        var segments = try layout.segments()
        // A segment file whose header never reached the disk is the end of a torn creation.
        if let last = segments.last {
            let file = try PosixFile(path: last.path, flags: O_RDONLY)
            let header = try FrameScanner(file: file, segmentFirst: last.first).segmentHeader()
            let size = try file.size
            if header == nil && size < SegmentHeader.size + FrameHeader.size {
                try removeSegment(last.path)
                report.cutBytes += size
                report.cutReason = "an empty segment from an interrupted roll"
                segments.removeLast()
            }
        }
        var previousHash: [UInt8]? = nil
        var expected: Int64 = 1
        // Check every segment header and every frame header of the indexed part.
        let indexedLast = try index.lastFrame()
        var indexAgrees = indexedLast != nil
        var startSegment = 0
        var startOffset = SegmentHeader.size
        var lastRecorded: Int64 = .min
        for (n, seg) in segments.enumerated() {
            let file = try PosixFile(path: seg.path, flags: O_RDONLY)
            var scanner = try FrameScanner(file: file, segmentFirst: seg.first)
            guard let header = try scanner.segmentHeader(), header.firstPosition == seg.first else {
                throw EventStoreError(
                    .corruption, "log segment \(seg.path) is damaged at offset 0 (its header is invalid), position \(seg.first)")
            }
            guard seg.first == expected else {
                throw EventStoreError(
                    .corruption,
                    "log segment \(seg.path) starts at position \(seg.first), but position \(expected) was expected there (a segment is missing)")
            }
            guard header.previousHash == hashBytes(previousHash) else {
                throw EventStoreError(
                    .corruption,
                    "log segment \(seg.path) at offset 0, position \(seg.first): its previous-hash does not continue the chain")
            }
            guard let indexedLast, indexAgrees, seg.first <= indexedLast.segment else { break }
            // walk frame headers up to the index's last frame
            while let (h, offset) = try scanner.nextHeader() {
                guard h.firstPosition == expected else {
                    throw EventStoreError(
                        .corruption, "log segment \(seg.path) at offset \(offset): expected position \(expected), found \(h.firstPosition)")
                }
                expected = h.lastPosition + 1
                previousHash = h.lastHash
                lastRecorded = h.lastRecordedAt
                startSegment = n
                startOffset = offset + h.totalLength
                if h.firstPosition == indexedLast.firstPosition {
                    if seg.first != indexedLast.segment || Int64(offset) != indexedLast.offset || h.lastHash != indexedLast.lastHash {
                        indexAgrees = false
                    }
                    break
                }
            }
            if indexedLast.segment == seg.first { break }
        }
        if let indexedLast, !(indexAgrees && expected == indexedLast.lastPosition + 1) {
            logger.warning("the index does not match the log; rebuilding it", metadata: ["index.path": "\(index.path)"])
            try index.reset()
            report.indexRebuilt = true
            previousHash = nil
            expected = 1
            startSegment = 0
            startOffset = SegmentHeader.size
            lastRecorded = .min
        }

        // Scan the rest: check bodies and the chain, index committed frames, find the tail.
        var tail = Tail(segmentFirst: segments.first?.first ?? 1, segmentEnd: 0, nextPosition: expected, lastHash: previousHash, lastRecordedAt: lastRecorded)
        if !segments.isEmpty {
            tail.segmentFirst = segments[startSegment].first
            tail.segmentEnd = startOffset
        }
        var pending: [(LogIndex.Frame, [(Int64, String, Int64, UUID)])] = []
        var pendingStartSegment = startSegment
        var pendingStartOffset = startOffset
        var streams = StreamTable(index: index)
        var n = startSegment
        var offset = startOffset
        scan: while n < segments.count {
            let seg = segments[n]
            let file = try PosixFile(path: seg.path, flags: O_RDONLY)
            var scanner = try FrameScanner(file: file, segmentFirst: seg.first, from: offset)
            while true {
                let step = try scanner.next()
                switch step {
                case .end:
                    break
                case .bad(let badOffset, let reason, _):
                    // Damage followed by anything valid is not a torn write.
                    if try validFrameExists(after: badOffset, in: segments, segmentIndex: n) {
                        throw EventStoreError(
                            .corruption,
                            "log segment \(seg.path) is damaged at offset \(badOffset), position \(expected): \(reason); valid frames follow, so this is not a torn write. Run `admin verify` and restore the segment from a backup")
                    }
                    report.cutReason = "torn frame at segment \(seg.path) offset \(badOffset) (\(reason))"
                    break scan
                case .frame(let frame):
                    let h = frame.header
                    guard h.firstPosition == expected else {
                        throw EventStoreError(
                            .corruption,
                            "log segment \(seg.path) at offset \(frame.offset): expected position \(expected), found \(h.firstPosition)")
                    }
                    var rows: [(Int64, String, Int64, UUID)] = []
                    do {
                        previousHash = try ChainCheck.check(
                            body: frame.body, firstPosition: h.firstPosition, count: Int(h.count), previous: previousHash
                        ) { position, line, digest in
                            var exported: [UInt8] = []
                            EventCodec.appendExportLine(stored: line, hash: digest, into: &exported)
                            let event = try exported.withUnsafeBufferPointer { try EventCodec.decodeRecorded(line: $0) }
                            rows.append((position, event.stream, event.version, event.id))
                        }
                        guard previousHash == h.lastHash else {
                            throw ChainCheck.Failure(
                                position: h.firstPosition,
                                reason: "hash chain broken: the events' bytes do not give the hash the frame header records")
                        }
                    } catch let failure as ChainCheck.Failure {
                        throw EventStoreError(
                            .corruption, "log segment \(seg.path) at offset \(frame.offset), position \(failure.position): \(failure.reason)")
                    }
                    expected = h.lastPosition + 1
                    lastRecorded = h.lastRecordedAt
                    pending.append((
                        LogIndex.Frame(
                            firstPosition: h.firstPosition, count: Int64(h.count), segment: seg.first, offset: Int64(frame.offset),
                            length: Int64(h.totalLength), firstRecordedAt: h.firstRecordedAt, lastRecordedAt: h.lastRecordedAt,
                            lastHash: h.lastHash, rawLength: Int64(h.uncompressedLength)), rows
                    ))
                    if h.isCommit {
                        try streams.insert(pending)
                        report.indexedFrames += pending.count
                        pending.removeAll()
                        tail = Tail(segmentFirst: seg.first, segmentEnd: frame.offset + h.totalLength, nextPosition: expected, lastHash: previousHash, lastRecordedAt: lastRecorded)
                        pendingStartSegment = n
                        pendingStartOffset = frame.offset + h.totalLength
                    }
                    continue
                }
                break
            }
            n += 1
            offset = SegmentHeader.size
        }
        if !pending.isEmpty {
            report.cutEvents += pending.reduce(0) { $0 + Int($1.0.count) }
            report.cutReason = report.cutReason ?? "a transaction that never committed"
        }
        // Cut everything after the committed tail.
        if !segments.isEmpty {
            for k in stride(from: segments.count - 1, to: pendingStartSegment, by: -1) {
                report.cutBytes += (try? PosixFile(path: segments[k].path, flags: O_RDONLY).size) ?? 0
                report.cutReason = report.cutReason ?? "segments after the last committed frame"
                try removeSegment(segments[k].path)
            }
            let file = try PosixFile(path: segments[pendingStartSegment].path, flags: O_RDWR)
            let size = try file.size
            if size > pendingStartOffset {
                report.cutBytes += size - pendingStartOffset
                report.cutReason = report.cutReason ?? "bytes after the last committed frame"
                try file.truncate(to: pendingStartOffset)
                try file.sync()
            }
            if pendingStartOffset <= SegmentHeader.size && pendingStartSegment > 0 {
                // an empty segment at the end: keep it only when it is the first
                report.cutBytes += pendingStartOffset
                report.cutReason = report.cutReason ?? "an empty segment from an interrupted roll"
                try removeSegment(segments[pendingStartSegment].path)
                let prev = segments[pendingStartSegment - 1]
                tail.segmentFirst = prev.first
                tail.segmentEnd = try PosixFile(path: prev.path, flags: O_RDONLY).size
            }
            try PosixFile.syncDirectory(layout.logDirectory)
        }
        if report.cutReason != nil {
            logger.warning("recovered the log's tail", metadata: ["recovery": "\(report)"])
        }
        return tail
    }

    private func removeSegment(_ path: String) throws {
        if unlink(path) != 0 { throw PosixFile.error("cannot remove \(path)") }
    }

    private func hashBytes(_ digest: [UInt8]?) -> [UInt8] {
        digest ?? [UInt8](repeating: 0, count: 32)
    }

    /// Whether any valid frame header exists after `offset` of segment `n`, or in a later segment.
    private func validFrameExists(after offset: Int, in segments: [(first: Int64, path: String)], segmentIndex n: Int) throws -> Bool {
        for k in n..<segments.count {
            let file = try PosixFile(path: segments[k].path, flags: O_RDONLY)
            let size = try file.size
            var start = k == n ? offset + 1 : 0
            let chunk = 1 << 20
            while start < size {
                let bytes = try file.read(at: start, count: min(chunk + FrameHeader.size, size - start))
                let found = bytes.withUnsafeBytes { raw -> Bool in
                    var i = 0
                    while i + FrameHeader.size <= raw.count {
                        if raw[i] == 0x5E, raw[i + 1] == 0x2A, raw[i + 2] == 0x4D, raw[i + 3] == 0x18,
                            case .header = FrameHeader.decode(UnsafeRawBufferPointer(rebasing: raw[i..<(i + FrameHeader.size)]))
                        {
                            return true
                        }
                        i += 1
                    }
                    return false
                }
                if found { return true }
                start += chunk
            }
        }
        return false
    }
}

/// Assigns stream ids while the index is rebuilt from the log.
struct StreamTable {
    let index: LogIndex
    var entries: [String: LogWriter.StreamEntry] = [:]
    var nextID: Int64

    init(index: LogIndex) {
        self.index = index
        nextID = ((try? index.queue.read { db in try Int64.fetchOne(db, sql: "SELECT max(stream_id) FROM streams") }) ?? nil ?? 0) + 1
    }

    mutating func insert(_ frames: [(LogIndex.Frame, [(Int64, String, Int64, UUID)])]) throws {
        var local = entries
        var next = nextID
        for (_, rows) in frames {
            for row in rows where local[row.1] == nil {
                if let existing = try index.streamInfo(row.1) {
                    local[row.1] = LogWriter.StreamEntry(id: existing.streamID, lastVersion: existing.lastVersion, isNew: false)
                } else {
                    local[row.1] = LogWriter.StreamEntry(id: next, lastVersion: -1, isNew: true)
                    next += 1
                }
            }
        }
        try index.queue.write { db in
            for (frame, rows) in frames {
                try LogIndex.insert(
                    frame: frame, rows: rows.map { (position: $0.0, stream: $0.1, version: $0.2, id: $0.3) }, streams: local, in: db)
            }
        }
        entries = local
        nextID = next
        if entries.count > 100_000 { entries.removeAll() }
    }
}
