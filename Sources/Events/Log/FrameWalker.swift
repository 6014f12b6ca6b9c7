import Crypto
import Foundation

/// Reads the frames of one segment file in order, checking each header and body checksum.
/// A short or invalid frame stops the scan with its offset, the reason, and whether it looks like
/// what a crash can leave at the end of a file (*torn*); ``FrameWalker`` decides whether it is.
struct FrameScanner {
    let file: PosixFile
    let segmentFirst: Int64
    let fileSize: Int
    private(set) var offset: Int
    private let decompressor = ZstdDecompressor()

    /// A frame read back whole: its header, where it is, and its decompressed lines.
    struct ReadFrame {
        var header: FrameHeader
        var offset: Int
        var body: [UInt8]
    }

    enum Step {
        case frame(ReadFrame)
        case end
        /// Bytes at `offset` that are not a whole valid frame; `reason` says why. `torn`: they are
        /// what a crash can leave at the end of a file (fewer bytes than a frame header, a frame
        /// running past the end of the file, zero bytes, or bytes that do not start like a frame
        /// header at all); otherwise a complete frame, or a frame header, is damaged. `header` is
        /// the frame's header when it is valid (its body is then what failed).
        case bad(offset: Int, reason: String, torn: Bool, header: FrameHeader?)
    }

    init(file: PosixFile, segmentFirst: Int64, from offset: Int = SegmentHeader.size) throws {
        self.file = file
        self.segmentFirst = segmentFirst
        self.fileSize = try file.size
        self.offset = offset
    }

    /// The segment's header, or `nil` when it is missing or damaged.
    func segmentHeader() throws -> SegmentHeader? {
        let bytes = try file.read(at: 0, count: SegmentHeader.size)
        return bytes.withUnsafeBytes { SegmentHeader.decode($0) }
    }

    /// Reads the header at the current offset only (no body check), advancing past the frame.
    mutating func nextHeader() throws -> (FrameHeader, Int)? {
        guard offset + FrameHeader.size <= fileSize else { return nil }
        let bytes = try file.read(at: offset, count: FrameHeader.size)
        guard case .header(let h) = bytes.withUnsafeBytes({ FrameHeader.decode($0) }),
            offset + h.totalLength <= fileSize
        else { return nil }
        defer { offset += h.totalLength }
        return (h, offset)
    }

    /// Reads, checks and decompresses the next frame.
    mutating func next(decompress: Bool = true) throws -> Step {
        if offset == fileSize { return .end }
        let left = fileSize - offset
        let headerBytes = try file.read(at: offset, count: FrameHeader.size)
        let header: FrameHeader
        switch headerBytes.withUnsafeBytes({ FrameHeader.decode($0) }) {
        case .short:
            return .bad(offset: offset, reason: "\(left) bytes after the last frame, fewer than a frame header", torn: true, header: nil)
        case .invalid(let why):
            if try isZero(from: offset) {
                return .bad(offset: offset, reason: "\(left) zero bytes after the last frame", torn: true, header: nil)
            }
            if !headerBytes.withUnsafeBytes({ FrameHeader.looksLikeHeader($0) }) {
                return .bad(offset: offset, reason: "\(left) bytes after the last frame that are not a frame (\(why))", torn: true, header: nil)
            }
            return .bad(offset: offset, reason: "the frame header is damaged (\(why))", torn: false, header: nil)
        case .header(let h): header = h
        }
        if offset + header.totalLength > fileSize {
            return .bad(
                offset: offset, reason: "the frame runs past the end of the file (it declares \(header.totalLength) bytes, \(left) are there)",
                torn: true, header: header)
        }
        let compressed = try file.read(at: offset + FrameHeader.size, count: Int(header.compressedLength))
        switch compressed.withUnsafeBytes({ FrameBody.decode($0, header: header, decompressor: decompressor, decompress: decompress) }) {
        case .failure(.checksum):
            if compressed.allSatisfy({ $0 == 0 }), offset + header.totalLength == fileSize {
                return .bad(offset: offset, reason: "the last frame's body was never written (zero bytes)", torn: true, header: header)
            }
            return .bad(offset: offset, reason: "body checksum mismatch (CRC32C)", torn: false, header: header)
        case .failure(.decompression):
            return .bad(offset: offset, reason: "the zstd frame does not decompress to the length its header records", torn: false, header: header)
        case .success(let body):
            defer { offset += header.totalLength }
            return .frame(ReadFrame(header: header, offset: offset, body: body))
        }
    }

