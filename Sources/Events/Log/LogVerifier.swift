import Foundation

/// Checks a whole log without trusting its index: every segment header, every frame's header
/// and body checksum, the zstd frames, dense positions, non-decreasing recordedAt, and the hash
/// chain over every event's bytes. Two threads: one reads and decompresses, one hashes.
public struct LogVerifier: Sendable {
    public let layout: StoreLayout

    /// Whether each line is also decoded as a stored event (`admin verify --deep`): verify then
    /// passes only a log every reader can read, at the cost of a parse per event.
    public let decodesLines: Bool

    public init(layout: StoreLayout, decodesLines: Bool = false) {
        self.layout = layout
        self.decodesLines = decodesLines
    }

    /// What `verify` found.
    public struct Report: Sendable, Codable {
        public var ok: Bool
        public var events: Int64
        public var frames: Int
        public var segments: Int
        public var headPosition: Int64
        public var headHash: String?
        /// The first problem: segment file, byte offset, position, and what is wrong.
        public var problem: Problem?
        /// When an expected hash was given: the position where it was found in the chain.
        public var expectedFoundAt: Int64?
        /// Bytes after the last committed frame (a torn tail, or frames of a transaction that
        /// never committed: the next writer cuts them off).
        public var uncommittedTailBytes: Int
        /// The torn tail verify ignored (what a crash can leave at the end of the last segment).
        public var tornTail: Problem?
    }

    public struct Problem: Sendable, Codable, CustomStringConvertible {
        public var segment: String
        public var offset: Int
        public var position: Int64
        public var reason: String
        public var description: String { "segment \(segment), offset \(offset), position \(position): \(reason)" }
    }

