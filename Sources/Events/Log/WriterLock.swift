import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The writer's lock: an exclusive `flock(2)` on `<store>/LOCK`, released when the process
/// ends, however it ends.
final class WriterLock {
    private let file: PosixFile

    /// Takes the lock. Without `wait`, another holder makes this fail at once, naming the store
    /// and the holder's process when the system says which it is; with `wait`, it blocks until
    /// the holder lets go.
    init(path: String, wait: Bool, store: String? = nil) throws(EventStoreError) {
        file = try PosixFile(path: path, flags: O_RDWR | O_CREAT)
        while flock(file.fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK {
                let holder = Self.holder(of: file).map { $0 == getpid() ? "another writer in this process (\($0))" : "process \($0)" } ?? "another process"
                throw EventStoreError(
                    .locked,
                    "the store \(store ?? (path as NSString).deletingLastPathComponent) is being written by \(holder) (it holds \(path)); one writer at a time: retry when it is done, or pass --wait to wait for it")
            }
            throw PosixFile.error("cannot lock \(path)")
        }
    }

    /// The process holding an flock on `file`, from `/proc/locks` (Linux); nil when unknown.
    static func holder(of file: PosixFile) -> Int32? {
        var info = stat()
        guard fstat(file.fd, &info) == 0, let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        let inode = String(info.st_ino)
        for line in text.split(separator: "\n") {
            // "1: FLOCK  ADVISORY  WRITE 12345 08:01:123456 0 EOF"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields[5].split(separator: ":").last.map(String.init) == inode,
                let pid = Int32(fields[4])
            else { continue }
            return pid
        }
        return nil
    }

    private var held = true

    /// Lets go of the lock (also done when this is deallocated).
    func release() {
        guard held else { return }
        held = false
        flock(file.fd, LOCK_UN)
    }

    deinit { release() }
}
