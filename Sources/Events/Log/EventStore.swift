import Crypto
import Foundation
import GRDB
import Logging
import Synchronization

/// How a store writes.
public struct EventStoreOptions: Sendable {
    /// A segment file rolls over once it would grow past this many bytes.
    public var segmentSize = 64 << 20
    /// A frame is closed once its uncompressed lines reach this many bytes.
    public var frameBytes = 1 << 20
    /// The zstd level of new frames. 6 measured as the balance on the generated history: with
    /// 1 MiB frames its log is 0.99x the zstd CLI's level 3 over the whole file (level 5: 1.04x,
    /// 7: 0.95x), and a 200,000-event import takes about 5% longer than at level 5 (level 7: 14%),
    /// the compression running on its own thread. See docs/PERFORMANCE.md.
    public var compressionLevel: Int32 = 6
    /// Compress a frame that does not end a request (the frames of an import but its last) on
    /// a thread of its own while the writer checks and encodes the next frame's events. The
    /// bytes written are the same either way (tests compare them); `false` compresses on the
    /// writer's thread.
    public var compressInBackground = true
    /// Wait for another writer to finish instead of failing at once.
    public var waitForLock = false
    /// The store's clock for `recordedAt` (injected so that tests never depend on the time).
    public var clock: @Sendable () -> Timestamp = { Timestamp.now() }
    public var logger = Logger(label: "hromada.events")
    /// Where a process that opens one writer after another (the service: one per HTTP append)
    /// keeps the domain state between them, so that opening does not decode the saved state.
    public var domainCache: DomainStateCache? = nil
    /// Tests only: thrown in place of the index's commit after the log's fsync (a full disk).
    var indexCommitFault: (@Sendable () throws -> Void)? = nil

    public init() {}
}

/// The domain state as the last writer of this process left it, with the position and chain
/// hash it was folded to. A writer takes it only when the log still holds that hash at that
/// position (the same log, not one repaired or replaced meanwhile), and folds what other
/// processes appended after it.
public final class DomainStateCache: Sendable {
    private let kept = Mutex<(position: Int64, hash: [UInt8], state: DomainState)?>(nil)
    private let takenCount = Mutex(0)

    public init() {}

    /// How many writers took the kept state instead of decoding the saved one.
    public var taken: Int { takenCount.withLock { $0 } }

    func keep(position: Int64, hash: [UInt8]?, state: DomainState) {
        guard let hash else { return }
        kept.withLock { $0 = (position, hash, state) }
    }

    /// The kept state when the index's frame ending at its position has its hash. It is taken
    /// out of the cache, not shared with it: the writer's first event then changes the state in
    /// place instead of copying every dictionary of it (at 450,000 events that copy, and freeing
    /// it, were a third of an HTTP append). The writer gives it back on closing.
    func state(in index: LogIndex, head: Int64) -> (position: Int64, state: DomainState)? {
        guard let taken = kept.withLock({ kept -> (position: Int64, hash: [UInt8], state: DomainState)? in
            defer { kept = nil }
            return kept
        }) else { return nil }
        guard taken.position <= head,
            let frame = try? index.frame(containing: taken.position), frame.lastPosition == taken.position,
            frame.lastHash == taken.hash
        else { return nil }
        takenCount.withLock { $0 += 1 }
        return (taken.position, taken.state)
    }
}

/// What an append did: the position of each proposed event (the original position for an id
/// the log already held) and the log's head after it.
public struct AppendResult: Sendable, Equatable {
    public var positions: [Int64]
    public var appended: Int
    public var duplicates: Int
    public var head: Int64
    /// Set when the append is durable in the log but the index could not be updated (a full
    /// disk): why. The index catches up from the log later; the append is acknowledged.
    public var indexBehind: String? = nil
}

/// The writer of a store: appends with optimistic concurrency, idempotent ids and atomic
/// multi-event batches, durable when acknowledged. One per store across all processes (an OS
/// file lock); thread-safe inside its process, where concurrent appends share one fsync.
public final class EventStore: @unchecked Sendable {
    // @unchecked: every mutable member is touched only with `condition` locked, or by the one
    // thread that currently leads a group commit (`leading`).
    public let layout: StoreLayout
    public let options: EventStoreOptions
    /// What opening the store found and repaired.
    public let recovery: RecoveryReport
    private let lock: WriterLock
    private let writer: LogWriter
    private let condition = NSCondition()
    private var queue: [Request] = []
    private var leading = false
    private var closed = false
    /// The position the saved domain state reflects (saving it again is skipped when unchanged).
    private var domainSavedAt: Int64 = -1

