import Crypto
import Foundation

/// Reads the frames of one segment file in order, checking each header and body checksum.
/// A short or invalid frame stops the scan with its offset, the reason, and whether it is what a
/// crash can leave at the end of a file (*torn*) or damage.
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
        let crc = compressed.withUnsafeBytes { crc32c($0) }
        guard crc == header.bodyCRC else {
            if compressed.allSatisfy({ $0 == 0 }), offset + header.totalLength == fileSize {
                return .bad(offset: offset, reason: "the last frame's body was never written (zero bytes)", torn: true, header: header)
            }
            return .bad(offset: offset, reason: "body checksum mismatch (CRC32C)", torn: false, header: header)
        }
        var body: [UInt8] = []
        if decompress {
            let ok = compressed.withUnsafeBytes { decompressor.decompress($0, size: Int(header.uncompressedLength), into: &body) }
            guard ok else { return .bad(offset: offset, reason: "the zstd frame does not decompress to the length its header records", torn: false, header: header) }
        }
        defer { offset += header.totalLength }
        return .frame(ReadFrame(header: header, offset: offset, body: body))
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
enum ChainCheck {
    /// A line that breaks the chain or the positions.
    struct Failure: Error {
        var position: Int64
        var reason: String
    }

    /// Checks every line of `body`: positions dense from `firstPosition`, `count` lines, and
    /// computes each hash = SHA-256(previous ‖ line). Returns the last hash; the caller compares
    /// it with the frame header's.
    static func check(
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
                guard let found = memchr(buffer.baseAddress! + start, 0x0A, buffer.count - start) else {
                    throw Failure(position: position, reason: "the last line of a frame has no newline")
                }
                let end = buffer.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
                let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
                // the line must start with {"position":<position>, and end with }
                expectedPrefix.removeAll(keepingCapacity: true)
                expectedPrefix.append(contentsOf: #"{"position":"#.utf8)
                expectedPrefix.append(contentsOf: String(position).utf8)
                expectedPrefix.append(UInt8(ascii: ","))
                guard line.count > expectedPrefix.count, line[line.count - 1] == UInt8(ascii: "}"),
                    UnsafeBufferPointer(rebasing: line[0..<expectedPrefix.count]).elementsEqual(expectedPrefix)
                else {
                    throw Failure(position: position, reason: "expected the event at position \(position) here")
                }
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
}
