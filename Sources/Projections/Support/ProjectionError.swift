import Events
import GRDB

/// The one error type of the Projections module: a code, a message naming the projection, the
/// event position and the field where it applies, and the underlying cause.
///
/// Messages never dump a payload; they say what, where (projection, position, field) and why.
public struct ProjectionError: LedgerError {
    /// What kind of failure this is (see ``ErrorCode``; `notFound`, `invalidArgument` are
    /// shared with the other modules).
    public typealias Code = ErrorCode

    public var code: Code
    /// One clear sentence: what went wrong and where.
    public var message: String
    /// The projection concerned, if any.
    public var projection: String?
    /// The position of the event being applied, if any.
    public var position: Int64?
    /// The underlying error (a `DatabaseError`, an event source's error).
    public var cause: (any Error & Sendable)?

    public init(
        _ code: Code, _ message: String, projection: String? = nil, position: Int64? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.projection = projection
        self.position = position
        self.cause = cause
    }

    public var description: String {
        var text = ""
        if let projection { text += "projection \(projection): " }
        if let position { text += "event at position \(position): " }
        text += message
        if let cause { text += " (cause: \(String(describing: cause)))" }
        return text
    }

    /// Wraps any error thrown while applying or querying, keeping a `ProjectionError` as it is
    /// (filling in the projection and position when it lacks them).
    static func wrap(
        _ error: any Error, projection: String?, position: Int64?, what: String
    ) -> ProjectionError {
        if var e = error as? ProjectionError {
            if e.projection == nil { e.projection = projection }
            if e.position == nil { e.position = position }
            return e
        }
        return ProjectionError(
            isDamage(error) ? .damaged : .storage, what, projection: projection, position: position,
            cause: error)
    }

    /// The cause in a short phrase: SQLite's code and message without the statement text.
    public var briefCause: String? {
        guard let cause else { return nil }
        if let e = cause as? DatabaseError {
            return "SQLite error \(e.resultCode.rawValue): \(e.message ?? "\(e.resultCode)")"
        }
        return "\(cause)"
    }

    /// Whether SQLite failed because the disk (or the file system's quota) is full.
    public var isDiskFull: Bool {
        (cause as? DatabaseError)?.resultCode == .SQLITE_FULL
    }

    /// Whether SQLite says the file is not a database or is malformed.
    static func isDamage(_ error: any Error) -> Bool {
        guard let e = error as? DatabaseError else { return false }
        return e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB
    }

    static func malformed(_ event: RecordedEvent, field: String, _ reason: String) -> ProjectionError {
        malformed(type: event.type, position: event.position, field: field, reason)
    }

    static func malformed(type: String, position: Int64, field: String, _ reason: String) -> ProjectionError {
        ProjectionError(.malformedEvent, "\(type): data.\(field) \(reason)", position: position)
    }
}

extension ErrorCode {
    /// An event's payload lacks a field a projection needs, or holds the wrong type.
    public static let malformedEvent = ErrorCode("malformed-event")
    /// Events were offered out of order, or with a gap after the checkpoint.
    public static let outOfOrder = ErrorCode("out-of-order")
    /// A projection's stored tables were built by another schema version: rebuild it.
    public static let staleSchema = ErrorCode("stale-schema")
    /// No projection has that name.
    public static let unknownProjection = ErrorCode("unknown-projection")
    /// Another rebuild of the same projection started meanwhile.
    public static let rebuildConflict = ErrorCode("rebuild-conflict")
    /// The event source ends before the live checkpoint: swapping would move it backwards.
    public static let sourceBehind = ErrorCode("source-behind")
    /// The event source failed.
    public static let source = ErrorCode("source")
    /// SQLite failed (disk full, locked).
    public static let storage = ErrorCode("storage")
    /// The projections file is not a SQLite database, or SQLite found it malformed: it is
    /// derived from the log, so it can be moved aside and rebuilt.
    public static let damaged = ErrorCode("damaged-file")
    /// The caller asked the work to stop (Ctrl-C); nothing half-done was kept.
    public static let cancelled = ErrorCode("cancelled")
}
