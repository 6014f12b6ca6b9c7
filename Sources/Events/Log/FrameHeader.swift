import Crypto

/// The headers the log writes, each inside a zstd *skippable frame* so that `zstd -dc` of a
/// segment prints its events and ignores the headers. All integers little-endian.
///
///     segment header (60 bytes, once at offset 0 of every segment):
///     +------------+---------+------+-----+-----+---------------+---------------+--------+
///     | 0x184D2A50 | size=52 | HRSG | ver | 0   | firstPosition | previousHash  | crc32c |
///     |     u32    |   u32   | 4 B  | u16 | u16 |      u64      |     32 B      |  u32   |
///     +------------+---------+------+-----+-----+---------------+---------------+--------+
///
///     frame (92-byte header, then one zstd frame of `compressedLength` bytes):
///     +------------+---------+------+-----+-------+-------+---------------+
///     | 0x184D2A5E | size=84 | HRFR | ver | flags | count | firstPosition |
///     |     u32    |   u32   | 4 B  | u16 |  u16  |  u32  |      u64      |
///     +------------+---------+------+-----+-------+-------+---------------+
///     | firstRecordedAt ms | lastRecordedAt ms | compressedLength | uncompressedLength |
///     |        i64         |        i64        |       u32        |        u32         |
///     +--------------------+-------------------+------------------+--------------------+
///     | bodyCRC32C (of the zstd frame) | lastHash 32 B | headerCRC32C (of the 80 bytes before) |
///     +--------------------------------+---------------+---------------------------------------+
///     | zstd frame: the events' stored lines, each ending in "\n"                              |
///     +----------------------------------------------------------------------------------------+
///
/// `flags` bit 0 = COMMIT: this frame ends a transaction. Frames after the last COMMIT frame
/// were never acknowledged and are cut off when the store is opened.
struct FrameHeader: Equatable {
    static let skippableMagic: UInt32 = 0x184D_2A5E
    static let payloadSize: UInt32 = 84
    static let size = 92
    static let tag: UInt32 = 0x5246_5248  // "HRFR" read as little-endian u32
    static let version: UInt16 = 1
    static let commitFlag: UInt16 = 1
    /// The most a frame's body may hold once decompressed (256 MiB; the writer closes a frame at
    /// about 1 MiB, so only one very large event comes near it). A header declaring more is
    /// invalid: a reader never allocates what a damaged or forged header says.
    static let maxUncompressedLength = 256 << 20
    /// The most a frame's compressed body may take (zstd's bound for the largest body).
    static let maxCompressedLength = maxUncompressedLength + maxUncompressedLength / 128 + (1 << 16)

    var flags: UInt16
    var count: UInt32
    var firstPosition: Int64
    var firstRecordedAt: Int64
    var lastRecordedAt: Int64
    var compressedLength: UInt32
    var uncompressedLength: UInt32
    var bodyCRC: UInt32
    var lastHash: [UInt8]

    var isCommit: Bool { flags & Self.commitFlag != 0 }
    var lastPosition: Int64 { firstPosition + Int64(count) - 1 }
    var totalLength: Int { Self.size + Int(compressedLength) }