    /// Verifies the log; `expect` is an earlier published head hash that must be in the chain.
    public func verify(expect: String? = nil, progress: ((Int64) -> Void)? = nil) throws -> Report {
        try layout.requireStore()
        let segments = try layout.segments()
        var report = Report(
            ok: true, events: 0, frames: 0, segments: segments.count, headPosition: 0, headHash: nil, problem: nil,
            expectedFoundAt: nil, uncommittedTailBytes: 0, tornTail: nil)
        var previous: [UInt8]? = nil
        var expected: Int64 = 1
        var lastRecorded = Int64.min
        var committedHash: [UInt8]? = nil
        var committedPosition: Int64 = 0
        var committedEnd = (segment: 0, offset: SegmentHeader.size)
        let expectBytes = expect.flatMap { hexBytes($0) }

        func fail(_ segment: String, _ offset: Int, _ position: Int64, _ reason: String) -> Report {
            var r = report
            r.ok = false
            r.problem = Problem(segment: segment, offset: offset, position: position, reason: reason)
            return r
        }

        // One thread reads, checks and decompresses frames a few ahead; this one hashes. A torn
        // tail may be only in the last segment.
        // The reading thread also checks that each frame's body is UTF-8 (the two threads then
        // share the work about evenly); only a body that is not gets its lines checked one by one
        // here, to name the event. Lines are split at newlines, which no multi-byte sequence
        // contains, so the body is well-formed exactly when every line is.
        let scan = Prefetch<(step: FrameWalker.Step, bodyIsUTF8: Bool)>(maxQueued: 8) { emit in
            var walker = FrameWalker(segments) { n, _ in n == segments.count - 1 }
            while true {
                let step = try walker.next()
                var bodyIsUTF8 = false
                if case .frame(_, let read) = step {
                    bodyIsUTF8 = read.body.withUnsafeBufferPointer { UTF8Validation.isValid($0) }
                }
                guard emit((step, bodyIsUTF8)) else { return }
                if case .end = step { return }
            }
        }
        defer { scan.cancel() }

        var path = ""
        var segmentIndex = 0
        walk: while let (step, bodyIsUTF8) = try scan.next() {
            let frame: FrameScanner.ReadFrame
            switch step {
            case .segment(let n, let header):
                path = segments[n].path
                segmentIndex = n
                guard let header else { return fail(path, 0, expected, "the segment header is invalid") }
                guard header.firstPosition == expected, segments[n].first == expected else {
                    return fail(path, 0, expected, "the segment starts at position \(header.firstPosition), expected \(expected)")
                }
                guard header.previousHash == (previous ?? [UInt8](repeating: 0, count: 32)) else {
                    return fail(path, 0, expected, "the segment's previous hash does not continue the chain")
                }
                continue
            case .tornTail(_, let offset, let reason):
                report.tornTail = Problem(segment: path, offset: offset, position: expected, reason: reason)
                continue
            case .damage(_, let offset, let reason, _, let followed):
                return fail(path, offset, expected, reason + (followed != nil ? FrameWalker.framesFollow : ""))
            case .end:
                break walk
            case .frame(_, let read):
                frame = read
            }
            let h = frame.header
            guard h.firstPosition == expected else {
                return fail(path, frame.offset, expected, "frame starts at position \(h.firstPosition), expected \(expected)")
            }
            guard h.firstRecordedAt >= lastRecorded, h.lastRecordedAt >= h.firstRecordedAt else {
                return fail(path, frame.offset, expected, "recordedAt decreases")
            }
            do {
                var exportLine: [UInt8] = []
                previous = try ChainCheck.check(
                    body: frame.body, firstPosition: h.firstPosition, count: Int(h.count), previous: previous
                ) { position, line, digest in
                    // A line every reader can read: chained bytes that are not UTF-8 would verify
                    // and then be refused by every reader (found by the frames fuzzer).
                    guard bodyIsUTF8 || UTF8Validation.isValid(line) else {
                        throw ChainCheck.Failure(
                            position: position, reason: "the event at position \(position) is not valid UTF-8")
                    }
                    if decodesLines {
                        do {
                            // what every reader decodes: the stored line with its hash
                            exportLine.removeAll(keepingCapacity: true)
                            EventCodec.appendExportLine(stored: line, hash: digest, into: &exportLine)
                            _ = try exportLine.withUnsafeBufferPointer { try EventCodec.decodeRecorded(line: $0) }
                        } catch {
                            throw ChainCheck.Failure(
                                position: position,
                                reason: "the event at position \(position) chains but does not decode: \(error)")
                        }
                    }
                    if let expectBytes, report.expectedFoundAt == nil, digest == expectBytes {
                        report.expectedFoundAt = position
                    }
                }
            } catch let failure as ChainCheck.Failure {
                return fail(path, frame.offset, failure.position, failure.reason)
            }
            guard previous == h.lastHash else {
                return fail(
                    path, frame.offset, h.firstPosition,
                    "hash chain broken: the events' bytes do not give the hash the frame header records (an altered event, or an altered header)")
            }
            lastRecorded = h.lastRecordedAt
            expected = h.lastPosition + 1
            report.frames += 1
            if h.isCommit {
                committedHash = previous
                committedPosition = h.lastPosition
                committedEnd = (segmentIndex, frame.offset + h.totalLength)
            }
            progress?(h.lastPosition)
        }
        report.uncommittedTailBytes = try bytes(after: committedEnd, in: segments)
        report.events = committedPosition
        report.headPosition = committedPosition
        report.headHash = committedHash.map(EventCodec.hex)
        if expect != nil && report.expectedFoundAt == nil {
            report.ok = false
            report.problem = Problem(
                segment: "-", offset: 0, position: committedPosition,
                reason: "the expected hash \(expect!) is not in this log's chain: the history it was published from is not a prefix of this log")
        }
        return report
    }
}

extension LogVerifier {
    /// The bytes of the log after `end` (a segment's index and an offset in it).
    fileprivate func bytes(after end: (segment: Int, offset: Int), in segments: [(first: Int64, path: String)]) throws -> Int {
        var total = 0
        for (k, seg) in segments.enumerated() where k >= end.segment {
            let size = try PosixFile(path: seg.path, flags: O_RDONLY).size
            total += k == end.segment ? max(0, size - end.offset) : size
        }
        return total
    }
}

/// The bytes of a hex string, or nil.
func hexBytes(_ text: String) -> [UInt8]? {
    let digits = Array(text.lowercased().utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let hi = EventCodec.hexValue(digits[i]), let lo = EventCodec.hexValue(digits[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}
