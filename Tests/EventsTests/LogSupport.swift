import Foundation
import Testing

import TestSupport

@testable import Events

// Helpers of the log's tests (LogTests, CrashTests): a store in a temporary folder, raw segment
// bytes. What other targets share too (paths, the sample history, temporary folders, the `admin`
// binary as a child process) is in the TestSupport target.

/// Small events made up for the log's own tests (the sample history itself: `TestSupport`).
extension Sample {
    /// A well-formed event of a type the catalog does not know (append with `validate: false`).
    static func note(
        _ stream: String = "note-a", _ n: Int, id: UUID? = nil, expectedVersion: Int64? = nil, recordedAt: Timestamp? = nil,
        text: String = "Нотатка"
    ) -> ProposedEvent {
        ProposedEvent(
            id: id, stream: stream, type: "NoteTaken", occurredAt: Timestamp(milliseconds: 1_600_000_000_000 + Int64(n) * 1000),
            expectedVersion: expectedVersion, data: ["n": .int(Int64(n)), "text": .string("\(text) \(n)")],
            metadata: ["actor": "test"], recordedAt: recordedAt)
    }
}

/// A store in a temporary folder, and ways to look at its bytes.
struct TestStore {
    let layout: StoreLayout

    /// Creates an empty store at `dir/name`.
    static func create(in dir: URL, name: String = "store") throws -> TestStore {
        let layout = StoreLayout(root: dir.appendingPathComponent(name).path)
        try layout.initialize()
        return TestStore(layout: layout)
    }

    var root: URL { URL(fileURLWithPath: layout.root) }

    /// Opens the writer, runs `body`, closes and releases it (the lock goes when the store is freed).
    func withWriter<T>(_ options: EventStoreOptions = EventStoreOptions(), _ body: (EventStore) throws -> T) throws -> T {
        let store = try EventStore(layout: layout, options: options)
        defer { store.close() }
        return try body(store)
    }

    /// Imports `lines` with `importLines`.
    @discardableResult
    func importLines(
        _ lines: [[UInt8]], options: EventStoreOptions = EventStoreOptions(), commitEvery: Int = 0, validate: Bool = true
    ) throws -> EventStore.ImportResult {
        try withWriter(options) { store in try TestStore.importLines(lines, into: store, commitEvery: commitEvery, validate: validate) }
    }

    static func importLines(_ lines: [[UInt8]], into store: EventStore, commitEvery: Int = 0, validate: Bool = true) throws
        -> EventStore.ImportResult
    {
        var importOptions = EventStore.ImportOptions()
        importOptions.commitEvery = commitEvery
        importOptions.validate = validate
        var iterator = lines.makeIterator()
        return try store.importLines(options: importOptions, next: { iterator.next() })
    }

    /// Every stored line, in log order (what `admin export` prints).
    func exportedLines() throws -> [[UInt8]] {
        let reader = try EventLogReader(layout: layout)
        var out: [[UInt8]] = []
        try reader.forEachLine { _, line in
            out.append(Array(line))
            return true
        }
        return out
    }

    /// Every event, in log order.
    func events() throws -> [RecordedEvent] {
        try exportedLines().map { line in try line.withUnsafeBufferPointer { try EventCodec.decodeRecorded(line: $0) } }
    }

    /// The bytes of every file under `log/`, by name.
    func logFiles() throws -> [String: Data] { try TestSupport.logFiles(of: root) }

    /// The segment files, in order.
    func segmentPaths() throws -> [String] {
        try layout.segments().map(\.path)
    }

    /// Removes the index so that the next writer rebuilds it from the log alone.
    func removeIndex() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: layout.index + suffix) }
    }

    func verify() throws -> LogVerifier.Report { try LogVerifier(layout: layout).verify() }
}

/// A frame of a segment as the bytes show it.
struct RawFrame {
    var offset: Int
    var header: FrameHeader
    var end: Int { offset + header.totalLength }
    var bodyRange: Range<Int> { (offset + FrameHeader.size)..<end }
}

/// The frames of a whole segment file's bytes, in order; fails the test at the first bad header.
func rawFrames(_ bytes: [UInt8]) throws -> [RawFrame] {
    var frames: [RawFrame] = []
    var offset = SegmentHeader.size
    while offset < bytes.count {
        // a copy: a fresh array's storage is aligned, as the log's own reads are
        let headerBytes = Array(bytes[offset..<min(bytes.count, offset + FrameHeader.size)])
        let result = headerBytes.withUnsafeBytes { FrameHeader.decode($0) }
        guard case .header(let header) = result else {
            Issue.record("no valid frame header at offset \(offset): \(result)")
            throw EventStoreError(.corruption, "no valid frame header at offset \(offset)")
        }
        frames.append(RawFrame(offset: offset, header: header))
        offset += header.totalLength
    }
    return frames
}

/// The decompressed lines of a frame.
func decompressedBody(_ bytes: [UInt8], _ frame: RawFrame) throws -> [UInt8] {
    var out: [UInt8] = []
    let ok = bytes.withUnsafeBytes { raw in
        ZstdDecompressor().decompress(
            UnsafeRawBufferPointer(rebasing: raw[frame.bodyRange]), size: Int(frame.header.uncompressedLength), into: &out)
    }
    try #require(ok, "the frame at offset \(frame.offset) does not decompress")
    return out
}

/// Re-encodes a one-segment log with some frames' bodies replaced (by frame index): each
/// recompressed, with its lengths and both CRCs recomputed. With `rechain`, every frame header's
/// last hash is recomputed from the events as well (a forger rewriting all history after a change).
func forgeSegment(_ bytes: [UInt8], _ frames: [RawFrame], bodies: [Int: [UInt8]], rechain: Bool = false) throws -> [UInt8] {
    var out = Array(bytes[..<SegmentHeader.size])
    var previous: [UInt8]? = nil
    for (k, frame) in frames.enumerated() {
        var header = frame.header
        let body = try bodies[k] ?? decompressedBody(bytes, frame)
        if rechain {
            for line in body.split(separator: 0x0A) {
                previous = Array(line).withUnsafeBufferPointer { EventCodec.chainHash(previous: previous, content: $0) }
            }
            header.lastHash = previous!
        }
        var compressed = Array(bytes[frame.bodyRange])
        if let replaced = bodies[k] {
            compressed = try replaced.withUnsafeBytes { try ZstdCompressor(level: 3).compress($0) }
            header.compressedLength = UInt32(compressed.count)
            header.uncompressedLength = UInt32(replaced.count)
            header.bodyCRC = compressed.withUnsafeBytes { crc32c($0) }
        }
        header.encode(into: &out)
        out += compressed
    }
    return out
}

/// The stored line of an export line: without its `,"hash":"<64 hex>"` (docs/FORMAT.md).
func storedLine(ofExport line: [UInt8]) -> [UInt8] {
    Array(line[..<(line.count - EventCodec.hashTailCount)]) + [UInt8(ascii: "}")]
}

/// The `position` field of a stored line.
func storedPosition(_ line: [UInt8]) -> Int64? {
    let prefix = Array(#"{"position":"#.utf8)
    guard line.starts(with: prefix) else { return nil }
    let digits = line[prefix.count...].prefix { $0 >= 0x30 && $0 <= 0x39 }
    return Int64(String(decoding: digits, as: UTF8.self))
}

/// Runs `body` on a thread of its own (blocking calls such as `EventStore.append` must not hold
/// up the cooperative pool).
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
