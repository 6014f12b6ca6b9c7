import Foundation

// The two halves of a log store, as the commands see them. The file store (``EventStore`` +
// ``EventLogReader``) conforms in FileLogStore.swift; a PostgreSQL store (target PostgresStore)
// conforms with the same promises: the same stored lines, the same SHA-256 chain, the same head
// hash, dense positions in commit order.
//
// Every requirement is synchronous, like the commands that call it. An implementation over an
// asynchronous driver bridges on its own threads and never blocks an event loop.

/// What a command needs to write to a log: append, import, the head, close.
///
/// Promises (each implementation keeps them, and the store-contract tests check them):
/// - positions are dense (1, 2, 3, …) and in commit order; a reader never sees a position
///   before every earlier one is committed;
/// - an append is all or nothing: on a throw nothing of it is visible;
/// - an event whose id the log holds already is not appended again (its first position is
///   returned), across every writer of the same log;
/// - `expectedVersion` is checked against the stream's version at commit time, across writers;
/// - the business rules (``DomainState``) are checked against the state folded from the whole
///   log, including what other writers committed.
public protocol LogWriting: AnyObject, Sendable {
    /// The position of the last committed event (0 when the log is empty).
    var head: Int64 { get throws }

    /// Appends `events` as one all-or-nothing unit, durable when this returns. `validate`
    /// false skips the catalog and business-rule checks (an operator's override); the version
    /// and id checks always hold.
    /// - Throws: ``EventStoreError`` (`.invalidEvent` naming the event and field,
    ///   `.wrongExpectedVersion`, `.io`); nothing of the batch is then written.
    func append(_ events: [ProposedEvent], validate: Bool) throws -> AppendResult

    /// Imports JSON Lines from `next` (one line a call, without its newline; nil at the end).
    /// All or nothing unless `options` say otherwise; a rejected line is reported to
    /// `onReject` (with `skipInvalid`) or thrown naming its line and field (the log is then
    /// unchanged). `onCommit` is called with the head after each durable commit.
    func importLines(
        options: EventStore.ImportOptions, next: @escaping () throws -> [UInt8]?, ready: @escaping () -> Bool,
        onReject: (EventStore.LineRejection) throws -> Void, onCommit: (Int64) -> Void
    ) throws -> EventStore.ImportResult

    /// Releases the store (locks, connections). Appending after close throws.
    func close()
}

extension LogReading {
    /// Ends a call in progress that waits on something outside the process (a database across
    /// a network): by default nothing, a folder store's reads do not wait so.
    public func interrupt() {}

    /// Calls `body` with each event from `position` through `last`, in order, until it returns
    /// false.
    public func forEach(
        from position: Int64 = 1, through last: Int64 = .max, _ body: (RecordedEvent) throws -> Bool
    ) throws {
        try forEachLine(from: position, through: last) { p, line in
            let event: RecordedEvent
            do {
                event = try EventCodec.decodeRecorded(line: line)
            } catch {
                throw EventStoreError(.corruption, "\(storeName): the stored event at position \(p) does not decode: \(error)")
            }
            return try body(event)
        }
    }
}

extension LogWriting {
    /// Appends with the business rules checked.
    public func append(_ events: [ProposedEvent]) throws -> AppendResult {
        try append(events, validate: true)
    }

    /// Imports with the defaults of ``importLines(options:next:ready:onReject:onCommit:)``.
    public func importLines(
        options: EventStore.ImportOptions, next: @escaping () throws -> [UInt8]?
    ) throws -> EventStore.ImportResult {
        try importLines(options: options, next: next, ready: { true }, onReject: { _ in }, onCommit: { _ in })
    }
}

/// What a command needs to read a log. Readers see only committed events, in position order.
public protocol LogReading: AnyObject, Sendable {
    /// The store, named for messages: its folder, or its URL without the password.
    var storeName: String { get }

    /// Ends a call in progress that waits on something outside the process (see the extension).
    func interrupt()

    /// The last committed position (0 when empty), its `recordedAt` and its chain hash.
    func head() throws -> (position: Int64, recordedAt: Timestamp?, hash: String?)

