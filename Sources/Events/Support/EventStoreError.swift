/// The one public error of the Events module: a code that can grow, a message that names the
/// file, line, position or field, and the underlying cause.
public struct EventStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Sendable {
            case invalidEvent, wrongExpectedVersion, corruption, locked, io, notAStore, invalidArgument, notFound, missingInput
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// An event broke the format, the catalog or a business rule.
        public static let invalidEvent = Code(.invalidEvent)
        /// Optimistic concurrency: the stream is not at the expected version.
        public static let wrongExpectedVersion = Code(.wrongExpectedVersion)
        /// The log's bytes are damaged or were altered.
        public static let corruption = Code(.corruption)
        /// Another process holds the writer's lock.
        public static let locked = Code(.locked)
        /// The operating system refused a read, a write or an fsync.
        public static let io = Code(.io)
        /// The folder is not a store.
        public static let notAStore = Code(.notAStore)
        /// A caller's argument is out of range or malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// A thing asked for does not exist.
        public static let notFound = Code(.notFound)
        /// A file or store the caller named as input does not exist (the CLI's exit code 66).
        public static let missingInput = Code(.missingInput)

        public var description: String { wrapped.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

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
