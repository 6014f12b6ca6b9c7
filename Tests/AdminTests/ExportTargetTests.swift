import Foundation
import Testing
import TestSupport

@Suite("admin export into a file that is not a regular one")
struct ExportTargetTests {
    /// `admin export FIFO` writes into the pipe and leaves it a pipe (a regular FILE is written
    /// beside and renamed into place; a device or a pipe such as /dev/null must never be
    /// replaced by a file).
    @Test func exportIntoAPipeWritesThroughItAndKeepsIt() throws {
        let dir = try TemporaryFolder()
        let store = dir.url.appendingPathComponent("store").path
        #expect(try runAdmin(["--store", store, "init"]).status == 0)
        #expect(try runAdmin(["--store", store, "import", TestPaths.sampleHistory.path]).status == 0)
        let fifo = dir.url.appendingPathComponent("pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let received = LockedData()
        let drained = Thread {
            if let handle = FileHandle(forReadingAtPath: fifo) {
                received.set(handle.readDataToEndOfFile())
            }
        }
        drained.start()
        let result = try runAdmin(["--store", store, "export", fifo])
        #expect(result.status == 0, "\(result.stderr)")
        let deadline = Date().addingTimeInterval(10)
        while received.get() == nil && Date() < deadline { usleep(10_000) }
        let expected = try runAdmin(["--store", store, "export"]).stdout
        #expect(received.get().map { String(decoding: $0, as: UTF8.self) } == expected)
        var info = stat()
        #expect(stat(fifo, &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFIFO)
        #expect(!FileManager.default.fileExists(atPath: fifo + ".tmp"))
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data? { lock.lock(); defer { lock.unlock() }; return data }
}