    /// Calls `body` with each export line (the stored line with its `"hash"`, no newline) from
    /// `position` through `last`, in order, until it returns false. These bytes are what
    /// `admin export` writes: byte-identical across implementations for the same log.
    func forEachLine(
        from position: Int64, through last: Int64,
        _ body: (_ position: Int64, _ line: UnsafeBufferPointer<UInt8>) throws -> Bool
    ) throws

    /// Up to `limit` events with a position greater than `position`, ascending (also what
    /// Projections' `EventSource` asks).
    func events(after position: Int64, limit: Int) throws -> [RecordedEvent]

    /// The event at `position`, or nil when the log does not hold it.
    func event(at position: Int64) throws -> RecordedEvent?

    /// The events of stream `name` from version `fromVersion` on, in order.
    func stream(_ name: String, fromVersion: Int64) throws -> [RecordedEvent]

    /// The position of the event with this id, or nil.
    func position(of id: UUID) throws -> Int64?

    /// The stream's last version, or nil when the stream does not exist.
    func streamVersion(_ name: String) throws -> Int64?

    /// The last position whose `recordedAt` is at or before `time` (0 when none).
    func lastPosition(recordedAtOrBefore time: Timestamp) throws -> Int64

    /// The chain hash of the event at `position` (lowercase hex), or nil.
    func hash(at position: Int64) throws -> String?

    /// Counts for `admin stats` (an implementation fills the byte counts it has: a database
    /// store reports its table bytes as `logBytes` and `indexBytes`, and `segments` 0).
    func stats() throws -> EventLogReader.Stats

    /// Checks every batch and the whole chain: decompression, line count, hashes, and the head
    /// against `expect` when given. A tampered batch makes `ok` false with the problem named.
    func verify(expect: String?, progress: ((Int64) -> Void)?) throws -> LogVerifier.Report
}

extension LogReading {
    /// Every export line from `position` on.
    public func forEachLine(
        from position: Int64 = 1, _ body: (_ position: Int64, _ line: UnsafeBufferPointer<UInt8>) throws -> Bool
    ) throws {
        try forEachLine(from: position, through: .max, body)
    }

    /// The whole stream.
    public func stream(_ name: String) throws -> [RecordedEvent] {
        try stream(name, fromVersion: 0)
    }

    /// Verifies without an expected head and without progress.
    public func verify() throws -> LogVerifier.Report {
        try verify(expect: nil, progress: nil)
    }
}

// What another backend fills in (the memberwise initialisers are internal to this module).
extension LogVerifier.Report {
    package init(ok: Bool, events: Int64, frames: Int, headPosition: Int64, headHash: String?, problem: LogVerifier.Problem?, expectedFoundAt: Int64?) {
        self.init(
            ok: ok, events: events, frames: frames, segments: 0, headPosition: headPosition, headHash: headHash,
            problem: problem, expectedFoundAt: expectedFoundAt, uncommittedTailBytes: 0, tornTail: nil)
    }
}

extension LogVerifier.Problem {
    /// A problem of a store without segment files: `segment` names the table.
    package init(table: String, position: Int64, reason: String) {
        self.init(segment: table, offset: 0, position: position, reason: reason)
    }
}

extension EventLogReader.Stats {
    package init(
        events: Int64, streams: Int64, frames: Int64, logBytes: Int64, indexBytes: Int64, uncompressedBytes: Int64,
        head: (position: Int64, recordedAt: Timestamp?, hash: String?)
    ) {
        self.init(
            events: events, streams: streams, frames: frames, segments: 0, logBytes: logBytes, indexBytes: indexBytes,
            uncompressedBytes: uncompressedBytes, headPosition: head.position, headRecordedAt: head.recordedAt?.rfc3339,
            headHash: head.hash)
    }
}

extension AppendResult {
    package init(positions: [Int64], appended: Int, duplicates: Int, head: Int64) {
        self.positions = positions
        self.appended = appended
        self.duplicates = duplicates
        self.head = head
    }
}