    private final class Request {
        let events: [ProposedEvent]
        let validate: Bool
        var result: Result<AppendResult, any Error>?
        init(events: [ProposedEvent], validate: Bool) {
            self.events = events
            self.validate = validate
        }
    }

    /// Opens a store for writing: takes the lock, recovers the log's tail, brings the index and
    /// the domain state up to date.
    /// - Throws: ``EventStoreError`` `.locked` when another process writes, `.corruption` when the
    ///   log is damaged other than at its very end.
    public convenience init(layout: StoreLayout, options: EventStoreOptions = EventStoreOptions()) throws {
        try layout.requireStore()
        let lock = try WriterLock(path: layout.lock, wait: options.waitForLock, store: layout.root)
        try self.init(layout: layout, options: options, lock: lock)
    }

    init(layout: StoreLayout, options: EventStoreOptions, lock: WriterLock) throws {
        self.layout = layout
        self.options = options
        self.lock = lock
        let logger = options.logger
        var index: LogIndex
        do {
            index = try LogIndex(path: layout.index, readOnly: false)
            _ = try index.lastFrame()
        } catch {
            logger.warning("the index cannot be opened; rebuilding it from the log", metadata: ["error": "\(error)"])
            for suffix in ["", "-wal", "-shm"] { unlink(layout.index + suffix) }
            index = try LogIndex(path: layout.index, readOnly: false)
        }
        var report = RecoveryReport()
        let tail: Recovery.Tail
        do {
            tail = try Recovery(layout: layout, index: index, logger: logger).run(report: &report)
        } catch let damage as LogDamage {
            throw EventStoreError(.corruption, Self.refusal(damage))
        }
        recovery = report
        writer = LogWriter(layout: layout, options: options, index: index, logger: logger)
        let (domain, savedAt) = try Self.loadDomain(
            layout: layout, index: index, head: tail.nextPosition - 1, cache: options.domainCache)
        try writer.resume(
            segmentFirst: tail.segmentFirst, segmentEnd: tail.segmentEnd, nextPosition: tail.nextPosition,
            lastHash: tail.lastHash, lastRecordedAt: tail.lastRecordedAt, domain: domain)
        domainSavedAt = savedAt
    }

    /// Why a writer does not open a damaged log, and what to do.
    static func refusal(_ damage: LogDamage) -> String {
        "\(damage). This is damage, not a torn write: the store is not opened for writing and nothing was changed. Run `admin verify` for details, then `admin repair` to move the damaged bytes aside (or restore the segment from a backup)"
    }

    /// The domain state at `head`: the saved one, then the events after it; and the position
    /// the index holds a state of now (-1: none).
    private static func loadDomain(
        layout: StoreLayout, index: LogIndex, head: Int64, cache: DomainStateCache?
    ) throws -> (DomainState, savedAt: Int64) {
        var state = DomainState()
        var from: Int64 = 1
        var savedAt: Int64 = -1
        let savedPosition = try index.domainStatePosition()
        if let cache, let kept = cache.state(in: index, head: head), kept.position >= (savedPosition ?? 0) {
            state = kept.state
            from = kept.position + 1
            savedAt = savedPosition.map { $0 <= head ? $0 : -1 } ?? -1
        } else if let saved = try index.domainState(), saved.position <= head,
            let decoded = try? DomainState(savedJSON: [UInt8](saved.state))
        {
            state = decoded
            from = saved.position + 1
            savedAt = saved.position
        }
        if from <= head {
            let reader = try EventLogReader(layout: layout, index: index)
            try reader.forEach(from: from) { e in
                state.apply(type: e.type, stream: e.stream, occurredAt: e.occurredAt, data: e.data)
                return true
            }
            if head - from > Self.refoldAtMost {
                try index.saveDomainState(position: head, state: state)
                savedAt = head
            }
        }
        return (state, savedAt)
    }

