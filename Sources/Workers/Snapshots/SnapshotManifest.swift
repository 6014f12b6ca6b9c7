import Events
import Foundation

/// What a snapshot holds, written as `manifest.json` beside the compressed content.
///
///     {
///       "format": 1,
///       "position": 1254, "recordedAt": "2021-03-01T10:00:00Z",
///       "chainHash": "<the log's hash at that position>",
///       "projections": [{"name": "leaderboard", "schemaVersion": 1}, ...],
///       "content": {"file": "projections.sqlite.zst", "compressedBytes": ..., "compressedSHA256": "...",
///                   "rawBytes": ..., "rawSHA256": "..."},
///       "createdAt": "...", "tool": "hromada-ledger"
///     }
///
/// The chain value ties the snapshot to one history: a log whose hash at `position` differs is
/// another history (or was tampered with), and the snapshot is refused.
public struct SnapshotManifest: Codable, Sendable, Hashable {
    /// The manifest format this code writes and reads.
    public static let currentFormat = 1
    /// The manifest's file name inside a snapshot folder.
    public static let fileName = "manifest.json"
    /// The content's file name inside a snapshot folder.
    public static let contentFileName = "projections.sqlite.zst"

    /// A projection in the snapshot, with the schema version its tables were built by.
    public struct ProjectionVersion: Codable, Sendable, Hashable {
        public var name: String
        public var schemaVersion: Int

        public init(name: String, schemaVersion: Int) {
            self.name = name
            self.schemaVersion = schemaVersion
        }
    }

    /// The compressed SQLite file and its checksums (SHA-256, lowercase hex).
    public struct Content: Codable, Sendable, Hashable {
        /// The file's name in the snapshot folder.
        public var file: String
        public var compressedBytes: Int64
        public var compressedSHA256: String
        /// The size and digest of the SQLite file once decompressed.
        public var rawBytes: Int64
        public var rawSHA256: String

        public init(file: String, compressedBytes: Int64, compressedSHA256: String, rawBytes: Int64, rawSHA256: String) {
            self.file = file
            self.compressedBytes = compressedBytes
            self.compressedSHA256 = compressedSHA256
            self.rawBytes = rawBytes
            self.rawSHA256 = rawSHA256
        }
    }

    public var format: Int
    /// The last event every read model in the snapshot reflects.
    public var position: Int64
    /// That event's `recordedAt`, RFC 3339.
    public var recordedAt: String
    /// The log's hash-chain value at `position`.
    public var chainHash: String
    public var projections: [ProjectionVersion]
    public var content: Content
    /// When the snapshot was taken (the machine's clock), RFC 3339.
    public var createdAt: String
    /// The program that wrote it.
    public var tool: String

    public init(
        format: Int = SnapshotManifest.currentFormat, position: Int64, recordedAt: String, chainHash: String,
        projections: [ProjectionVersion], content: Content, createdAt: String, tool: String
    ) {
        self.format = format
        self.position = position
        self.recordedAt = recordedAt
        self.chainHash = chainHash
        self.projections = projections
        self.content = content
        self.createdAt = createdAt
        self.tool = tool
    }

    /// `recordedAt` as a timestamp.
    public var recordedAtTime: Timestamp? { Timestamp(rfc3339: recordedAt) }

    /// The folder name of a snapshot at `position`, recorded at `recordedAt`:
    /// `<20-digit position>-<recordedAt without - and :>`, e.g.
    /// `00000000000000001254-20210301T100000Z`. Names sort by position.
    public static func folderName(position: Int64, recordedAt: Timestamp) -> String {
        let digits = String(position)
        let compact = recordedAt.rfc3339.filter { $0 != "-" && $0 != ":" }
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + "-" + compact
    }

    /// The folder name this manifest belongs in.
    public var folderName: String? {
        recordedAtTime.map { Self.folderName(position: position, recordedAt: $0) }
    }

    /// The manifest as written: pretty, keys sorted, one trailing newline.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }
}