    /// Whether every byte from `start` to the end of the file is zero.
    private func isZero(from start: Int) throws -> Bool {
        var at = start
        while at < fileSize {
            let chunk = try file.read(at: at, count: min(1 << 20, fileSize - at))
            guard !chunk.isEmpty, chunk.allSatisfy({ $0 == 0 }) else { return false }
            at += chunk.count
        }
        return true
    }
}

/// A frame's compressed body checked against its header: its CRC32C, then zstd to the length
/// the header records. Shared by the scanner and the readers.
enum FrameBody {
    enum Failure: Error { case checksum, decompression }

    static func decode(
        _ compressed: UnsafeRawBufferPointer, header: FrameHeader, decompressor: ZstdDecompressor, decompress: Bool = true
    ) -> Result<[UInt8], Failure> {
        guard crc32c(compressed) == header.bodyCRC else { return .failure(.checksum) }
        var body: [UInt8] = []
        if decompress {
            guard decompressor.decompress(compressed, size: Int(header.uncompressedLength), into: &body) else {
                return .failure(.decompression)
            }
        }
        return .success(body)
    }
}

/// Walks the frames of a log's segments in order from a place in it, for recovery, `verify` and
/// the readers' snapshots: each segment's header as the walk enters a segment at its start, each
/// whole valid frame, then where the walk stops: the end of the log, a torn tail, or damage.
///
/// The rule that tells a torn tail from damage is here and nowhere else: bytes that look like
/// what a crash leaves at the end of a file (see ``FrameScanner/Step/bad(offset:reason:torn:header:)``)
/// are a torn tail when the caller allows one there (`mayBeTorn`: not inside what the index
/// records as committed; `verify`: in the last segment) and no valid frame header follows them
/// anywhere in the log. Everything else is damage.
struct FrameWalker {
    typealias Segments = [(first: Int64, path: String)]

    enum Step {
        /// The walk enters segment `index` at its start: its header (nil: missing or invalid).
        case segment(index: Int, header: SegmentHeader?)
        /// A whole valid frame of segment `segment`.
        case frame(segment: Int, FrameScanner.ReadFrame)
        /// What a crash can leave at the end of the log, at `offset` of segment `segment`.
        case tornTail(segment: Int, offset: Int, reason: String)
        /// Damage at `offset` of segment `segment`: `header` is the damaged frame's own header when
        /// it is valid, `followedBy` the highest position of a valid frame header after it (looked
        /// for after torn-looking bytes, and after any damage with `huntsAfterDamage`).
        case damage(segment: Int, offset: Int, reason: String, header: FrameHeader?, followedBy: Int64?)
        /// The end of the log, or of what the walk was to read (`stopAt`).
        case end
    }

    /// Said of damage that looks torn but is followed by valid frames.
    static let framesFollow = "; valid frames follow, so this is not a torn write"

    let segments: Segments
    /// The walk ends when it reaches this place (a segment's index and an offset in it).
    var stopAt: (segment: Int, offset: Int)? = nil
    /// Whether valid frame headers are looked for after any damage, not only after bytes that look torn.
    var huntsAfterDamage = false
    /// Whether bytes at an offset of a segment (its index) may be a torn tail, as far as the caller knows.
    let mayBeTorn: (_ segment: Int, _ offset: Int) -> Bool

    private(set) var segment: Int
    private var offset: Int
    private var scanner: FrameScanner?
    private var finished = false

    init(
        _ segments: Segments, from start: (segment: Int, offset: Int) = (0, SegmentHeader.size),
        stopAt: (segment: Int, offset: Int)? = nil, huntsAfterDamage: Bool = false,
        mayBeTorn: @escaping (_ segment: Int, _ offset: Int) -> Bool
    ) {
        self.segments = segments
        self.stopAt = stopAt
        self.huntsAfterDamage = huntsAfterDamage
        self.mayBeTorn = mayBeTorn
        segment = start.segment
        offset = start.offset
    }

    mutating func next() throws -> Step {
        while !finished && segment < segments.count {
            if scanner == nil {
                let seg = segments[segment]
                let opened = try FrameScanner(file: try PosixFile(path: seg.path, flags: O_RDONLY), segmentFirst: seg.first, from: offset)
                scanner = opened
                if offset == SegmentHeader.size { return .segment(index: segment, header: try opened.segmentHeader()) }
            }
            if let stopAt, (segment, scanner!.offset) >= (stopAt.segment, stopAt.offset) { break }
            switch try scanner!.next() {
            case .frame(let frame):
                return .frame(segment: segment, frame)
            case .end:
                segment += 1
                offset = SegmentHeader.size
                scanner = nil
            case .bad(let at, let reason, let torn, let header):
                finished = true
                let tornHere = torn && mayBeTorn(segment, at)
                let followed = tornHere || huntsAfterDamage ? try FrameHunt.lastPosition(after: at, in: segments, segmentIndex: segment) : nil
                if tornHere && followed == nil { return .tornTail(segment: segment, offset: at, reason: reason) }
                return .damage(segment: segment, offset: at, reason: reason, header: header, followedBy: followed)
            }
        }
        finished = true
        return .end
    }
}