    /// How many events after the saved domain state a writer folds again when it opens, rather
    /// than save the state (encoded and compressed: about 0.1 s for half a million events) each
    /// time it closes.
    package static let refoldAtMost: Int64 = 1000

    /// The domain state the business rules are checked against (folded to the head).
    var domainState: DomainState {
        condition.lock()
        defer { condition.unlock() }
        return writer.domain
    }

    /// The position of the last committed event (0 when the log is empty).
    public var head: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return writer.head
    }

    /// Appends `events` as one all-or-nothing unit, durable when this returns.
    ///
    /// Each event is checked against the catalog and the business rules (unless `validate` is
    /// false: an operator's override), its `expectedVersion`, and its id: an id the log holds
    /// already is not appended again, and its original position is returned. Concurrent callers
    /// in this process share one fsync.
    /// - Throws: ``EventStoreError`` (`.invalidEvent` with the event's index and field,
    ///   `.wrongExpectedVersion`, `.io`); nothing of the batch is then written.
    public func append(_ events: [ProposedEvent], validate: Bool = true) throws -> AppendResult {
        let request = Request(events: events, validate: validate)
        condition.lock()
        guard !closed else {
            condition.unlock()
            throw EventStoreError(.invalidArgument, "the store is closed")
        }
        queue.append(request)
        while request.result == nil && leading { condition.wait() }
        if let result = request.result {
            condition.unlock()
            return try result.get()
        }
        // Lead a group: take everything queued, write it, one fsync, then wake the others.
        leading = true
        while !queue.isEmpty {
            let group = queue
            queue.removeAll()
            condition.unlock()
            let results = runGroup(group)
            condition.lock()
            for (r, result) in zip(group, results) { r.result = result }
            condition.broadcast()
        }
        leading = false
        condition.broadcast()
        condition.unlock()
        return try request.result!.get()
    }

    private func runGroup(_ group: [Request]) -> [Result<AppendResult, any Error>] {
        var results: [Result<AppendResult, any Error>] = []
        do {
            try writer.catchUpIndex()
            try writer.inSession {
                try writer.beginGroup()
                for request in group {
                    results.append(runRequest(request.events, validate: request.validate))
                }
                try writer.commitGroup()
            }
            if let lag = writer.indexLag {
                results = results.map { $0.map { var r = $0; r.indexBehind = lag; return r } }
            }
            return results
        } catch {
            writer.abandonGroup()
            return group.map { _ in .failure(error) }
        }
    }

    private func runRequest(_ events: [ProposedEvent], validate: Bool) -> Result<AppendResult, any Error> {
        do {
            try writer.beginRequest()
        } catch {
            return .failure(error)
        }
        var positions: [Int64] = []
        var appended = 0
        var duplicates = 0
        for (n, event) in events.enumerated() {
            do {
                switch try writer.add(event, validate: validate) {
                case .appended(let p, _):
                    positions.append(p)
                    appended += 1
                case .duplicate(let p):
                    positions.append(p)
                    duplicates += 1
                }
            } catch {
                try? writer.abandonRequest()
                return .failure(Self.describe(error, event: n, of: events.count))
            }
        }
        do {
            try writer.endRequest()
        } catch {
            try? writer.abandonRequest()
            return .failure(error)
        }
        return .success(AppendResult(positions: positions, appended: appended, duplicates: duplicates, head: writer.head))
    }

    package static func describe(_ error: any Error, event n: Int, of count: Int) -> any Error {
        let which = count > 1 ? "event \(n + 1) of \(count)" : "the event"
        switch error {
        case let rejection as Rejection:
            var e = EventStoreError(.invalidEvent, "\(which) is rejected: field \(rejection.field): \(rejection.reason)", cause: rejection)
            e.eventIndex = n
            return e
        case var e as EventStoreError where e.code == .wrongExpectedVersion:
            e.message = "\(which) is rejected: \(e.message)"
            e.eventIndex = n
            return e
        default:
            return error
        }
    }

    /// Saves the domain state and lets go of the writer's lock.
    public func close() {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        closed = true
        if domainSavedAt < 0 || writer.head - domainSavedAt > Self.refoldAtMost {
            try? writer.index.saveDomainState(position: writer.head, state: writer.domain)
        }
        options.domainCache?.keep(position: writer.head, hash: writer.lastHash, state: writer.domain)
        lock.release()
    }

    deinit { close() }

    // MARK: bulk import

    /// How `importLines` commits.
    public struct ImportOptions: Sendable {
        /// Validate against the catalog and the business rules (false: operator's override).
        public var validate = true
        /// Keep going past rejected lines (they are reported to `onReject`), instead of
        /// abandoning the whole import at the first one.
        public var skipInvalid = false
        /// Commit (and fsync) every this many lines; 0: once at the end (all or nothing).
        public var commitEvery = 0
        public init() {}
    }

    /// What an import did.
    public struct ImportResult: Sendable {
        public var lines = 0
        public var appended = 0
        public var duplicates = 0
        public var rejected = 0
        public var head: Int64 = 0
        /// Set when the last commit is durable in the log but the index could not be updated.
        public var indexBehind: String? = nil
        public init() {}
    }

    /// An import goes no further once the index could not take a commit (a full disk): what is
    /// committed is durable and acknowledged, the rest of the input is not imported.
    private func stopIfIndexBehind() throws {
        guard let lag = writer.indexLag else { return }
        throw EventStoreError(
            .io,
            "the import stopped after position \(writer.head): every event through it is committed in the log, but the index could not be updated (\(lag)); free some space and run the import again (ids already in the log are skipped), the index catches up from the log at the next open")
    }

    /// The rejection of line `line` (`bytes`) that `error` says, or nil when it is not one (an
    /// I/O error, which ends the import).
    package static func lineRejection(_ error: any Error, line: Int, bytes: [UInt8]) -> LineRejection? {
        let text = String(decoding: bytes, as: UTF8.self)
        switch error {
        case let r as Rejection:
            return LineRejection(line: line, field: r.field, reason: r.reason, text: text)
        case let e as EventStoreError where e.code == .wrongExpectedVersion:
            return LineRejection(line: line, field: "expectedVersion", reason: e.conflict?.reason ?? e.message, text: text)
        default:
            return nil
        }
    }

    /// A line that was rejected, with its number (1-based) and reason.
    public struct LineRejection: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var field: String
        public var reason: String
        /// The rejected line as it was read.
        public var text: String
        public var description: String { "line \(line): field \(field): \(reason)" }
    }

    /// Imports JSON Lines from `next` (which returns one line at a time, without its newline,
    /// or nil at the end). `ready` says whether `next` can answer without waiting (a pipe): what
    /// was read is committed or rejected before waiting for more. All or nothing unless `skipInvalid` or `commitEvery` say otherwise;
    /// `onCommit` is called with the head after each durable commit.
    /// - Throws: ``EventStoreError`` naming the line and field of the first rejected line (the
    ///   store is then unchanged), or an I/O error.
    public func importLines(
        options: ImportOptions, next: @escaping () throws -> [UInt8]?, ready: @escaping () -> Bool = { true },
        onReject: (LineRejection) throws -> Void = { _ in },
        onCommit: (Int64) -> Void = { _ in }
    ) throws -> ImportResult {
        condition.lock()
        while leading { condition.wait() }
        leading = true
        condition.unlock()
        defer {
            condition.lock()
            leading = false
            condition.broadcast()
            condition.unlock()
        }
        try writer.catchUpIndex()
        var result = ImportResult()
        var inRequest = 0
        // Two stages on two cores: a thread reads and parses lines, this one checks, encodes,
        // hashes, compresses and writes them.
        let pipeline = ParsePipeline(next: next, ready: ready, checkPayload: options.validate)
        defer { pipeline.cancel() }
        do {
            try writer.inSession {
                try writer.beginGroup()
                try writer.beginRequest()
                while var batch = try pipeline.nextBatch() {
                    for item in batch {
                        result.lines = item.line
                        do {
                            let event = try item.event.get()
                            switch try writer.add(event, validate: options.validate) {
                            case .appended: result.appended += 1
                            case .duplicate: result.duplicates += 1
                            }
                        } catch {
                            guard let rejection = Self.lineRejection(error, line: item.line, bytes: item.bytes) else { throw error }
                            guard options.skipInvalid else {
                                throw EventStoreError(
                                    .invalidEvent, "line \(rejection.line) is rejected: field \(rejection.field): \(rejection.reason)",
                                    cause: rejection)
                            }
                            result.rejected += 1
                            try onReject(rejection)
                        }
                        inRequest += 1
                        if options.commitEvery > 0 && inRequest >= options.commitEvery {
                            try writer.endRequest()
                            try writer.commitGroup()
                            onCommit(writer.head)
                            try stopIfIndexBehind()
                            inRequest = 0
                            try writer.beginGroup()
                            try writer.beginRequest()
                        }
                    }
                    pipeline.giveBack(&batch)
                }
                result.lines = pipeline.lineCount
                try writer.endRequest()
                try writer.commitGroup()
                onCommit(writer.head)
            }
            result.indexBehind = writer.indexLag
        } catch {
            writer.abandonGroup()
            throw error
        }
        if result.appended > 0 {
            try? writer.index.saveDomainState(position: writer.head, state: writer.domain)
            domainSavedAt = writer.head
        }
        result.head = writer.head
        return result
    }
}

