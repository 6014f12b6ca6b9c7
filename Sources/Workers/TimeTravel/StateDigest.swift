import Crypto
import Events
import Foundation
import Projections

/// Every read model as canonical JSON files, and one SHA-256 over them: the same history and
/// position give the same bytes and the same digest on any machine, so two auditors compare
/// one line.
///
///     DIR/
///       leaderboard/<competitionId>/<themeCode>.json   every competition × theme
///       regions.json
///       catalog.json                                    the whole listing, no search text
///       network.json
///       seminars.json
///       SHA256SUMS                                      "<sha256>  <path>" per file, sorted by path
///
/// Each file is a query's answer (spec section 6, with its `asOf`) in the canonical JSON of
/// the log (`JSONValue.canonicalBytes`: keys sorted, no spaces) plus a newline. `SHA256SUMS`
/// lists the files in byte order of their paths, in `sha256sum`'s format, and the digest is the
/// SHA-256 of `SHA256SUMS` itself: `sha256sum -c SHA256SUMS && sha256sum SHA256SUMS` checks a
/// folder by hand. SQLite files are never hashed (their bytes depend on the machine).
public struct StateDigest: Sendable, Hashable, Codable {
    /// One file of the state.
    public struct File: Sendable, Hashable, Codable {
        /// The path relative to the state folder, with `/`.
        public var path: String
        public var bytes: Int
        public var sha256: String
    }

    /// The name of the checksum list.
    public static let sumsFileName = "SHA256SUMS"

    /// The SHA-256 (lowercase hex) of the `SHA256SUMS` text.
    public var digest: String
    /// The last event the state reflects (each file's `asOf`, the lowest if they differ).
    public var position: Int64
    /// The files, sorted by path.
    public var files: [File]

    /// The state's documents in digest order: (relative path, canonical bytes).
    public static func documents(of store: ProjectionStore) throws -> [(path: String, bytes: [UInt8])] {
        let names = Set(store.projections.map(\.name))
        var docs: [(path: String, bytes: [UInt8])] = []
        if names.contains("leaderboard") {
            for competition in try store.competitions() {
                for board in try store.leaderboards(competitionId: competition) {
                    docs.append(
                        ("leaderboard/\(safe(competition))/\(safe(board.themeCode)).json", try canonical(board)))
                }
            }
        }
        if names.contains("regions") { docs.append(("regions.json", try canonical(store.regions()))) }
        if names.contains("catalog") {
            docs.append(("catalog.json", try canonical(store.catalog(query: nil, limit: Int(Int32.max)))))
        }
        if names.contains("network") { docs.append(("network.json", try canonical(store.network()))) }
        if names.contains("seminars") { docs.append(("seminars.json", try canonical(store.seminars()))) }
        return docs.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// The digest of `store`'s read models, without writing anything.
    public static func compute(_ store: ProjectionStore) throws -> StateDigest {
        try summarize(documents(of: store), store: store).digest
    }

    /// Writes `store`'s read models into `directory` (which must not exist, or be empty) and
    /// returns their digest. The files are written beside it and renamed into place: the folder
    /// appears complete or not at all.
    /// - Throws: ``SnapshotError`` `.invalidArgument` when `directory` holds files, `.io`.
    @discardableResult
    public static func write(_ store: ProjectionStore, to directory: String) throws -> StateDigest {
        let dir = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? ["?"]
            guard isDirectory.boolValue, contents.isEmpty else {
                throw SnapshotError(.invalidArgument, "\(dir) exists and is not an empty folder; choose another --out")
            }
        }
        let docs = try documents(of: store)
        let (result, sums) = try summarize(docs, store: store)
        let url = URL(fileURLWithPath: dir).standardizedFileURL
        let parent = url.deletingLastPathComponent().path
        try DurableFiles.makeDirectory(parent)
        let tmp = parent + "/.tmp-state-\(url.lastPathComponent)-\(UUID().uuidString.prefix(8))"
        do {
            try DurableFiles.makeDirectory(tmp)
            for doc in docs {
                let path = tmp + "/" + doc.path
                try DurableFiles.makeDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
                try DurableFiles.writeFile(Data(doc.bytes), to: path)
            }
            try DurableFiles.writeFile(Data(sums), to: tmp + "/" + sumsFileName)
            try DurableFiles.sync(tmp, directory: true)
            if DurableFiles.exists(dir) { try? FileManager.default.removeItem(atPath: dir) }
            guard try DurableFiles.renameItem(tmp, dir) else {
                throw SnapshotError(.io, "cannot move the state into \(dir): it was filled meanwhile")
            }
            try? DurableFiles.sync(parent, directory: true)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
        return result
    }

    static func summarize(
        _ docs: [(path: String, bytes: [UInt8])], store: ProjectionStore
    ) throws -> (digest: StateDigest, sums: [UInt8]) {
        var files: [File] = []
        var sums: [UInt8] = []
        for doc in docs {
            let hash = hex(SHA256.hash(data: doc.bytes))
            files.append(File(path: doc.path, bytes: doc.bytes.count, sha256: hash))
            sums.append(contentsOf: "\(hash)  \(doc.path)\n".utf8)
        }
        let position = try store.status().map(\.checkpoint.position).min() ?? 0
        return (StateDigest(digest: hex(SHA256.hash(data: sums)), position: position, files: files), sums)
    }

    /// A value's canonical JSON bytes and a newline.
    static func canonical(_ value: some Encodable) throws -> [UInt8] {
        let data = try JSONEncoder().encode(value)
        let parsed: JSONValue
        do { parsed = try JSONParser.parse(Array(data)) } catch {
            throw SnapshotError(.io, "a read model's JSON does not read back", cause: StringCause("\(error)"))
        }
        return parsed.canonicalBytes + [0x0A]
    }

    /// A path component: identifiers keep their letters; anything else becomes `_`.
    static func safe(_ s: String) -> String {
        let mapped = String(
            s.unicodeScalars.map { c -> Character in
                c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "._-".unicodeScalars.contains(c))
                    ? Character(c) : "_"
            })
        return mapped.isEmpty || mapped.hasPrefix(".") ? "_" + mapped : mapped
    }

    static func hex(_ digest: SHA256.Digest) -> String { EventCodec.hex(Array(digest)) }
}
