import Events
import Foundation
import NIOCore
import PostgresNIO
import Synchronization

/// A reader of a PostgreSQL store (``LogReading``): committed events only, in position order,
/// each batch's lines chain-checked from the hash before it as they are read.
public final class PostgresLogReader: LogReading, @unchecked Sendable {
    // @unchecked: every mutable member is touched with `lock` held.
    public let location: PostgresLocation
    public var storeName: String { location.description }
    /// The connection; nil after one was lost, until the next call connects again.
    private var current: PostgresSession?
    private var session: PostgresSession {
        get throws {
            if let current, !current.isClosed { return current }
            current?.close()
            let fresh = try PostgresSession(location, timeout: Self.timeout)
            current = fresh
            interruptible.withLock { $0 = fresh }
            return fresh
        }
    }
    /// The connection in use, for ``interrupt()`` (which cannot take `lock`: the call it ends
    /// holds it).
    private let interruptible = Mutex<PostgresSession?>(nil)
    private let lock = NSLock()
    private let decompressor = ZstdDecompressor()
    /// The last batch read, its lines chained (a stream's events are often in one batch).
    private var cached: BatchLines?

    /// - Throws: ``EventStoreError`` `.missingInput` when the location holds no store.
    public init(location: PostgresLocation) throws {
        self.location = location
        let first = try PostgresSession(location, timeout: Self.timeout)
        try PostgresSchema.require(first)
        current = first
        interruptible.withLock { $0 = first }
    }

    /// How long a read waits for the server before it gives up (closing its connection; the
    /// next call connects again): `HROMADA_PG_READ_TIMEOUT` seconds, 15 by default, 0 for no
    /// limit. A reader's statements are small (16 batches at most), so an answer that takes
    /// longer means a cut network or a server that hangs; a worker then retries with backoff,
    /// and a request of the service answers an error instead of waiting.
    static let timeout: Duration? = {
        let text = ProcessInfo.processInfo.environment["HROMADA_PG_READ_TIMEOUT"] ?? "15"
        guard let seconds = Double(text), seconds > 0 else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }()

    /// Ends the call in progress, if any, by closing its connection (the next call connects
    /// again). A worker asked to stop while its read waits on a cut network stops at once.
    public func interrupt() {
        interruptible.withLock { $0 }?.interrupt()
    }

    deinit { current?.close() }

