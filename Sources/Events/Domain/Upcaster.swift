/// Reads old versions of events as the current shape (upcasting on read, the log never changes).
///
/// An event's schema version is its `metadata["schemaVersion"]`: a positive integer, absent
/// meaning 1. Every type of the current catalog (EVENTS.md section 3) is at version 1, so
/// ``standard`` holds no transform yet. When a payload's shape changes, the new events carry
/// `"schemaVersion": 2` in their metadata and a transform registered for `(type, from: 1)`
/// turns a version-1 payload into version 2 (it may also rename the type). Transforms chain:
/// a version-1 event goes through 1→2, then 2→3, and so on, until no transform matches.
///
/// The store upcasts an event before it checks it against the domain and before it folds it
/// into state or projections; the stored bytes (and so the hash chain) are never rewritten.
public struct Upcaster: Sendable {
    /// Turns a payload of version `v` into version `v + 1`, possibly under another type name.
    public typealias Transform = @Sendable (_ data: [String: JSONValue]) -> (type: String, data: [String: JSONValue])

    /// The metadata key holding the schema version.
    public static let versionKey = "schemaVersion"

    /// The upcasts of the current catalog: none yet (every type is at version 1).
    public static let standard = Upcaster()

    struct Key: Hashable, Sendable {
        var type: String
        var version: Int
    }

    private var transforms: [Key: Transform] = [:]

    public init() {}

    /// Whether no transform is registered (then ``upcast(type:data:metadata:)`` is the identity).
    public var isEmpty: Bool { transforms.isEmpty }

    /// Registers the transform that reads version `version` of `type` as version `version + 1`.
    /// Registering the same `(type, version)` again replaces the transform.
    public mutating func register(type: String, from version: Int, _ transform: @escaping Transform) {
        transforms[Key(type: type, version: version)] = transform
    }

    /// The schema version an event declares in its metadata (absent or unreadable: 1).
    public static func schemaVersion(of metadata: [String: JSONValue]) -> Int {
        guard let v = metadata[versionKey]?.intValue, v >= 1, v <= Int64(Int32.max) else { return 1 }
        return Int(v)
    }

    /// The event as the current catalog reads it. The version comes from `metadata` (absent: 1).
    public func upcast(
        type: String, data: [String: JSONValue], metadata: [String: JSONValue] = [:]
    ) -> (type: String, data: [String: JSONValue]) {
        if transforms.isEmpty { return (type, data) }
        let result = upcast(type: type, schemaVersion: Self.schemaVersion(of: metadata), data: data)
        return (result.type, result.data)
    }

    /// Applies the chain of transforms from `schemaVersion` on; returns the type, payload and
    /// version reached.
    public func upcast(
        type: String, schemaVersion: Int, data: [String: JSONValue]
    ) -> (type: String, data: [String: JSONValue], schemaVersion: Int) {
        var type = type
        var data = data
        var version = schemaVersion
        // bounded: a registry that maps a version back to itself cannot loop forever
        for _ in 0..<64 {
            guard let transform = transforms[Key(type: type, version: version)] else { break }
            (type, data) = transform(data)
            version += 1
        }
        return (type, data, version)
    }

    /// A recorded event read as the current shape.
    public func upcast(_ event: RecordedEvent) -> RecordedEvent {
        if transforms.isEmpty { return event }
        var event = event
        (event.type, event.data) = upcast(type: event.type, data: event.data, metadata: event.metadata)
        return event
    }

    /// A proposed event read as the current shape.
    public func upcast(_ event: ProposedEvent) -> ProposedEvent {
        if transforms.isEmpty { return event }
        var event = event
        (event.type, event.data) = upcast(type: event.type, data: event.data, metadata: event.metadata)
        return event
    }
}
