/// What kind of failure an error of this project is: one type for the errors of every module
/// (``EventStoreError``, `ProjectionError`, `SnapshotError`), named in kebab case
/// (`wrong-expected-version`), so that callers switch over codes the same way everywhere and a
/// machine reading `--json` or an HTTP answer sees one vocabulary. Modules add their codes in
/// extensions; a code's meaning is the same whichever error carries it.
public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The code's name, e.g. `wrong-expected-version`.
    public let name: String

    package init(_ name: String) { self.name = name }

    public var description: String { name }

    /// An event broke the format, the catalog or a business rule.
    public static let invalidEvent = ErrorCode("invalid-event")
    /// Optimistic concurrency: the stream is not at the expected version.
    public static let wrongExpectedVersion = ErrorCode("wrong-expected-version")
    /// The log's bytes are damaged or were altered.
    public static let corruption = ErrorCode("corruption")
    /// Another process holds the writer's lock.
    public static let locked = ErrorCode("locked")
    /// The operating system refused a read, a write or an fsync, or a file cannot be written,
    /// renamed or removed.
    public static let io = ErrorCode("io")
    /// The folder is not a store.
    public static let notAStore = ErrorCode("not-a-store")
    /// A caller's argument is out of range or malformed.
    public static let invalidArgument = ErrorCode("invalid-argument")
    /// A thing asked for does not exist.
    public static let notFound = ErrorCode("not-found")
    /// A file or store the caller named as input does not exist (the CLI's exit code 66).
    public static let missingInput = ErrorCode("missing-input")
}

/// The shape every error of this project has: a code, one sentence saying what went wrong and
/// where (file, line, field, position, projection, snapshot), and the underlying cause.
public protocol LedgerError: Error, Sendable, CustomStringConvertible {
    var code: ErrorCode { get }
    /// One clear sentence: what went wrong and where.
    var message: String { get }
    /// The underlying error, if any.
    var cause: (any Error & Sendable)? { get }
}
