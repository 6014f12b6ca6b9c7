import Events
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The writer of a PostgreSQL store: the same promises as the file store's ``EventStore``
/// (``LogWriting``), kept by the database for writers on any number of hosts.
///
/// Each append (or import commit) is one transaction that first locks the `head` row
/// (`SELECT … FOR UPDATE`). The lock is held until COMMIT, so writers take turns: the next one
/// reads the head the previous one committed, its positions follow on, and a reader — which
/// sees a transaction's batches, events and head row all at once or not at all — never sees a
/// position before an earlier one is committed. With the lock held, the writer folds into its
/// domain state whatever other writers committed since its last turn, so the business rules
/// are checked against the whole log; ids and stream versions are read from `events` in the
/// same turn. What it costs: writers on several connections commit one at a time (the figures
/// are in docs/PERFORMANCE.md); a commit is durable when PostgreSQL's COMMIT returns
/// (`synchronous_commit` on, the server's default).
public final class PostgresLogStore: LogWriting, @unchecked Sendable {
    // @unchecked: every mutable member is touched with `lock` held.
    public let location: PostgresLocation
    private let session: PostgresSession
    private let options: EventStoreOptions
    private let lock = NSLock()
    private let compressor: ZstdCompressor
    private let decompressor = ZstdDecompressor()
    private var closed = false
    /// The business rules' state, folded through `domainPosition`.
    private var domain = DomainState()
    private var domainPosition: Int64 = 0
    private var domainSavedAt: Int64 = -1

    /// Creates the store's tables when they are missing (idempotent).
    public static func initialize(_ location: PostgresLocation) throws {
        let session = try PostgresSession(location)
        defer { session.close() }
        try PostgresSchema.initialize(session)
    }

    /// Opens the store for writing (other writers may write at the same time, here or on other
    /// hosts) and folds the domain state from the saved one.
    /// - Throws: ``EventStoreError`` `.missingInput` when the location holds no store, `.io`
    ///   when the server cannot be reached.
    public init(location: PostgresLocation, options: EventStoreOptions = EventStoreOptions()) throws {
        self.location = location
        self.options = options
        compressor = ZstdCompressor(level: options.compressionLevel)
        session = try PostgresSession(location)
        try PostgresSchema.require(session)
        let head = try PostgresLog.head(session).position
        if let row = try session.rows("SELECT position, state FROM \(unescaped: location.table("domain_state"))").first {
            let position = try row.at(0, Int64.self)
            let packed = try row.at(1, ByteBuffer.self).bytes
            if position <= head, let json = ZstdDecompressor.decompressFrame(Data(packed)),
                let state = try? DomainState(savedJSON: [UInt8](json))
            {
                domain = state
                domainPosition = position
                domainSavedAt = position
            }
        }
        try fold(through: head)
    }

    deinit { close() }

    public var head: Int64 {
        get throws {
            lock.lock()
            defer { lock.unlock() }
            return try PostgresLog.head(session).position
        }
    }

    /// Folds the events after `domainPosition` through `head` into the domain state.
    private func fold(through head: Int64) throws {
        guard head > domainPosition else { return }
        try PostgresLog.forEachLine(session, from: domainPosition + 1, through: head, decompressor: decompressor) { p, line in
            do {
                domain.apply(try EventCodec.decodeRecorded(line: line))
            } catch {
                throw EventStoreError(.corruption, "\(location): the stored event at position \(p) does not decode: \(error)")
            }
            return true
        }
        domainPosition = head
    }

    // MARK: one turn (a transaction holding the head)

    /// What a turn has written and still holds.
    private struct Turn {
        var tail: AppendRules.Tail
        /// The log held nothing when the turn took the head row's lock: no other writer can add
        /// to it before the turn ends, so every id and stream the turn meets is one of its own
        /// (known in memory), and nothing needs asking.
        var logWasEmpty = false
        /// Ids known in the log or written by this turn, with their positions.
        var ids: [UUID: Int64] = [:]
        /// Ids looked up in this turn (found or not).
        var checked: Set<UUID> = []
        /// Streams' last versions (nil: the stream does not exist), as known in this turn.
        var streams: [String: Int64?] = [:]
        // the open batch
        var lines: [UInt8] = []
        var first: Int64 = 0
        var firstRecordedAt: Int64 = 0
        var lastRecordedAt: Int64 = 0
        var positions: [Int64] = []
        var rowIDs: [UUID] = []
        var rowStreams: [String] = []
        var rowVersions: [Int64] = []
        var rowRecorded: [Int64] = []
        // to restore when the turn is abandoned
        /// Puts the domain state back (not a copy of it: see ``DomainState/Rollback``).
        var rollback: DomainState.Rollback? = DomainState.Rollback()
        var domainPositionBefore: Int64
    }

