import Foundation
import Testing

@testable import Events

#if canImport(Glibc)
import Glibc
#endif

// Helpers of the log's tests (LogTests, CrashTests): temporary folders, the sample history,
// raw segment bytes, and child processes of the built `admin` binary.

/// The repository and the shared sample data, found from this file's path.
enum TestPaths {
    /// Tests/EventsTests/TestSupport.swift -> the repository's root.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // EventsTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repo root
        .standardizedFileURL
    static let data: URL = repoRoot.appendingPathComponent("Tests/Fixtures", isDirectory: true).standardizedFileURL
    static let sampleHistory: URL = data.appendingPathComponent("sample-history.jsonl")

    /// The `admin` binary: `$HROMADA_ADMIN`, else `.build/debug/admin`, else `.build-tests/debug/admin`.
    static func adminBinary() throws -> URL {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["HROMADA_ADMIN"], !path.isEmpty { candidates.append(path) }
        candidates.append(repoRoot.appendingPathComponent(".build/debug/admin").path)
        candidates.append(repoRoot.appendingPathComponent(".build-tests/debug/admin").path)
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(
            found,
            "the admin binary is not built: looked for \(candidates.joined(separator: ", ")); run `swift build` (or set HROMADA_ADMIN)")
        return URL(fileURLWithPath: path)
    }
}

/// Runs `body` with a fresh empty folder under the temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

/// Runs `body` with a fresh empty folder under the temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    return try await body(dir)
}

private func makeTemporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("hromada-log-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// The sample history and small events made up for the log's own tests.
enum Sample {
    /// The sample history's lines (without newlines), in order.
    static func lines() throws -> [[UInt8]] {
        let bytes = try [UInt8](Data(contentsOf: TestPaths.sampleHistory))
        return bytes.split(separator: 0x0A, omittingEmptySubsequences: true).map(Array.init)
    }

    /// The first `count` lines of the sample history.
    static func lines(prefix count: Int) throws -> [[UInt8]] {
        Array(try lines().prefix(count))
    }

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
    func logFiles() throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: layout.logDirectory) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: layout.logDirectory + "/" + name))
        }
        return out
    }

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

/// The `hash` field of an export line (its last 66..2 bytes).
func hashField(_ line: [UInt8]) -> String {
    String(decoding: line[(line.count - 66)..<(line.count - 2)], as: UTF8.self)
}

/// The `position` field of a stored line.
func storedPosition(_ line: [UInt8]) -> Int64? {
    let prefix = Array(#"{"position":"#.utf8)
    guard line.starts(with: prefix) else { return nil }
    let digits = line[prefix.count...].prefix { $0 >= 0x30 && $0 <= 0x39 }
    return Int64(String(decoding: digits, as: UTF8.self))
}

// MARK: child processes

/// What a finished child process did.
struct ChildResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// The process ended by a signal (SIGKILL) rather than by exiting.
    var signalled: Bool

    var stdoutLines: [Substring] { stdout.split(separator: "\n") }
    /// The first line of standard error that says what went wrong.
    var errorLine: String {
        stderr.split(separator: "\n").first { $0.hasPrefix("error") || $0.contains("Fatal error") }.map(String.init) ?? stderr
    }
}

/// A child process of the `admin` binary whose standard output is collected line by line as it
/// comes (so that a test can see `committed P` acknowledgements while it runs).
final class AdminChild: @unchecked Sendable {
    // @unchecked: the collected output is guarded by `lock`.
    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private var outClosed = false
    private var errClosed = false
    private let stdinPipe: Pipe?

    /// Starts `admin` with `arguments`; with `stdin`, its standard input is a pipe the test writes.
    init(_ arguments: [String], stdin: Bool = false) throws {
        process.executableURL = try TestPaths.adminBinary()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "HROMADA_STORE")
        process.environment = environment
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        if stdin {
            let pipe = Pipe()
            process.standardInput = pipe
            stdinPipe = pipe
        } else {
            process.standardInput = FileHandle.nullDevice
            stdinPipe = nil
        }
        try process.run()
        Self.drain(outPipe.fileHandleForReading) { [self] data in
            lock.lock()
            if let data { out.append(data) } else { outClosed = true }
            lock.unlock()
        }
        Self.drain(errPipe.fileHandleForReading) { [self] data in
            lock.lock()
            if let data { err.append(data) } else { errClosed = true }
            lock.unlock()
        }
    }

    private static func drain(_ handle: FileHandle, _ sink: @escaping @Sendable (Data?) -> Void) {
        let thread = Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                sink(data)
            }
            sink(nil)
        }
        thread.start()
    }

    var pid: Int32 { process.processIdentifier }

    /// Standard output so far.
    var stdoutSoFar: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: out, as: UTF8.self)
    }

    /// The positions of the `committed P` lines printed so far.
    var acknowledged: [Int64] {
        stdoutSoFar.split(separator: "\n").compactMap { line in
            line.hasPrefix("committed ") ? Int64(line.dropFirst("committed ".count)) : nil
        }
    }

    /// Writes to the child's standard input.
    func write(_ bytes: [UInt8]) throws {
        try stdinPipe?.fileHandleForWriting.write(contentsOf: Data(bytes))
    }

    /// Closes the child's standard input (the end of an import from `-`).
    func closeInput() throws {
        try stdinPipe?.fileHandleForWriting.close()
    }

    func kill(_ signal: Int32 = SIGKILL) {
        if process.isRunning { _ = Glibc.kill(pid, signal) }
    }

    /// Waits until `condition` holds, or `timeout` seconds pass; returns whether it held.
    func wait(upTo timeout: Double, until condition: (AdminChild) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(2_000)
        }
        return condition(self)
    }

    /// Waits for the child to end (killing it after `timeout` seconds) and returns what it did.
    func finish(timeout: Double = 60) -> ChildResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        if process.isRunning {
            Issue.record("admin \(process.arguments ?? []) still runs after \(timeout) s; killed")
            kill()
        }
        process.waitUntilExit()
        // the pipes close when the process is gone
        let closedBy = Date().addingTimeInterval(10)
        while Date() < closedBy {
            lock.lock()
            let done = outClosed && errClosed
            lock.unlock()
            if done { break }
            usleep(1_000)
        }
        lock.lock()
        defer { lock.unlock() }
        return ChildResult(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self), signalled: process.terminationReason == .uncaughtSignal)
    }
}

/// Runs `admin` to its end.
func runAdmin(_ arguments: [String], timeout: Double = 60) throws -> ChildResult {
    try AdminChild(arguments).finish(timeout: timeout)
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

extension Sequence where Element == [UInt8] {
    /// The lines, each followed by a newline (a JSON Lines file's bytes).
    func joinedLines() -> [UInt8] {
        var out: [UInt8] = []
        for line in self {
            out += line
            out.append(0x0A)
        }
        return out
    }
}