    /// Runs `body` with the lock held. A connection that failed under it (lost, cut, closed by
    /// the server: an error without a server's SQLSTATE) is dropped, so that the next call
    /// connects again; a long-running reader (a worker) outlives a restart of the server or a
    /// network cut.
    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try body()
        } catch let error as EventStoreError
            where current?.isClosed == true || error.cause is PostgresSession.Timeout
                || error.cause is PostgresSession.DriverError && PostgresSession.sqlState(error) == nil
        {
            current?.close()
            current = nil
            cached = nil
            throw error
        }
    }

    public func head() throws -> (position: Int64, recordedAt: Timestamp?, hash: String?) {
        try locked {
            let head = try PostgresLog.head(session)
            guard head.position > 0 else { return (0, nil, nil) }
            return (head.position, Timestamp(milliseconds: head.recordedAt), head.hash.map(EventCodec.hex))
        }
    }

    private func lines(from position: Int64, through last: Int64, _ body: (Int64, UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
        try PostgresLog.forEachLine(
            session, from: position, through: last, decompressor: decompressor,
            cache: { [cached] p in cached.flatMap { $0.first <= p && p <= $0.last ? $0 : nil } },
            keep: { self.cached = $0 }, body)
    }

    public func forEachLine(
        from position: Int64, through last: Int64, _ body: (_ position: Int64, _ line: UnsafeBufferPointer<UInt8>) throws -> Bool
    ) throws {
        try locked { try lines(from: position, through: last, body) }
    }

    private func decode(_ p: Int64, _ line: UnsafeBufferPointer<UInt8>) throws -> RecordedEvent {
        do {
            return try EventCodec.decodeRecorded(line: line)
        } catch {
            throw EventStoreError(.corruption, "\(location): the stored event at position \(p) does not decode: \(error)")
        }
    }

    public func events(after position: Int64, limit: Int) throws -> [RecordedEvent] {
        guard limit > 0 else { return [] }
        var out: [RecordedEvent] = []
        try locked {
            let (last, overflow) = position.addingReportingOverflow(Int64(limit))
            try lines(from: position + 1, through: overflow ? .max : last) { p, line in
                out.append(try decode(p, line))
                return true
            }
        }
        return out
    }

    public func event(at position: Int64) throws -> RecordedEvent? {
        guard position >= 1 else { return nil }
        return try events(after: position - 1, limit: 1).first
    }

    public func stream(_ name: String, fromVersion: Int64) throws -> [RecordedEvent] {
        try locked {
            let positions = try session.rows(
                "SELECT position FROM \(unescaped: location.table("events")) WHERE stream = \(name) AND version >= \(fromVersion) ORDER BY version"
            ).map { try $0.at(0, Int64.self) }
            var out: [RecordedEvent] = []
            out.reserveCapacity(positions.count)
            for p in positions {
                try lines(from: p, through: p) { p, line in
                    out.append(try decode(p, line))
                    return false
                }
            }
            return out
        }
    }

    public func position(of id: UUID) throws -> Int64? {
        try locked {
            try session.rows("SELECT position FROM \(unescaped: location.table("events")) WHERE id = \(id)").first?.at(0, Int64.self)
        }
    }

    public func streamVersion(_ name: String) throws -> Int64? {
        try locked {
            try session.rows("SELECT max(version) FROM \(unescaped: location.table("events")) WHERE stream = \(name)").first?.at(
                0, Int64?.self)
        }
    }

    public func lastPosition(recordedAtOrBefore time: Timestamp) throws -> Int64 {
        try locked {
            // recordedAt never decreases along the log: the last event at or before `time` is in
            // the last batch that starts at or before it.
            let t = time.milliseconds
            guard
                let row = try session.rows(
                    "SELECT first_position, last_position, last_recorded_at FROM \(unescaped: location.table("batches")) WHERE first_recorded_at <= \(t) ORDER BY first_position DESC LIMIT 1"
                ).first
            else { return 0 }
            let (first, last, lastRecorded) = (try row.at(0, Int64.self), try row.at(1, Int64.self), try row.at(2, Int64.self))
            if lastRecorded <= t { return last }
            return try session.rows(
                "SELECT max(position) FROM \(unescaped: location.table("events")) WHERE position BETWEEN \(first) AND \(last) AND recorded_at <= \(t)"
            ).first?.at(0, Int64?.self) ?? (first - 1)
        }
    }

    public func hash(at position: Int64) throws -> String? {
        try locked {
            var found: String?
            try lines(from: position, through: position) { p, _ in
                found = cached.flatMap { $0.first <= p && p <= $0.last ? EventCodec.hex($0.hashes[Int(p - $0.first)]) : nil }
                return false
            }
            return found
        }
    }

    public func stats() throws -> EventLogReader.Stats {
        let head = try head()
        return try locked {
            let batches = location.table("batches")
            let events = location.table("events")
            guard
                let row = try session.rows(
                    """
                    SELECT (SELECT count(*) FROM \(unescaped: events)), (SELECT count(DISTINCT stream) FROM \(unescaped: events)),
                      (SELECT count(*) FROM \(unescaped: batches)), (SELECT coalesce(sum(raw_length), 0)::bigint FROM \(unescaped: batches)),
                      pg_total_relation_size(\(batches)::regclass), pg_total_relation_size(\(events)::regclass)
                    """
                ).first
            else { throw EventStoreError(.io, "\(location): no counts") }
            return EventLogReader.Stats(
                events: try row.at(0, Int64.self), streams: try row.at(1, Int64.self), frames: try row.at(2, Int64.self),
                logBytes: try row.at(4, Int64.self), indexBytes: try row.at(5, Int64.self),
                uncompressedBytes: try row.at(3, Int64.self), head: head)
        }
    }

    /// Checks every batch in order — positions dense from 1, each body a zstd frame of its
    /// length holding its events, the chain through every line ending on each batch's hash —
    /// then the head row against the last batch and the events table against the log's count.
    public func verify(expect: String?, progress: ((Int64) -> Void)?) throws -> LogVerifier.Report {
        try locked {
            var next: Int64 = 1
            var previous: [UInt8]? = nil
            var frames = 0
            var foundAt: Int64? = nil
            let expectBytes = expect.map { $0.lowercased() }
            func report(_ problem: LogVerifier.Problem?) -> LogVerifier.Report {
                var ok = problem == nil
                var problem = problem
                if ok, expect != nil, foundAt == nil {
                    ok = false
                    problem = LogVerifier.Problem(
                        table: "batches", position: next - 1,
                        reason: "the expected hash \(expect!) is not in this log's chain: the history it was published from is not a prefix of this log")
                }
                return LogVerifier.Report(
                    ok: ok, events: next - 1, frames: frames, headPosition: next - 1, headHash: previous.map(EventCodec.hex),
                    problem: problem, expectedFoundAt: foundAt)
            }
            while true {
                let rows = try PostgresLog.batches(session, from: next, limit: 16)
                if rows.isEmpty { break }
                // every batch's index rows asked at once: the server reads them while this
                // thread decompresses and hashes
                let indexRows = try rows.map { try session.request(indexRowsQuery(of: $0)) }
                for (n, batch) in rows.enumerated() {
                    guard batch.first == next else {
                        return report(LogVerifier.Problem(table: "batches", position: next, reason: "no batch holds this position (the next batch starts at \(batch.first))"))
                    }
                    let lines: BatchLines
                    do {
                        lines = try PostgresLog.lines(of: batch, previous: previous, decompressor: decompressor)
                    } catch let damage as PostgresLog.Damage {
                        return report(LogVerifier.Problem(table: "batches", position: damage.position, reason: damage.reason))
                    }
                    // the index rows of the batch must say what its lines say
                    if let problem = try checkIndexRows(of: batch, lines, rows: try session.answer(indexRows[n])) {
                        return report(problem)
                    }
                    if let expectBytes, foundAt == nil,
                        let k = lines.hashes.firstIndex(where: { EventCodec.hex($0) == expectBytes })
                    {
                        foundAt = batch.first + Int64(k)
                    }
                    previous = batch.lastHash
                    next = batch.last + 1
                    frames += 1
                    progress?(batch.last)
                }
            }
            let head = try PostgresLog.head(session)
            guard head.position == next - 1, head.hash == previous else {
                return report(LogVerifier.Problem(
                    table: "head", position: head.position,
                    reason: "the head row says position \(head.position), the batches end at \(next - 1)\(head.position == next - 1 ? " with another hash" : "")"))
            }
            let indexed = try session.rows(
                "SELECT count(*), coalesce(max(position), 0) FROM \(unescaped: location.table("events"))"
            ).first.map { (try $0.at(0, Int64.self), try $0.at(1, Int64.self)) } ?? (0, 0)
            guard indexed == (next - 1, next - 1) else {
                return report(LogVerifier.Problem(
                    table: "events", position: indexed.1,
                    reason: "the events table holds \(indexed.0) rows up to position \(indexed.1), the log \(next - 1) events"))
            }
            return report(nil)
        }
    }

    static let recordedKey = Array(#","recordedAt":""#.utf8)

    /// The first index row of `batch`'s positions that does not say what the batch's lines say
    /// (id, stream, version, recordedAt), or a missing one; nil when they agree.
    private func indexRowsQuery(of batch: BatchRow) -> PostgresQuery {
        "SELECT position, id, stream, version, recorded_at FROM \(unescaped: location.table("events")) WHERE position BETWEEN \(batch.first) AND \(batch.last) ORDER BY position"
    }

    private func checkIndexRows(of batch: BatchRow, _ lines: BatchLines, rows: [PostgresRow]) throws -> LogVerifier.Problem? {
        var expected = batch.first
        var prefix: [UInt8] = []
        var recordedField: [UInt8] = []
        prefix.reserveCapacity(256)
        recordedField.reserveCapacity(48)
        for row in rows {
            // the five columns decoded at once (one random-access view of the row, not five)
            let (p, id, stream, version, recorded) = try row.decode((Int64, UUID, String, Int64, Int64).self)
            guard p == expected else { break }
            // The stored line is canonical JSON whose first fields are position, id, stream and
            // version, then type, occurredAt and recordedAt: the row must be those bytes.
            // (built byte by byte: Foundation's uuidString and string formatting were a tenth
            // of a verify's time)
            prefix.removeAll(keepingCapacity: true)
            prefix += #"{"position":"#.utf8
            prefix += String(p).utf8
            prefix += #","id":""#.utf8
            EventCodec.appendUUID(id, into: &prefix)
            prefix += #"","stream":"#.utf8
            prefix += JSONValue.string(stream).canonicalBytes
            prefix += #","version":"#.utf8
            prefix += String(version).utf8
            prefix.append(UInt8(ascii: ","))
            recordedField.removeAll(keepingCapacity: true)
            recordedField += Self.recordedKey
            Timestamp(milliseconds: recorded).appendRFC3339(into: &recordedField)
            recordedField += #"","#.utf8
            var agrees = false
            lines.line(at: p) { line in
                guard line.count > prefix.count, line.starts(with: prefix) else { return }
                let rest = UnsafeBufferPointer(rebasing: line[prefix.count...])
                let key = Self.recordedKey
                guard rest.count >= key.count else { return }
                var i = 0
                while i + key.count <= rest.count {
                    if rest[i] == key[0], memcmp(rest.baseAddress! + i, key, key.count) == 0 {
                        agrees = i + recordedField.count <= rest.count
                            && memcmp(rest.baseAddress! + i, recordedField, recordedField.count) == 0
                        return
                    }
                    i += 1
                }
            }
            if !agrees {
                return LogVerifier.Problem(
                    table: "events", position: p,
                    reason: "the index row (id \(id), stream \(stream), version \(version), recordedAt \(Timestamp(milliseconds: recorded).rfc3339)) is not what the stored line says")
            }
            expected += 1
        }
        guard expected == batch.last + 1 else {
            return LogVerifier.Problem(table: "events", position: expected, reason: "the events table has no row for this position")
        }
        return nil
    }
}