    private func beginTurn() throws -> Turn {
        do {
            try session.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        } catch {
            throw Self.meaning(of: error, commitSent: false)
        }
        do {
            let head = try PostgresLog.head(session, forUpdate: true)
            try fold(through: head.position)
            return Turn(
                tail: AppendRules.Tail(nextPosition: head.position + 1, lastHash: head.hash, lastRecordedAt: head.recordedAt),
                logWasEmpty: head.position == 0,
                domainPositionBefore: domainPosition)
        } catch {
            try? session.execute("ROLLBACK")
            throw Self.meaning(of: error, commitSent: false)
        }
    }

    private func abandon(_ turn: Turn) {
        try? session.execute("ROLLBACK")
        turn.rollback?.restore(&domain)
        domainPosition = turn.domainPositionBefore
    }

    private func commit(_ turn: inout Turn) throws {
        try flush(&turn)
        let head = turn.tail.nextPosition - 1
        let hash = turn.tail.lastHash.map { ByteBuffer(bytes: $0) }
        try session.rows(
            "UPDATE \(unescaped: location.table("head")) SET position = \(head), hash = \(hash), recorded_at = \(turn.tail.lastRecordedAt)")
        // Delivered to the listeners (workers, services) when, and only if, the COMMIT succeeds.
        try session.rows("SELECT pg_notify(\(location.changesChannel), \(String(head)))")
        do {
            try session.execute("COMMIT")
        } catch {
            throw Self.meaning(of: error, commitSent: true)
        }
        domainPosition = head
    }

    /// The cause of a writer's error when its connection was lost: whether the COMMIT had been
    /// sent, and the loss itself. (Not a loss any more for ``PostgresSession/isConnectionLoss(_:)``,
    /// so an error said once is not said again by a caller further out.)
    struct LostConnection: Error, CustomStringConvertible {
        let commitSent: Bool
        let loss: (any Error & Sendable)?
        var description: String { loss.map { "\($0)" } ?? "the connection was lost" }
    }

    /// A lost connection said as what it means for the transaction it was in: before the COMMIT
    /// was sent the server rolls it back, after it the outcome is not known. Any other error as
    /// it is.
    private static func meaning(of error: any Error, commitSent: Bool) -> any Error {
        guard PostgresSession.isConnectionLoss(error), let e = error as? EventStoreError else { return error }
        let meaning =
            commitSent
            ? "after the COMMIT was sent: whether this transaction's events are in the log is not known; sending the same events again is safe (an event id already in the log is not appended twice)"
            : "before the COMMIT was sent: nothing of this transaction is in the log (the server rolls it back); sending the same events again is safe"
        return EventStoreError(.io, "\(e.message) \(meaning)", cause: LostConnection(commitSent: commitSent, loss: e.cause))
    }

    /// Reads, in one query each, what the log knows of these events' ids and streams.
    private func learn(_ events: [ProposedEvent], into turn: inout Turn) throws {
        try receive(try ask(about: events, for: &turn), into: &turn)
    }

    /// The two questions of ``learn(_:into:)``, sent without waiting for their answers.
    private struct Questions {
        var ids: PostgresSession.Pending?
        var streams: PostgresSession.Pending?
    }

    /// Sends the questions about the ids and streams of `events` the turn does not know yet.
    /// The turn holds the head row's lock, so what other writers committed cannot change before
    /// the answers are taken; the turn's own events may be among the answers when its inserts
    /// ran first, and then say what the turn knows already.
    private func ask(about events: [ProposedEvent], for turn: inout Turn) throws -> Questions {
        var questions = Questions()
        let ids = Array(Set(events.compactMap(\.id).filter { !turn.checked.contains($0) }))
        let names = Array(Set(events.map(\.stream).filter { turn.streams[$0] == nil }))
        if turn.logWasEmpty {
            turn.checked.formUnion(ids)
            for name in names { turn.streams[name] = .some(nil) }
            return questions
        }
        if !ids.isEmpty {
            turn.checked.formUnion(ids)
            questions.ids = try session.request(
                "SELECT id, position FROM \(unescaped: location.table("events")) WHERE id = ANY(\(ids))")
        }
        if !names.isEmpty {
            for name in names { turn.streams[name] = .some(nil) }
            questions.streams = try session.request(
                // the last version of each stream from the (stream, version) index, one descent a
                // stream; a GROUP BY over `stream = ANY()` read every row of every stream named
                // (1.5 s of the server's time in a 200,000-event import)
                """
                SELECT q.stream, (SELECT max(version) FROM \(unescaped: location.table("events")) e WHERE e.stream = q.stream)
                FROM unnest(\(names)::text[]) AS q(stream)
                """)
        }
        return questions
    }

