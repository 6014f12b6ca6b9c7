import Foundation
import Synchronization
import Testing
import TestSupport

// Helpers of the CLI tests that read a store's segment files as the format draws them. What other
// targets share too (the built binary, temporary folders, the sample data, child processes) is in
// the TestSupport target.

/// A store in `dir` with the sample history imported and every read model built.
func projectedSampleStore(_ dir: URL) throws -> String {
    let store = dir.appendingPathComponent("store").path
    #expect(try runAdmin(["--store", store, "init"]).status == 0)
    #expect(try runAdmin(["--store", store, "import", TestPaths.sampleHistory.path]).status == 0)
    #expect(try runAdmin(["--store", store, "project"]).status == 0)
    return store
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

/// Runs a tool of the system (`/usr/bin/sqlite3`, `zstd`) to its end, its output discarded;
/// returns its exit status.
func runTool(_ executable: String, _ arguments: [String]) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// SQL that changes one leaderboard total behind the product's back (a read model that no longer
/// equals the log).
let tamperOneLeaderboardTotal =
    "UPDATE leaderboard_score SET total = 999 WHERE submissionId = (SELECT min(submissionId) FROM leaderboard_score)"

/// Runs python3 (from PATH) with `arguments` to its end, in `directory` when given, with the
/// test process's environment changed by `environment` (a nil value removes the variable).
func runPython(_ arguments: [String], in directory: URL? = nil, environment: [String: String?] = [:]) throws -> ChildResult {
    let process = Process()
    if let directory { process.currentDirectoryURL = directory }
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    if !environment.isEmpty {
        var env = ProcessInfo.processInfo.environment
        for (name, value) in environment { env[name] = value }
        process.environment = env
    }
    process.standardInput = FileHandle.nullDevice
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Both pipes drained at once: a child that fills one while the other is read would block.
    let stderr = Mutex(Data())
    let drained = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        let data = err.fileHandleForReading.readDataToEndOfFile()
        stderr.withLock { $0 = data }
        drained.signal()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    drained.wait()
    process.waitUntilExit()
    return ChildResult(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr.withLock { $0 }, as: UTF8.self), signalled: false)
}
