import Events
import Foundation

/// The folder where a host keeps the read models of a store whose log is not a folder
/// (PostgreSQL): `projections.sqlite` and the file `READ-MODELS`, which names the log they are
/// folded from by its store and the chain hash of its first event.
///
/// Every host that serves or queries such a store keeps its own, folded from the shared log
/// (they are derived: a lost folder is rebuilt from the log). The marker stops a folder from
/// being used with another log, whose events its checkpoints would silently skip or misread:
/// a log whose first event differs is another log (a store dropped and made again, another
/// database), and is refused with the folder named.
public struct ReadModelFolder: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    public var projections: String { path + "/projections.sqlite" }
    public var marker: String { path + "/READ-MODELS" }

    static let header = "hromada-ledger read models 1"

    /// What the marker records: the store's name and the chain hash of its first event (nil
    /// while the log is empty).
    struct Marker: Equatable {
        var store: String
        var firstHash: String?

        var text: String { "\(ReadModelFolder.header)\nstore \(store)\nfirst \(firstHash ?? "-")\n" }
    }

    /// Creates the folder when missing and checks (or writes) its marker against the log.
    /// - Throws: ``EventStoreError`` `.invalidArgument` when the folder holds the read models of
    ///   another log, or something that is not a marker.
    public func prepare(for reader: any LogReading) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let first = try reader.head().position > 0 ? try reader.hash(at: 1) : nil
        let wanted = Marker(store: reader.storeName, firstHash: first)
        if let data = FileManager.default.contents(atPath: marker) {
            guard let found = Marker(text: String(decoding: data, as: UTF8.self)) else {
                throw EventStoreError(
                    .invalidArgument, "\(marker) is not a read-models marker; give --read-models a folder of its own")
            }
            let sameStore = Self.logIdentity(found.store) == Self.logIdentity(wanted.store)
            if sameStore, found.firstHash == first { return }
            if !sameStore || found.firstHash != nil || FileManager.default.fileExists(atPath: projections) && first == nil {
                throw EventStoreError(
                    .invalidArgument,
                    "the read models in \(path) are of another log (\(found.store), first event \(found.firstHash ?? "none")); this store's first event is \(first ?? "none"): give --read-models another folder, or remove this one to rebuild it from the log")
            }
            // made while the log was empty: the first event is now known
        } else if FileManager.default.fileExists(atPath: projections) {
            throw EventStoreError(
                .invalidArgument,
                "\(path) holds read models without a \(marker): they cannot be told to be of this log; remove them or give --read-models another folder")
        }
        let tmp = marker + ".tmp"
        try Data(wanted.text.utf8).write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, marker) == 0 else {
            throw EventStoreError(.io, "cannot write \(marker): \(String(cString: strerror(errno)))")
        }
    }

    /// What names a log in a store's name: for a PostgreSQL store its database and schema (the
    /// same log reached at another address, from another host, is the same log), else the name.
    static func logIdentity(_ name: String) -> String {
        guard name.hasPrefix("postgres://"), let at = name.firstIndex(of: "@"),
            let slash = name[at...].firstIndex(of: "/")
        else { return name }
        return String(name[slash...])
    }

    /// Checks a store's read-model folder, when its read models are kept apart from its log.
    public static func check(_ access: StoreAccess) throws {
        guard let folder = access.readModels else { return }
        try folder.prepare(for: try access.makeReader())
    }
}

extension ReadModelFolder.Marker {
    /// The marker a file's text holds, or nil when it is not one. (In an extension, so that the
    /// memberwise initialiser stays.)
    init?(text: String) {
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.first == ReadModelFolder.header,
            let store = lines.first(where: { $0.hasPrefix("store ") })?.dropFirst(6),
            let first = lines.first(where: { $0.hasPrefix("first ") })?.dropFirst(6)
        else { return nil }
        self.init(store: String(store), firstHash: first == "-" ? nil : String(first))
    }
}
