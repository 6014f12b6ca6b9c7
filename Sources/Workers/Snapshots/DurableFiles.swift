#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Small file-system steps that snapshots need to be durable and atomic: fsync a file or a
/// folder, rename, remove a folder by first renaming it out of sight.
enum DurableFiles {
    /// fsyncs the file or folder at `path`.
    static func sync(_ path: String, directory: Bool = false) throws(SnapshotError) {
        let fd = open(path, (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC)
        guard fd >= 0 else { throw error("cannot open \(path) to fsync it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw error("cannot fsync \(path)") }
    }

    /// Writes `data` to a new file at `path` and fsyncs it.
    static func writeFile(_ data: Data, to path: String) throws(SnapshotError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw error("cannot create \(path)") }
        defer { close(fd) }
        var done = 0
        let failed = data.withUnsafeBytes { raw -> Bool in
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return true
                }
                done += n
            }
            return false
        }
        if failed { throw error("cannot write \(path)") }
        guard fsync(fd) == 0 else { throw error("cannot fsync \(path)") }
    }

    /// Creates the folder `path` and its parents when missing.
    static func makeDirectory(_ path: String) throws(SnapshotError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw SnapshotError(.io, "cannot create the folder \(path)", cause: error)
        }
    }

    /// Renames `from` to `to`; false (not an error) when `to` exists already as a non-empty folder.
    static func renameItem(_ from: String, _ to: String) throws(SnapshotError) -> Bool {
        if Foundation.rename(from, to) == 0 { return true }
        if errno == ENOTEMPTY || errno == EEXIST { return false }
        throw error("cannot rename \(from) to \(to)")
    }

    /// Removes a folder so that it is never seen half-removed: renames it to a hidden name in
    /// the same parent first, then deletes that.
    static func removeDirectory(_ path: String) throws(SnapshotError) {
        let url = URL(fileURLWithPath: path)
        let hidden = url.deletingLastPathComponent()
            .appendingPathComponent(".tmp-delete-\(url.lastPathComponent)-\(UUID().uuidString.prefix(8))").path
        guard Foundation.rename(path, hidden) == 0 else { throw error("cannot remove \(path)") }
        try? sync(url.deletingLastPathComponent().path, directory: true)
        try? FileManager.default.removeItem(atPath: hidden)
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func error(_ what: String) -> SnapshotError {
        SnapshotError(.io, "\(what): \(String(cString: strerror(errno)))")
    }
}

/// A cause known only by its text.
struct StringCause: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}