/// The first stage of an import: a thread that reads lines and parses them into events, a few
/// batches ahead of the writer.
package final class ParsePipeline: @unchecked Sendable {
    // @unchecked: `lines.value` is written by the parsing thread before it ends and read by the
    // consumer only after `nextBatch` has returned nil (the queue's lock orders the two).
    package struct Item {
        package var line: Int
        package var bytes: [UInt8]
        package var event: Result<ProposedEvent, Rejection>
    }

    private static let batchSize = 512
    private let prefetch: Prefetch<[Item]>
    private let lines = LineCount()
    private final class LineCount { var value = 0 }
    private let used = UsedBatches()

    /// Batches the writer is done with, freed on the parsing thread: the parsed values are
    /// trees of dictionaries and arrays, and freeing them was about a tenth of the writer
    /// thread's time (perf, a 200,000-event import), the thread that bounds the import.
    private final class UsedBatches: @unchecked Sendable {
        // @unchecked: `batches` is touched only with `lock` held.
        private let lock = NSLock()
        private var batches: [[Item]] = []
        func add(_ batch: inout [Item]) {
            lock.lock()
            batches.append(batch)
            lock.unlock()
            batch = []
        }
        /// Frees the batches given back so far, on the calling thread.
        func free() {
            lock.lock()
            let taken = batches
            batches = []
            lock.unlock()
            withExtendedLifetime(taken) {}
        }
    }

    /// Starts the parsing thread; `next` is called on it alone, and the thread has ended (or
    /// been abandoned to its blocked input) when `cancel` returns, so `next` is never used by two
    /// threads.
    package init(next: @escaping () throws -> [UInt8]?, ready: @escaping () -> Bool, checkPayload: Bool) {
        let lines = self.lines
        let used = self.used
        prefetch = Prefetch(maxQueued: 4) { emit in
            var batch: [Item] = []
            batch.reserveCapacity(Self.batchSize)
            var line = 0
            defer { lines.value = line }
            while let bytes = try next() {
                line += 1
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                let event = Result { () throws(Rejection) -> ProposedEvent in
                    var event = try EventCodec.decodeProposed(line: bytes)
                    event.encodePayload(checkPayload: checkPayload)
                    return event
                }
                batch.append(Item(line: line, bytes: bytes, event: event))
                if batch.count == Self.batchSize || !ready() {
                    guard emit(batch) else { return }
                    batch.removeAll(keepingCapacity: true)
                    used.free()
                }
            }
            if !batch.isEmpty { _ = emit(batch) }
        }
    }

    /// How many lines were read (blank ones included); final once `nextBatch` returned nil.
    package var lineCount: Int { lines.value }

    /// Hands a batch the consumer is done with to the parsing thread, which frees it; `batch`
    /// is left empty.
    package func giveBack(_ batch: inout [Item]) { used.add(&batch) }

    /// The next batch, or nil at the end of the input.
    package func nextBatch() throws -> [Item]? { try prefetch.next() }

    /// Stops the parsing thread (see ``Prefetch/cancel(grace:)``).
    package func cancel() { prefetch.cancel() }
}
