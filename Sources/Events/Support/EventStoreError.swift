/// The one public error of the Events module: a code that can grow, a message that names the
/// file, line, position or field, and the underlying cause.
public struct EventStoreError: LedgerError {
    /// What kind of failure this is (see ``ErrorCode``).
    public typealias Code = ErrorCode

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?
    /// For `.wrongExpectedVersion`: the stream, the version expected and the one found, as values.
    public var conflict: VersionConflict?
    /// For an append refused because of one of its events: that event's index in the batch (0-based).
    public var eventIndex: Int?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}

/// An optimistic-concurrency failure as values: which stream, the version the caller expected
/// (`-1`: the stream must not exist) and the one it is at (`nil`: it does not exist).
public struct VersionConflict: Sendable, Hashable, Codable {
    public var stream: String
    public var expected: Int64
    public var actual: Int64?

    public init(stream: String, expected: Int64, actual: Int64?) {
        self.stream = stream
        self.expected = expected
        self.actual = actual
    }

    /// The sentence that says it (without a field name).
    public var reason: String {
        if expected == -1, let actual { return "stream \(stream) already exists (its last version is \(actual))" }
        return "stream \(stream) is at version \(actual.map(String.init) ?? "none (it does not exist)"), not \(expected)"
    }

    /// The error that carries it: `expectedVersion: <reason>`.
    public var error: EventStoreError {
        var e = EventStoreError(
            .wrongExpectedVersion, "expectedVersion: \(reason)",
            cause: Rejection(field: "expectedVersion", reason: "the stream is at \(actual ?? -1)"))
        e.conflict = self
        return e
    }
}
