import Foundation

/// Where a store keeps its files:
///
///     <store>/STORE                  marker: "hromada-ledger store 1"
///     <store>/LOCK                   the writer's flock(2)
///     <store>/log/segment-<20-digit first position>.zst
///     <store>/index.sqlite           indexes, rebuilt from the log when needed
///     <store>/projections.sqlite     read models (Projections module)
public struct StoreLayout: Sendable {
    public let root: String
    public init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }
    public var marker: String { root + "/STORE" }
    public var lock: String { root + "/LOCK" }
    public var logDirectory: String { root + "/log" }
    public var index: String { root + "/index.sqlite" }
    public var projections: String { root + "/projections.sqlite" }

    static let markerText = "hromada-ledger store 1\n"

    /// The schema of `index.sqlite` this build writes (docs/FORMAT.md); the index is derived
    /// from the log, and an index of another schema is rebuilt by the first writer.
    public static var indexSchema: Int { LogIndex.schemaVersion }

    func segmentPath(firstPosition: Int64) -> String {
        logDirectory + "/" + Self.segmentName(firstPosition: firstPosition)
    }

    static func segmentName(firstPosition: Int64) -> String {
        let digits = String(firstPosition)
        return "segment-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".zst"
    }

    /// The first position a segment file's name declares, or `nil` for other files.
    static func segmentFirstPosition(name: String) -> Int64? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".zst"), name.count == 32 else { return nil }
        return Int64(name.dropFirst(8).prefix(20))
    }

    /// Segment files in order, as (first position, path).
    func segments() throws(EventStoreError) -> [(first: Int64, path: String)] {
        try listDirectory(logDirectory).compactMap { name in
            Self.segmentFirstPosition(name: name).map { ($0, logDirectory + "/" + name) }
        }.sorted { $0.first < $1.first }
    }

    /// Whether `root` holds a store.
    public var exists: Bool { fileExists(marker) }

    /// Creates an empty store; does nothing when one is there already.
    /// - Throws: when the folder holds something that is not a store (a foreign or newer
    ///   `STORE` file among them), or cannot be written.
    public func initialize() throws {
        if exists {
            try requireStore()
            return
        }
        try makeDirectory(root)
        if let names = try? listDirectory(root), !names.filter({ !$0.hasPrefix(".") }).isEmpty {
            throw EventStoreError(.notAStore, "\(root) is not empty and is not a store; refusing to initialise it")
        }
        try makeDirectory(logDirectory)
        let tmp = marker + ".tmp"
        let file = try PosixFile(path: tmp, flags: O_WRONLY | O_CREAT | O_TRUNC)
        let bytes = Array(Self.markerText.utf8)
        try bytes.withUnsafeBytes { raw in try file.write(raw, at: 0) }
        try file.sync()
        try PosixFile.rename(tmp, to: marker, failure: "cannot create \(marker)")
        try PosixFile.syncDirectory(root)
    }

    /// Checks, without writing anything, that `root` is a store of the version this build reads.
    /// - Throws: ``EventStoreError`` `.notFound` when the folder does not exist, `.notAStore`
    ///   when it is not a store (no `STORE` file, a foreign one, or one of an unknown version).
    public func requireStore() throws(EventStoreError) {
        var info = stat()
        guard stat(root, &info) == 0 else {
            throw EventStoreError(.missingInput, "there is no store at \(root): the folder does not exist (create one with `admin init`)")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw EventStoreError(.notAStore, "\(root) is not a store: it is a file, not a folder")
        }
        let fd = open(marker, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw EventStoreError(.notAStore, "\(root) is not a store: it has no STORE file (create one with `admin init`)")
        }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 256) }
        close(fd)
        let text = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
        guard text != Self.markerText else { return }
        let prefix = "hromada-ledger store "
        if text.hasPrefix(prefix), let version = Int(text.dropFirst(prefix.count).trimmingCharacters(in: .whitespacesAndNewlines)) {
            throw EventStoreError(
                .notAStore, "\(root) is a store of format version \(version), which this build does not read (it reads version 1)")
        }
        throw EventStoreError(.notAStore, "\(root) is not a store: its STORE file is not a Hromada Ledger store marker")
    }
}
