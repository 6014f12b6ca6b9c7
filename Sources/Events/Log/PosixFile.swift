import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin owner of a POSIX file descriptor: positioned reads and writes, fsync, truncation.
/// Errors name the path and the system's reason.
final class PosixFile {
    let path: String
    let fd: Int32

    /// Opens `path` with the given `open(2)` flags.
    init(path: String, flags: Int32, mode: mode_t = 0o644) throws(EventStoreError) {
        self.path = path
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw PosixFile.error("cannot open \(path)") }
        self.fd = fd
    }

    deinit { close(fd) }

    static func error(_ what: String) -> EventStoreError {
        EventStoreError(.io, "\(what): \(String(cString: strerror(errno)))")
    }

    var size: Int {
        get throws(EventStoreError) {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw PosixFile.error("cannot stat \(path)") }
            return Int(st.st_size)
        }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file. Never allocates
    /// more than the file holds after `offset` (a damaged length cannot ask for gigabytes).
    func read(at offset: Int, count requested: Int) throws(EventStoreError) -> [UInt8] {
        let count = max(0, min(requested, (try size) - offset))
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw PosixFile.error("cannot read \(path) at offset \(offset + done)")
            }
            if n == 0 { break }
            done += n
        }
        if done < count { buffer.removeLast(count - done) }
        return buffer
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(EventStoreError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw PosixFile.error("cannot write \(path) at offset \(offset + done)")
            }
            done += n
        }
    }

    func sync() throws(EventStoreError) {
        guard fsync(fd) == 0 else { throw PosixFile.error("cannot fsync \(path)") }
    }

    func truncate(to length: Int) throws(EventStoreError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw PosixFile.error("cannot truncate \(path)") }
    }

    /// fsyncs a directory so that a new or removed entry in it is durable.
    static func syncDirectory(_ path: String) throws(EventStoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error("cannot open directory \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw error("cannot fsync directory \(path)") }
    }
}

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

/// Files of a folder, sorted by name.
func listDirectory(_ path: String) throws(EventStoreError) -> [String] {
    guard let dir = opendir(path) else { throw PosixFile.error("cannot list \(path)") }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
            ptr.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

func makeDirectory(_ path: String) throws(EventStoreError) {
    if mkdir(path, 0o755) != 0 && errno != EEXIST { throw PosixFile.error("cannot create \(path)") }
}
