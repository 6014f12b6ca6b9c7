import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Helpers of the CLI tests: the built binary, temporary folders, the sample data, child processes.

enum CLI {
    /// Tests/AdminTests/AdminSupport.swift -> the repository's root.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // AdminTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repo root
        .standardizedFileURL
    static let data: URL = repoRoot.appendingPathComponent("Tests/Fixtures", isDirectory: true).standardizedFileURL
    static let sampleHistory: URL = data.appendingPathComponent("sample-history.jsonl")
    static let invalidAfterSample: URL = data.appendingPathComponent("invalid-after-sample.json")

    /// The `admin` binary: `$HROMADA_ADMIN`, else `.build/debug/admin`, else `.build-tests/debug/admin`.
    static func binary() throws -> URL {
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

    /// Runs `admin` to its end (killing it after `timeout` seconds).
    static func run(_ arguments: [String], timeout: Double = 60) throws -> Run {
        try Child(arguments).finish(timeout: timeout)
    }

    /// The sample's lines, without newlines.
    static func sampleLines() throws -> [[UInt8]] {
        let bytes = try [UInt8](Data(contentsOf: sampleHistory))
        return bytes.split(separator: 0x0A, omittingEmptySubsequences: true).map(Array.init)
    }
}

/// What a finished `admin` did.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    var signalled: Bool
    var stdoutLines: [Substring] { stdout.split(separator: "\n") }
    /// The first line of standard error that says what went wrong.
    var errorLine: String {
        stderr.split(separator: "\n").first { $0.hasPrefix("error") || $0.contains("Fatal error") }.map(String.init) ?? stderr
    }
}

/// A running `admin`, its output collected as it comes.
final class Child: @unchecked Sendable {
    // @unchecked: the collected output is guarded by `lock`.
    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private var closed = 0
    private let input: Pipe?

    init(_ arguments: [String], stdin: Bool = false) throws {
        process.executableURL = try CLI.binary()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "HROMADA_STORE")
        process.environment = environment
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        input = stdin ? Pipe() : nil
        process.standardInput = input ?? FileHandle.nullDevice
        try process.run()
        drain(outPipe.fileHandleForReading, isError: false)
        drain(errPipe.fileHandleForReading, isError: true)
    }

    private func drain(_ handle: FileHandle, isError: Bool) {
        Thread { [self] in
            while true {
                let data = handle.availableData
                lock.lock()
                if data.isEmpty {
                    closed += 1
                    lock.unlock()
                    break
                }
                if isError { err.append(data) } else { out.append(data) }
                lock.unlock()
            }
        }.start()
    }

    var stdoutSoFar: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: out, as: UTF8.self)
    }

    func write(_ bytes: [UInt8]) throws { try input?.fileHandleForWriting.write(contentsOf: Data(bytes)) }
    func closeInput() throws { try input?.fileHandleForWriting.close() }

    func kill() { if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) } }

    /// Waits until `condition` holds or `timeout` seconds pass; returns whether it held.
    func wait(upTo timeout: Double, until condition: (Child) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(2_000)
        }
        return condition(self)
    }

    /// Waits for the end (killing the process after `timeout` seconds, which is an issue).
    func finish(timeout: Double = 60) -> Run {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        if process.isRunning {
            Issue.record("admin \(process.arguments ?? []) still runs after \(timeout) s; killed")
            kill()
        }
        process.waitUntilExit()
        let closedBy = Date().addingTimeInterval(10)
        while Date() < closedBy {
            lock.lock()
            let done = closed == 2
            lock.unlock()
            if done { break }
            usleep(1_000)
        }
        lock.lock()
        defer { lock.unlock() }
        return Run(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self), signalled: process.terminationReason == .uncaughtSignal)
    }
}

/// Runs `body` with a fresh empty folder under the temporary directory, removed afterwards.
func inTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("hromada-admin-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

/// The bytes of every file under a store's `log/`, by name.
func logFiles(of store: URL) throws -> [String: Data] {
    let log = store.appendingPathComponent("log")
    var out: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: log.path) {
        out[name] = try Data(contentsOf: log.appendingPathComponent(name))
    }
    return out
}

/// The segment files of a store, in order.
func segments(of store: URL) throws -> [URL] {
    let log = store.appendingPathComponent("log")
    return try FileManager.default.contentsOfDirectory(atPath: log.path)
        .filter { $0.hasPrefix("segment-") && $0.hasSuffix(".zst") }.sorted()
        .map { log.appendingPathComponent($0) }
}

/// A frame of a segment: where it starts, its first position, its length (from the header drawn
/// in Sources/Events/Log/FrameHeader.swift).
struct SegmentFrame {
    var offset: Int
    var firstPosition: Int64
    var count: Int
    var length: Int
}

func frames(ofSegment bytes: [UInt8]) -> [SegmentFrame] {
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
    func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
    var out: [SegmentFrame] = []
    var offset = 60
    while offset + 92 <= bytes.count {
        let length = 92 + Int(u32(offset + 44))
        out.append(SegmentFrame(offset: offset, firstPosition: Int64(u64(offset + 20)), count: Int(u32(offset + 16)), length: length))
        offset += length
    }
    return out
}

/// The `hash` field at the end of a stored line.
func hashField(_ line: Substring) -> String { String(line.utf8.dropLast(2).suffix(64))! }

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
