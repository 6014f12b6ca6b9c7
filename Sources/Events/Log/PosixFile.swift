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

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int, count: Int) throws(EventStoreError) -> [UInt8] {
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

    /// Takes the lock; with `wait`, blocks until the holder lets go.
    /// Without `wait`, a lock held only briefly (a reader bringing the index up to date takes it
    /// for a moment) is waited for up to `grace` seconds before giving up.
    init(path: String, wait: Bool, grace: Double = 2) throws(EventStoreError) {
        file = try PosixFile(path: path, flags: O_RDWR | O_CREAT)
        var waited = 0.0
        while flock(file.fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK && waited < grace {
                usleep(20_000)
                waited += 0.02
                continue
            }
            if errno == EWOULDBLOCK {
                throw EventStoreError(
                    .locked,
                    "another process is writing to this store (lock \(path) is held); retry later or pass --wait")
            }
            throw PosixFile.error("cannot lock \(path)")
        }
    }

    /// Tries to take the lock without waiting; `nil` when another process holds it.
    static func tryTake(path: String) -> WriterLock? {
        try? WriterLock(path: path, wait: false, grace: 0)
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