/// Looks for valid frame headers in the bytes after a damaged or torn spot: the highest position
/// they hold (damage followed by a valid frame is never a torn write; the positions tell an
/// operator what is affected).
enum FrameHunt {
    /// The highest last position of any valid frame header after `offset` of segment `n`, or in a
    /// later segment; nil when there is none.
    static func lastPosition(after offset: Int, in segments: [(first: Int64, path: String)], segmentIndex n: Int) throws -> Int64? {
        var best: Int64?
        for k in n..<segments.count {
            let file = try PosixFile(path: segments[k].path, flags: O_RDONLY)
            let size = try file.size
            var start = k == n ? offset + 1 : 0
            let chunk = 1 << 20
            while start < size {
                let bytes = try file.read(at: start, count: min(chunk + FrameHeader.size, size - start))
                bytes.withUnsafeBytes { raw in
                    var i = 0
                    while i + FrameHeader.size <= raw.count && i < chunk {
                        if raw[i] == 0x5E, raw[i + 1] == 0x2A, raw[i + 2] == 0x4D, raw[i + 3] == 0x18,
                            case .header(let h) = FrameHeader.decode(UnsafeRawBufferPointer(rebasing: raw[i..<(i + FrameHeader.size)]))
                        {
                            best = max(best ?? h.lastPosition, h.lastPosition)
                        }
                        i += 1
                    }
                }
                start += chunk
            }
        }
        return best
    }
}

/// Walks the lines of a decompressed frame body and computes the hash chain.
package enum ChainCheck {
    /// A line that breaks the chain or the positions.
    package struct Failure: Error {
        package var position: Int64
        package var reason: String
    }

    /// Checks every line of `body`: positions dense from `firstPosition`, `count` lines, and
    /// computes each hash = SHA-256(previous ‖ line). Returns the last hash; the caller compares
    /// it with the frame header's.
    package static func check(
        body: [UInt8], firstPosition: Int64, count: Int, previous: [UInt8]?,
        lineHandler: (Int64, UnsafeBufferPointer<UInt8>, [UInt8]) throws -> Void = { _, _, _ in }
    ) throws -> [UInt8]? {
        var previous = previous
        var position = firstPosition
        try body.withUnsafeBufferPointer { buffer in
            var start = 0
            var seen = 0
            var expectedPrefix: [UInt8] = []
            while start < buffer.count {
                let end = try nextLine(buffer, from: start, position: position, prefix: &expectedPrefix)
                let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
                let digest = EventCodec.chainHash(previous: previous, content: line)
                try lineHandler(position, line, digest)
                previous = digest
                position += 1
                seen += 1
                start = end + 1
            }
            guard seen == count else {
                throw Failure(position: position, reason: "the frame header says \(count) events, the body holds \(seen)")
            }
        }
        return previous
    }

    private static let positionKey = Array(#"{"position":"#.utf8)

    /// The end (the newline's offset) of the line at `start`, checked to be the event at
    /// `position`: it starts with `{"position":<position>,` and ends with `}`. `prefix` is
    /// scratch space.
    @inline(__always)
    package static func nextLine(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, position: Int64, prefix expectedPrefix: inout [UInt8]) throws -> Int {
        guard let found = memchr(buffer.baseAddress! + start, 0x0A, buffer.count - start) else {
            throw Failure(position: position, reason: "the last line of a frame has no newline")
        }
        let end = buffer.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
        let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
        expectedPrefix.removeAll(keepingCapacity: true)
        expectedPrefix.append(contentsOf: positionKey)
        EventCodec.appendDecimal(position, into: &expectedPrefix)
        expectedPrefix.append(UInt8(ascii: ","))
        guard line.count > expectedPrefix.count, line[line.count - 1] == UInt8(ascii: "}"),
            expectedPrefix.withUnsafeBufferPointer({ memcmp(line.baseAddress!, $0.baseAddress!, $0.count) }) == 0
        else {
            throw Failure(position: position, reason: "expected the event at position \(position) here")
        }
        return end
    }
}
