import Events

/// The error of snapshots and time travel: a code, one sentence naming the snapshot (its folder)
/// and what is wrong, and the underlying cause.
public struct SnapshotError: LedgerError {
    /// What kind of failure this is (see ``ErrorCode``; `notFound`, `invalidArgument` and
    /// `io` are shared with the other modules).
    public typealias Code = ErrorCode

    public var code: Code
    /// One clear sentence: what went wrong and where.
    public var message: String
    /// The underlying error (a ``ProjectionError``, an `EventStoreError`, a decoding error).
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (cause: \(cause))" }
        return message
    }
}

extension ErrorCode {
    /// A snapshot's manifest is missing or does not decode.
    public static let unreadable = ErrorCode("unreadable")
    /// A snapshot's content does not match the manifest's checksums.
    public static let corrupt = ErrorCode("corrupt")
    /// A snapshot's chain value differs from the log's at that position (another history, or a
    /// tampered log), or the log does not reach that position.
    public static let foreign = ErrorCode("foreign")
    /// A projection's schema version in a snapshot differs from the code's.
    public static let stale = ErrorCode("stale")
    /// The read models could not be brought to one common position.
    public static let inconsistent = ErrorCode("inconsistent")
    /// There is nothing to snapshot: the log is empty.
    public static let emptyLog = ErrorCode("empty-log")
}
