/// The error of snapshots and time travel: a code, one sentence naming the snapshot (its folder)
/// and what is wrong, and the underlying cause.
public struct SnapshotError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. A struct over a private enum, so that codes can grow.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notFound = "not-found"
            case unreadable = "unreadable"
            case corrupt = "corrupt"
            case foreign = "foreign"
            case stale = "stale"
            case inconsistent = "inconsistent"
            case emptyLog = "empty-log"
            case invalidArgument = "invalid-argument"
            case io = "io"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No snapshot has that name, or the folder holds none.
        public static let notFound = Code(.notFound)
        /// The manifest is missing or does not decode.
        public static let unreadable = Code(.unreadable)
        /// The content does not match the manifest's checksums.
        public static let corrupt = Code(.corrupt)
        /// The manifest's chain value differs from the log's at that position (another history,
        /// or a tampered log), or the log does not reach that position.
        public static let foreign = Code(.foreign)
        /// A projection's schema version in the snapshot differs from the code's.
        public static let stale = Code(.stale)
        /// The read models could not be brought to one common position.
        public static let inconsistent = Code(.inconsistent)
        /// There is nothing to snapshot: the log is empty.
        public static let emptyLog = Code(.emptyLog)
        /// A caller's argument is out of range.
        public static let invalidArgument = Code(.invalidArgument)
        /// A file or folder cannot be written, renamed or removed.
        public static let io = Code(.io)

        public var description: String { base.rawValue }
    }

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