    /// Takes the answers: what is known already (the turn's own events) is kept.
    private func receive(_ questions: Questions, into turn: inout Turn) throws {
        if let ids = questions.ids {
            for row in try session.answer(ids) {
                let id = try row.at(0, UUID.self)
                if turn.ids[id] == nil { turn.ids[id] = try row.at(1, Int64.self) }
            }
        }
        if let streams = questions.streams {
            for row in try session.answer(streams) {
                let name = try row.at(0, String.self)
                guard let version = try row.at(1, Int64?.self) else { continue }
                if case .some(.some(let known)) = turn.streams[name], known >= version { continue }
                turn.streams[name] = .some(version)
            }
        }
    }

    private enum Added {
        case appended(Int64)
        case duplicate(Int64)
    }

    /// Checks one event (``AppendRules``) and adds it to the turn; a rejection changes nothing.
    private func add(_ event: ProposedEvent, validate: Bool, to turn: inout Turn) throws -> Added {
        if turn.streams[event.stream] == nil || event.id.map({ !turn.checked.contains($0) }) == true {
            try learn([event], into: &turn)
        }
        if let id = event.id, let existing = turn.ids[id] { return .duplicate(existing) }
        let last = turn.streams[event.stream] ?? nil
        let admitted = try AppendRules.admit(
            event, validate: validate, streamLastVersion: last, tail: turn.tail, now: options.clock().milliseconds, domain: domain)
        let id = event.id ?? UUID()
        if !turn.positions.isEmpty, turn.lines.count >= options.frameBytes { try flush(&turn) }
        let digest = try AppendRules.encode(event, id: id, admitted, previousHash: turn.tail.lastHash, into: &turn.lines)
        if turn.positions.isEmpty {
            turn.first = admitted.position
            turn.firstRecordedAt = admitted.recordedAt
        }
        turn.lastRecordedAt = admitted.recordedAt
        turn.positions.append(admitted.position)
        turn.rowIDs.append(id)
        turn.rowStreams.append(event.stream)
        turn.rowVersions.append(admitted.version)
        turn.rowRecorded.append(admitted.recordedAt)
        turn.tail = AppendRules.Tail(nextPosition: admitted.position + 1, lastHash: digest, lastRecordedAt: admitted.recordedAt)
        turn.ids[id] = admitted.position
        turn.checked.insert(id)
        turn.streams[event.stream] = .some(admitted.version)
        domain.apply(
            type: event.type, stream: event.stream, occurredAt: event.occurredAt, data: event.data,
            recordingInto: &turn.rollback)
        return .appended(admitted.position)
    }

    /// Writes the open batch: its row in `batches` (one zstd frame) and its events' rows.
    private func flush(_ turn: inout Turn) throws {
        guard !turn.positions.isEmpty else { return }
        let body = try turn.lines.withUnsafeBytes { try compressor.compress($0) }
        let last = turn.positions.last!
        let lastHash = ByteBuffer(bytes: turn.tail.lastHash!)
        // sent without waiting: the server writes the batch while the next events are checked
        try session.send(
            """
            INSERT INTO \(unescaped: location.table("batches")) (\(unescaped: BatchRow.columns))
            VALUES (\(turn.first), \(last), \(turn.firstRecordedAt), \(turn.lastRecordedAt), \(lastHash), \(Int32(turn.lines.count)), \(ByteBuffer(bytes: body)))
            """)
        try session.send(
            """
            INSERT INTO \(unescaped: location.table("events")) (position, id, stream, version, recorded_at)
            SELECT * FROM unnest(\(turn.positions)::bigint[], \(turn.rowIDs)::uuid[], \(turn.rowStreams)::text[], \(turn.rowVersions)::bigint[], \(turn.rowRecorded)::bigint[])
            """)
        turn.lines.removeAll(keepingCapacity: true)
        turn.positions.removeAll(keepingCapacity: true)
        turn.rowIDs.removeAll(keepingCapacity: true)
        turn.rowStreams.removeAll(keepingCapacity: true)
        turn.rowVersions.removeAll(keepingCapacity: true)
        turn.rowRecorded.removeAll(keepingCapacity: true)
    }

