import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Child processes of the built `admin` binary (`TestPaths.adminBinary()`).

/// What a finished child process did.
public struct ChildResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The process ended by a signal (SIGKILL) rather than by exiting.
    public var signalled: Bool

    public init(status: Int32, stdout: String, stderr: String, signalled: Bool) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.signalled = signalled
    }

    public var stdoutLines: [Substring] { stdout.split(separator: "\n") }
    /// The first line of standard error that says what went wrong.
    public var errorLine: String {
        stderr.split(separator: "\n").first { $0.hasPrefix("error") || $0.contains("Fatal error") }.map(String.init) ?? stderr
    }
}

/// A child process of the `admin` binary whose standard output is collected line by line as it
/// comes (so that a test can see `committed P` acknowledgements while it runs).
public final class AdminChild: @unchecked Sendable {
    // @unchecked: the collected output is guarded by `lock`.
    public let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private var outClosed = false
    private var errClosed = false
    private let stdinPipe: Pipe?

    /// Starts `admin` with `arguments`; with `stdin`, its standard input is a pipe the test writes.
    /// `environment` adds variables for this child alone.
    public init(_ arguments: [String], stdin: Bool = false, environment extra: [String: String] = [:]) throws {
        process.executableURL = try TestPaths.adminBinary()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "HROMADA_STORE")
        environment.merge(extra) { _, new in new }
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

    public var pid: Int32 { process.processIdentifier }

    /// Standard output so far.
    public var stdoutSoFar: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: out, as: UTF8.self)
    }

    /// The positions of the `committed P` lines printed so far.
    public var acknowledged: [Int64] {
        stdoutSoFar.split(separator: "\n").compactMap { line in
            line.hasPrefix("committed ") ? Int64(line.dropFirst("committed ".count)) : nil
        }
    }

    /// Writes to the child's standard input.
    public func write(_ bytes: [UInt8]) throws {
        try stdinPipe?.fileHandleForWriting.write(contentsOf: Data(bytes))
    }

    /// Closes the child's standard input (the end of an import from `-`).
    public func closeInput() throws {
        try stdinPipe?.fileHandleForWriting.close()
    }

    public func kill(_ signal: Int32 = SIGKILL) {
        if process.isRunning { _ = Glibc.kill(pid, signal) }
    }

    /// Waits until `condition` holds, or `timeout` seconds pass; returns whether it held.
    public func wait(upTo timeout: Double, until condition: (AdminChild) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(2_000)
        }
        return condition(self)
    }

    /// Waits for the child to end (killing it after `timeout` seconds) and returns what it did.
    public func finish(timeout: Double = 60) -> ChildResult {
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
public func runAdmin(_ arguments: [String], timeout: Double = 60, environment: [String: String] = [:]) throws -> ChildResult {
    try AdminChild(arguments, environment: environment).finish(timeout: timeout)
}
