import Foundation

/// An event as a client proposes it (one line of the interchange format, spec section 1).
public struct ProposedEvent: Sendable, Hashable {
    /// The earliest `occurredAt` the store takes: 1991-01-01T00:00:00Z. Ukraine's local
    /// self-government, and so every record of this programme, is younger; an earlier time is a
    /// typo (a year 0020 for 2020) rather than history.
    public static let earliestOccurredAt = Timestamp(milliseconds: 662_688_000_000)

    /// How far a `recordedAt` (of a migrated history) or an `occurredAt` may lie ahead of the
    /// writer's clock: 5 minutes of clock skew between the machine that wrote a line and this one.
    /// A later time would freeze the log's clock there (recordedAt never decreases).
    public static let maxClockSkewMilliseconds: Int64 = 5 * 60_000

    /// The event's identity; `nil` lets the store assign a random one.
    public var id: UUID?
    public var stream: String
    public var type: String
    public var occurredAt: Timestamp
    /// `-1`: the stream must not exist; `N`: its last version must be N; `nil`: any.
    public var expectedVersion: Int64?
    public var data: [String: JSONValue]
    public var metadata: [String: JSONValue]
    /// Only when migrating a history: the time the source system recorded it.
    public var recordedAt: Timestamp?
    /// Present when the line came from an export: the position, version and hash it had there,
    /// which the store checks it reproduces.
    public var exported: Exported?
    /// The parts of the stored line that do not depend on the store, when already computed (an
    /// import encodes them on its parsing thread); they must equal what
    /// ``EventCodec/encodeLine(position:id:stream:version:type:occurredAt:recordedAt:data:metadata:encoded:previousHash:into:)``
    /// writes for these fields.
    public var encodedPayload: EncodedPayload?

    /// Canonical bytes computed ahead of the writer: `bytes[..<streamEnd]` is the stream as a
    /// JSON string, `bytes[streamEnd..<middleEnd]` runs from `,"type":` to the opening quote of
    /// recordedAt's value, and `bytes[middleEnd...]` from the closing quote of recordedAt through
    /// data and metadata to the line's closing brace.
    public struct EncodedPayload: Sendable, Hashable {
        public var bytes: [UInt8]
        public var streamEnd: Int
        public var middleEnd: Int
        /// The catalog's payload checks ran (``EventCatalog/validatePayload(type:data:)``).
        public var payloadChecked: Bool
        /// What they found, if anything (reported after the id's idempotency check).
        public var payloadRejection: Rejection?
    }

    /// Computes ``encodedPayload``; with `checkPayload`, runs the catalog's payload checks too.
    public mutating func encodePayload(checkPayload: Bool) {
        var rejection: Rejection?
        if checkPayload {
            do { try EventCatalog.validatePayload(type: type, data: data) } catch { rejection = error }
        }
        let (bytes, streamEnd, middleEnd) = EventCodec.lineParts(
            stream: stream, type: type, occurredAt: occurredAt, data: data, metadata: metadata)
        encodedPayload = EncodedPayload(
            bytes: bytes, streamEnd: streamEnd, middleEnd: middleEnd, payloadChecked: checkPayload,
            payloadRejection: rejection)
    }

    /// The store-assigned fields of an exported line.
    public struct Exported: Sendable, Hashable {
        public var position: Int64
        public var version: Int64?
        public var hash: String?
        public init(position: Int64, version: Int64?, hash: String?) {
            self.position = position
            self.version = version
            self.hash = hash
        }
    }

    public init(
        id: UUID? = nil, stream: String, type: String, occurredAt: Timestamp, expectedVersion: Int64? = nil,
        data: [String: JSONValue], metadata: [String: JSONValue] = [:], recordedAt: Timestamp? = nil,
        exported: Exported? = nil
    ) {
        self.id = id
        self.stream = stream
        self.type = type
        self.occurredAt = occurredAt
        self.expectedVersion = expectedVersion
        self.data = data
        self.metadata = metadata
        self.recordedAt = recordedAt
        self.exported = exported
    }

    /// The category of the stream: `submission` for `submission-2020-0042`.
    public var category: Substring { stream.prefix { $0 != "-" } }
}

/// An event as the log holds it.
public struct RecordedEvent: Sendable, Hashable {
    /// Global position, 1-based and dense.
    public var position: Int64
    public var id: UUID
    public var stream: String
    /// Position within its stream, 0-based.
    public var version: Int64
    public var type: String {
        didSet { kind = EventKind(rawValue: type) }
    }
    /// The event's type in the catalog, or `nil` for a type the catalog does not know (the log
    /// may hold such events when they were appended without validation). Kept with the event:
    /// every projection switches on it, and reading it from `type` each time is a string match.
    public private(set) var kind: EventKind?
    public var occurredAt: Timestamp
    public var recordedAt: Timestamp
    public var data: [String: JSONValue]
    public var metadata: [String: JSONValue]
    /// SHA-256 chaining this event to the previous one, lowercase hex.
    public var hash: String

    public init(
        position: Int64, id: UUID, stream: String, version: Int64, type: String, occurredAt: Timestamp,
        recordedAt: Timestamp, data: [String: JSONValue], metadata: [String: JSONValue], hash: String
    ) {
        self.position = position
        self.id = id
        self.stream = stream
        self.version = version
        self.type = type
        kind = EventKind(rawValue: type)
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.data = data
        self.metadata = metadata
        self.hash = hash
    }

    /// The category of the stream: `submission` for `submission-2020-0042`.
    public var category: Substring { stream.prefix { $0 != "-" } }
}

/// A rule an event breaks: the field (a dotted path such as `data.scores.relevance`) and why.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
    public var description: String { "\(field): \(reason)" }
}
