import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one file layer of the package (the log, the snapshots and receipts, admin's output): a
/// thin owner of a POSIX file descriptor (positioned reads and writes, write-all, fsync,
/// truncation) and the folder steps around it (fsync a folder, rename, `mkdir -p`, remove a
/// folder atomically). Errors are ``EventStoreError`` `.io`, naming the path and the system's
/// reason; a module with its own error type wraps the message (see `DurableFiles`).
package final class PosixFile {
    package let path: String
    package let fd: Int32
    /// Whether the descriptor is closed with this object (not so for standard output).
    private let owned: Bool

    /// Opens `path` with the given `open(2)` flags. `failure` is what the error says when the
    /// file cannot be opened (default: "cannot open <path>"), before the system's reason.
    package init(path: String, flags: Int32, mode: mode_t = 0o644, failure: String? = nil) throws(EventStoreError) {
        self.path = path
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw PosixFile.error(failure ?? "cannot open \(path)") }
        self.fd = fd
        owned = true
    }

    /// Wraps a descriptor this object does not own (standard output: `fd` 1), named `path` in errors.
    package init(descriptor fd: Int32, path: String) {
        self.path = path
        self.fd = fd
        owned = false
    }

    deinit { if owned { close(fd) } }

    /// An `.io` error: `what`, then the system's reason for the last failed call.
    package static func error(_ what: String) -> EventStoreError {
        EventStoreError(.io, "\(what): \(String(cString: strerror(errno)))")
    }

    package var size: Int {
        get throws(EventStoreError) {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw PosixFile.error("cannot stat \(path)") }
            return Int(st.st_size)
        }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file. Never allocates
    /// more than the file holds after `offset` (a damaged length cannot ask for gigabytes).
    package func read(at offset: Int, count requested: Int) throws(EventStoreError) -> [UInt8] {
        let count = max(0, min(requested, (try size) - offset))
        // not zeroed first: pread fills it, and what it did not fill is cut off below
        var buffer = [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
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
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(EventStoreError) {
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

    /// Writes all of `bytes` at the descriptor's current offset (a pipe, a terminal, a new file).
    package func writeAll(_ bytes: some ContiguousBytes) throws(EventStoreError) {
        var done = 0
        while true {
            let (n, count) = bytes.withUnsafeBytes { raw in
                (done < raw.count ? Foundation.write(fd, raw.baseAddress! + done, raw.count - done) : 0, raw.count)
            }
            if done >= count { return }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PosixFile.error("cannot write \(path)") }
            done += n
        }
    }

    /// fsyncs the file (or folder); `failure` as for `init`.
    package func sync(failure: String? = nil) throws(EventStoreError) {
        guard fsync(fd) == 0 else { throw PosixFile.error(failure ?? "cannot fsync \(path)") }
    }

    package func truncate(to length: Int) throws(EventStoreError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw PosixFile.error("cannot truncate \(path)") }
    }

    /// fsyncs a directory so that a new or removed entry in it is durable.
    package static func syncDirectory(_ path: String) throws(EventStoreError) {
        let directory = try PosixFile(path: path, flags: O_RDONLY | O_DIRECTORY, failure: "cannot open directory \(path)")
        try directory.sync(failure: "cannot fsync directory \(path)")
    }

    /// Creates a file at `path` (or truncates it), writes `bytes` into it and fsyncs it.
    package static func writeFile(_ bytes: some ContiguousBytes, to path: String) throws(EventStoreError) {
        let file = try PosixFile(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC, failure: "cannot create \(path)")
        try file.writeAll(bytes)
        try file.sync()
    }

    /// Renames `from` to `to`. With `keepingExisting`, returns false (not an error) when `to`
    /// exists already as a non-empty folder. `failure` is what the error says (default:
    /// "cannot rename <from> to <to>"), before the system's reason.
    @discardableResult
    package static func rename(_ from: String, to: String, keepingExisting: Bool = false, failure: String? = nil) throws(EventStoreError) -> Bool {
        if Foundation.rename(from, to) == 0 { return true }
        if keepingExisting && (errno == ENOTEMPTY || errno == EEXIST) { return false }
        throw error(failure ?? "cannot rename \(from) to \(to)")
    }

    /// Creates the folder `path` and its parents when missing (`mkdir -p`).
    package static func makeDirectories(_ path: String) throws(EventStoreError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw EventStoreError(.io, "cannot create the folder \(path)", cause: error)
        }
    }

    /// Removes a folder so that it is never seen half-removed: renames it to a hidden name in
    /// the same parent first, then deletes that.
    package static func removeDirectory(_ path: String) throws(EventStoreError) {
        let url = URL(fileURLWithPath: path)
        let parent = url.deletingLastPathComponent().path
        let hidden = url.deletingLastPathComponent()
            .appendingPathComponent(".tmp-delete-\(url.lastPathComponent)-\(UUID().uuidString.prefix(8))").path
        guard Foundation.rename(path, hidden) == 0 else { throw error("cannot remove \(path)") }
        try? PosixFile(path: parent, flags: O_RDONLY | O_DIRECTORY).sync()
        try? FileManager.default.removeItem(atPath: hidden)
    }
}

/// Buffered output for large outputs (standard output by default): written in pieces of about
/// 1 MiB, and at `flush` or when it is released. A failed write drops what is buffered.
package final class OutputBuffer {
    private var buffer: [UInt8] = []
    package let file: PosixFile

    package init(file: PosixFile = PosixFile(descriptor: 1, path: "standard output")) {
        self.file = file
        buffer.reserveCapacity(1 << 20)
    }

    package func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { flush() }
    }

    package func write(_ string: String) {
        buffer.append(contentsOf: string.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    package func flush() {
        try? file.writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// Files of a folder, sorted by name.
package func listDirectory(_ path: String) throws(EventStoreError) -> [String] {
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

package func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Creates the folder `path` (its parent must exist); nothing when it exists.
package func makeDirectory(_ path: String) throws(EventStoreError) {
    if mkdir(path, 0o755) != 0 && errno != EEXIST { throw PosixFile.error("cannot create \(path)") }
}
