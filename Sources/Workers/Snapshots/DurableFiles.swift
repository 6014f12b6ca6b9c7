#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Events
import Foundation

/// The file steps snapshots, digests and receipts need to be durable and atomic, on the
/// package's one file layer (`PosixFile`): the same steps, the errors as ``SnapshotError``.
enum DurableFiles {
    /// fsyncs the file or folder at `path`.
    static func sync(_ path: String, directory: Bool = false) throws(SnapshotError) {
        try snapshotError { () throws(EventStoreError) -> Void in
            let file = try PosixFile(path: path, flags: directory ? O_RDONLY | O_DIRECTORY : O_RDONLY, failure: "cannot open \(path) to fsync it")
            try file.sync()
        }
    }

    /// Writes `data` to a new file at `path` and fsyncs it.
    static func writeFile(_ data: Data, to path: String) throws(SnapshotError) {
        try snapshotError { () throws(EventStoreError) in try PosixFile.writeFile(data, to: path) }
    }

    /// Creates the folder `path` and its parents when missing.
    static func makeDirectory(_ path: String) throws(SnapshotError) {
        try snapshotError { () throws(EventStoreError) in try PosixFile.makeDirectories(path) }
    }

    /// Renames `from` to `to`; false (not an error) when `to` exists already as a non-empty folder.
    static func renameItem(_ from: String, _ to: String) throws(SnapshotError) -> Bool {
        try snapshotError { () throws(EventStoreError) -> Bool in try PosixFile.rename(from, to: to, keepingExisting: true) }
    }

    /// Removes a folder so that it is never seen half-removed: renames it to a hidden name in
    /// the same parent first, then deletes that.
    static func removeDirectory(_ path: String) throws(SnapshotError) {
        try snapshotError { () throws(EventStoreError) in try PosixFile.removeDirectory(path) }
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool { fileExists(path) }

    /// Runs a file step, its error as a ``SnapshotError`` with the same message and cause.
    private static func snapshotError<T>(_ step: () throws(EventStoreError) -> T) throws(SnapshotError) -> T {
        do throws(EventStoreError) {
            return try step()
        } catch {
            throw SnapshotError(.io, error.message, cause: error.cause)
        }
    }
}

/// A cause known only by its text.
struct StringCause: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}