    func encode(into out: inout [UInt8]) {
        let start = out.count
        out.appendLE(Self.skippableMagic)
        out.appendLE(Self.payloadSize)
        out.appendLE(Self.tag)
        out.appendLE(Self.version)
        out.appendLE(flags)
        out.appendLE(count)
        out.appendLE(UInt64(bitPattern: firstPosition))
        out.appendLE(UInt64(bitPattern: firstRecordedAt))
        out.appendLE(UInt64(bitPattern: lastRecordedAt))
        out.appendLE(compressedLength)
        out.appendLE(uncompressedLength)
        out.appendLE(bodyCRC)
        out.append(contentsOf: lastHash)
        let crc = out.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[(start + 8)..<(start + 88)])) }
        out.appendLE(crc)
    }

    enum DecodeResult {
        case header(FrameHeader)
        /// Fewer bytes than a header: the end of the data, or a torn write.
        case short
        /// Bytes that are not a valid frame header.
        case invalid(String)
    }

    /// Whether `bytes` start like a frame header: at least two of its three fixed fields (magic,
    /// payload size, `HRFR` tag) are in place. A single flipped bit leaves two of them, random
    /// bytes almost never do: it tells a damaged header from garbage at the end of a file.
    static func looksLikeHeader(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 12 else { return false }
        var reader = ByteReader(bytes)
        let matches = [reader.u32() == skippableMagic, reader.u32() == payloadSize, reader.u32() == tag]
        return matches.filter { $0 }.count >= 2
    }

    /// Reads a header from the start of `bytes`, which must hold at least `size` bytes for a result.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeResult {
        guard bytes.count >= size else { return .short }
        var reader = ByteReader(bytes)
        guard reader.u32() == skippableMagic else { return .invalid("no frame magic") }
        guard reader.u32() == payloadSize else { return .invalid("wrong frame header size") }
        guard reader.u32() == tag else { return .invalid("no HRFR tag") }
        guard reader.u16() == version else { return .invalid("unknown frame version") }
        let stored = bytes.loadUnaligned(fromByteOffset: 88, as: UInt32.self).littleEndian
        let actual = crc32c(UnsafeRawBufferPointer(rebasing: bytes[8..<88]))
        guard stored == actual else { return .invalid("header checksum mismatch") }
        let flags = reader.u16()
        let count = reader.u32()
        let first = Int64(bitPattern: reader.u64())
        let firstRec = Int64(bitPattern: reader.u64())
        let lastRec = Int64(bitPattern: reader.u64())
        let clen = reader.u32()
        let ulen = reader.u32()
        let bodyCRC = reader.u32()
        let lastHash = reader.bytes(32)
        guard count > 0, first >= 1 else { return .invalid("empty frame") }
        guard Int(ulen) <= maxUncompressedLength, Int(clen) <= maxCompressedLength else {
            return .invalid(
                "the header declares a body of \(clen) bytes (\(ulen) decompressed), more than a frame may hold (\(maxUncompressedLength >> 20) MiB)")
        }
        return .header(
            FrameHeader(
                flags: flags, count: count, firstPosition: first, firstRecordedAt: firstRec, lastRecordedAt: lastRec,
                compressedLength: clen, uncompressedLength: ulen, bodyCRC: bodyCRC, lastHash: lastHash))
    }
}

/// The header at the start of every segment file.
struct SegmentHeader: Equatable {
    static let skippableMagic: UInt32 = 0x184D_2A50
    static let payloadSize: UInt32 = 52
    static let size = 60
    static let tag: UInt32 = 0x4753_5248  // "HRSG"
    static let version: UInt16 = 1

    var firstPosition: Int64
    /// The hash of the event before `firstPosition` (32 zero bytes for the first segment).
    var previousHash: [UInt8]

    func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(Self.skippableMagic)
        out.appendLE(Self.payloadSize)
        out.appendLE(Self.tag)
        out.appendLE(Self.version)
        out.appendLE(UInt16(0))
        out.appendLE(UInt64(bitPattern: firstPosition))
        out.append(contentsOf: previousHash)
        let crc = out.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[8..<56])) }
        out.appendLE(crc)
        return out
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> SegmentHeader? {
        guard bytes.count >= size else { return nil }
        var reader = ByteReader(bytes)
        guard reader.u32() == skippableMagic, reader.u32() == payloadSize, reader.u32() == tag,
            reader.u16() == version
        else { return nil }
        _ = reader.u16()
        let first = Int64(bitPattern: reader.u64())
        let prev = reader.bytes(32)
        let stored = reader.u32()
        guard stored == crc32c(UnsafeRawBufferPointer(rebasing: bytes[8..<56])) else { return nil }
        return SegmentHeader(firstPosition: first, previousHash: prev)
    }
}

/// Reads little-endian integers, advancing; callers check the length first.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    mutating func u16() -> UInt16 {
        defer { offset += 2 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian
    }
    mutating func u32() -> UInt32 {
        defer { offset += 4 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
    }
    mutating func u64() -> UInt64 {
        defer { offset += 8 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }
    mutating func bytes(_ n: Int) -> [UInt8] {
        defer { offset += n }
        return Array(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
    }
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
