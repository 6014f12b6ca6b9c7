/// The one public error of the Events module: a code that can grow, a message that names the
/// file, line, position or field, and the underlying cause.
public struct EventStoreError: LedgerError {
    /// What kind of failure this is (see ``ErrorCode``).
    public typealias Code = ErrorCode

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