    /// The server process serving this writer's connection (`pg_backend_pid()`), for an
    /// operator's `pg_terminate_backend` — and for the tests that play one.
    package func backendPID() throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        return try session.backendPID()
    }

    private func requireOpen() throws {
        if closed { throw EventStoreError(.invalidArgument, "the store is closed") }
    }

    // MARK: LogWriting

    public func append(_ events: [ProposedEvent], validate: Bool) throws -> AppendResult {
        lock.lock()
        defer { lock.unlock() }
        try requireOpen()
        var turn = try beginTurn()
        var positions: [Int64] = []
        var appended = 0
        var duplicates = 0
        do {
            try learn(events, into: &turn)
            for (n, event) in events.enumerated() {
                do {
                    switch try add(event, validate: validate, to: &turn) {
                    case .appended(let p):
                        positions.append(p)
                        appended += 1
                    case .duplicate(let p):
                        positions.append(p)
                        duplicates += 1
                    }
                } catch {
                    throw EventStore.describe(error, event: n, of: events.count)
                }
            }
            try commit(&turn)
        } catch {
            abandon(turn)
            throw Self.meaning(of: error, commitSent: false)
        }
        return AppendResult(positions: positions, appended: appended, duplicates: duplicates, head: turn.tail.nextPosition - 1)
    }

    public func importLines(
        options: EventStore.ImportOptions, next: @escaping () throws -> [UInt8]?, ready: @escaping () -> Bool,
        onReject: (EventStore.LineRejection) throws -> Void, onCommit: (Int64) -> Void
    ) throws -> EventStore.ImportResult {
        lock.lock()
        defer { lock.unlock() }
        try requireOpen()
        var result = EventStore.ImportResult()
        let pipeline = ParsePipeline(next: next, ready: ready, checkPayload: options.validate)
        defer { pipeline.cancel() }
        var turn = try beginTurn()
        var inTurn = 0
        do {
            // The questions about a batch's ids and streams are sent before the batch before it is
            // checked, so that their answers are back when it is its turn: the server answers
            // them, and writes the batches sent so far, while this thread checks events.
            var upcoming = try pipeline.nextBatch()
            var renewed = false
            var questions = try upcoming.map { b in try ask(about: b.compactMap { try? $0.event.get() }, for: &turn) }
            while var batch = upcoming {
                try receive(questions!, into: &turn)
                upcoming = try pipeline.nextBatch()
                questions = try upcoming.map { b in try ask(about: b.compactMap { try? $0.event.get() }, for: &turn) }
                for item in batch {
                    result.lines = item.line
                    do {
                        switch try add(try item.event.get(), validate: options.validate, to: &turn) {
                        case .appended: result.appended += 1
                        case .duplicate: result.duplicates += 1
                        }
                    } catch {
                        guard let rejection = EventStore.lineRejection(error, line: item.line, bytes: item.bytes) else { throw error }
                        guard options.skipInvalid else {
                            throw EventStoreError(
                                .invalidEvent, "line \(rejection.line) is rejected: field \(rejection.field): \(rejection.reason)",
                                cause: rejection)
                        }
                        result.rejected += 1
                        try onReject(rejection)
                    }
                    inTurn += 1
                    if options.commitEvery > 0 && inTurn >= options.commitEvery {
                        try commit(&turn)
                        onCommit(turn.tail.nextPosition - 1)
                        inTurn = 0
                        turn = try beginTurn()
                        renewed = true
                    }
                }
                // a new turn knows nothing of the old one's questions (other writers may have
                // committed between the two): the next batch's are asked again in it
                if renewed {
                    renewed = false
                    questions = try upcoming.map { b in try ask(about: b.compactMap { try? $0.event.get() }, for: &turn) }
                }
                pipeline.giveBack(&batch)
            }
            result.lines = pipeline.lineCount
            try commit(&turn)
            onCommit(turn.tail.nextPosition - 1)
        } catch {
            abandon(turn)
            throw Self.meaning(of: error, commitSent: false)
        }
        result.head = turn.tail.nextPosition - 1
        if result.appended > 0 { try? saveDomainState() }
        return result
    }

    /// Saves the domain state at the position it is folded to.
    private func saveDomainState() throws {
        let packed = try domain.encodedJSON().withUnsafeBytes { try ZstdCompressor(level: 3).compress($0) }
        try session.rows(
            """
            INSERT INTO \(unescaped: location.table("domain_state")) (one, position, state) VALUES (true, \(domainPosition), \(ByteBuffer(bytes: packed)))
            ON CONFLICT (one) DO UPDATE SET position = excluded.position, state = excluded.state
            WHERE \(unescaped: location.table("domain_state")).position < excluded.position
            """)
        domainSavedAt = domainPosition
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        if domainPosition - max(domainSavedAt, 0) > EventStore.refoldAtMost { try? saveDomainState() }
        session.close()
    }
}
