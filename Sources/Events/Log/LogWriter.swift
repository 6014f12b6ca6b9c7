import Crypto
import Foundation
import GRDB
import Logging

/// The single writer of a store's log. Not thread-safe on its own: ``EventStore`` serialises
/// access and groups concurrent appends into one fsync.
///
/// Writes go in *groups* (one SQLite transaction on the index, one fsync of the log) made of
/// *requests* (all-or-nothing units that end in a COMMIT frame). A request's events are checked
/// one by one before anything of them changes state; a request that is abandoned is cut off
/// the segment again, byte for byte.
final class LogWriter {
    let layout: StoreLayout
    let options: EventStoreOptions
    /// Events and bytes made durable, fsync times.
    let metrics = LogMetrics()
    /// The first position and the bytes written of the group being written.
    private var groupFirstPosition: Int64 = 0
    private var groupBytes = 0
    let index: LogIndex
    let logger: Logger
    private let compressor: ZstdCompressor

    // The committed tail of the log.
    private(set) var segmentFirst: Int64 = 1
    private var segment: PosixFile?
    private(set) var segmentEnd = 0
    private(set) var nextPosition: Int64 = 1
    private(set) var lastHash: [UInt8]?
    private(set) var lastRecordedAt: Int64 = Int64.min
    private(set) var domain = DomainState()
    /// The last version of streams looked up or appended to (the open request's included).
    private var streamVersions: [String: Int64] = [:]

    // The open frame.
    private var lines: [UInt8] = []
    private var frameFirst: Int64 = 0
    private var frameCount = 0
    private var frameFirstRecorded: Int64 = 0
    private var frameLastRecorded: Int64 = 0
    private var pendingIDs: [UUID: Int64] = [:]
    private var pendingRows: [LogIndex.EventRow] = []

    // Group and request bookkeeping.
    private var groupOpen = false
    private var createdSegments: [String] = []
    private var unsyncedSegments: [PosixFile] = []
    private var mark: Mark?
    /// Puts the domain state back when the request is abandoned (it is not copied: see
    /// ``DomainState/Rollback``); set while a request is open.
    private var rollback: DomainState.Rollback?

    /// Where a request started: what is restored when it is abandoned.
    struct Mark {
        var segmentFirst: Int64
        var segmentEnd: Int
        var nextPosition: Int64
        var lastHash: [UInt8]?
        var lastRecordedAt: Int64
        var createdSegmentCount: Int
    }

    init(layout: StoreLayout, options: EventStoreOptions, index: LogIndex, logger: Logger) {
        self.layout = layout
        self.options = options
        self.index = index
        self.logger = logger
        self.compressor = ZstdCompressor(level: options.compressionLevel)
    }

    var head: Int64 { nextPosition - 1 }

    /// Sets the committed tail after recovery.
    func resume(segmentFirst: Int64, segmentEnd: Int, nextPosition: Int64, lastHash: [UInt8]?, lastRecordedAt: Int64, domain: DomainState) throws {
        self.segmentFirst = segmentFirst
        self.segmentEnd = segmentEnd
        self.nextPosition = nextPosition
        self.lastHash = lastHash
        self.lastRecordedAt = lastRecordedAt
        self.domain = domain
        if segmentEnd > 0 {
            segment = try PosixFile(path: layout.segmentPath(firstPosition: segmentFirst), flags: O_RDWR)
        }
    }

    // MARK: the index connection

    /// The index connection while `inSession` runs: a bulk import makes every lookup a direct
    /// call instead of a hop through GRDB's queue.
    private var sessionDB: Database?

    /// Runs `body` with the index connection held for all of its accesses.
    func inSession<T>(_ body: () throws -> T) throws -> T {
        if sessionDB != nil { return try body() }
        return try index.queue.inDatabase { db in
            sessionDB = db
            defer { sessionDB = nil }
            return try body()
        }
    }

    private func withDatabase<T>(_ body: (Database) throws -> T) throws -> T {
        if let sessionDB { return try body(sessionDB) }
        return try index.queue.inDatabase(body)
    }

    // MARK: groups

    func beginGroup() throws {
        precondition(!groupOpen)
        try withDatabase { db in try db.beginTransaction(.immediate) }
        groupOpen = true
        groupFirstPosition = nextPosition
        groupBytes = 0
        createdSegments = []
        unsyncedSegments = []
    }

    /// Makes the group durable: fsync of every segment written, of the log folder when a segment
    /// was created, then the index transaction. Once the fsyncs are done the group is durable and
    /// acknowledged, whatever happens to the index: when its commit fails (a full disk) it is
    /// rolled back, ``indexLag`` says why, and the index catches up from the log before the next
    /// group (``catchUpIndex()``) or at the next open.
    func commitGroup() throws {
        precondition(groupOpen && mark == nil)
        try metrics.timingFsync {
            if let segment { try segment.sync() }
            for file in unsyncedSegments where file !== segment { try file.sync() }
            if !createdSegments.isEmpty { try PosixFile.syncDirectory(layout.logDirectory) }
        }
        metrics.events.increment(by: Int(nextPosition - groupFirstPosition))
        metrics.bytes.increment(by: groupBytes)
        groupOpen = false
        createdSegments = []
        unsyncedSegments = []
        do {
            try options.indexCommitFault?()
            try withDatabase { db in try db.commit() }
        } catch {
            try? withDatabase { db in if db.isInsideTransaction { try db.rollback() } }
            streamVersions.removeAll()
            indexLag = "\(error)"
            logger.warning(
                "the log is durable through position \(head), but the index could not be updated; it catches up from the log",
                metadata: ["error": "\(error)"])
        }
    }

    /// Why the index is behind the log (its last commit failed), or nil when it is not.
    private(set) var indexLag: String?

    /// Brings the index up to the log's committed tail after a failed index commit (outside any
    /// session: recovery uses the index's queue itself).
    /// - Throws: when the index still cannot be written; nothing is then appended.
    func catchUpIndex() throws {
        guard let lag = indexLag else { return }
        var report = RecoveryReport()
        let tail: Recovery.Tail
        do {
            tail = try Recovery(layout: layout, index: index, logger: logger).run(report: &report)
        } catch {
            throw EventStoreError(
                .io, "the index is behind the log (\(lag)) and still cannot be brought up to date; nothing was appended", cause: error)
        }
        guard tail.nextPosition == nextPosition else {
            throw EventStoreError(.io, "the index caught up to position \(tail.nextPosition - 1), the writer is at \(head); reopen the store")
        }
        streamVersions.removeAll()
        indexLag = nil
    }

    // MARK: requests

    func beginRequest() throws {
        precondition(groupOpen && mark == nil)
        mark = Mark(
            segmentFirst: segmentFirst, segmentEnd: segmentEnd, nextPosition: nextPosition, lastHash: lastHash,
            lastRecordedAt: lastRecordedAt, createdSegmentCount: createdSegments.count)
        rollback = DomainState.Rollback()
        try withDatabase { db in try db.execute(sql: "SAVEPOINT request") }
    }

    /// Ends a request: its last frame carries the COMMIT flag.
    func endRequest() throws {
        precondition(mark != nil)
        if frameCount > 0 {
            try flushFrame(commit: true)
        } else {
            try writeInFlight(commit: true)
        }
        try withDatabase { db in try db.execute(sql: "RELEASE SAVEPOINT request") }
        mark = nil
        rollback = nil
    }

    /// Abandons a request: its bytes are cut off the log, its index rows rolled back.
    func abandonRequest() throws {
        guard let mark else { return }
        dropInFlight()
        storedIDs.forget()
        lines.removeAll(keepingCapacity: true)
        frameCount = 0
        pendingIDs.removeAll()
        pendingRows.removeAll()
        try withDatabase { db in
            try db.execute(sql: "ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request")
        }
        // delete segments the request created, then cut the one it started in
        for path in createdSegments[mark.createdSegmentCount...].reversed() {
            if unlink(path) != 0 { throw PosixFile.error("cannot remove \(path)") }
        }
        createdSegments.removeLast(createdSegments.count - mark.createdSegmentCount)
        unsyncedSegments.removeAll { f in !fileExists(f.path) }
        if mark.segmentFirst != segmentFirst || segment == nil {
            segment = mark.segmentEnd > 0 ? try PosixFile(path: layout.segmentPath(firstPosition: mark.segmentFirst), flags: O_RDWR) : nil
        }
        if let segment { try segment.truncate(to: mark.segmentEnd) }
        segmentFirst = mark.segmentFirst
        segmentEnd = mark.segmentEnd
        nextPosition = mark.nextPosition
        lastHash = mark.lastHash
        lastRecordedAt = mark.lastRecordedAt
        rollback?.restore(&domain)
        rollback = nil
        streamVersions.removeAll()
        self.mark = nil
    }

    /// Rolls back the whole group (after an I/O error).
    func abandonGroup() {
        try? abandonRequest()
        if groupOpen {
            try? withDatabase { db in if db.isInsideTransaction { try db.rollback() } }
            groupOpen = false
        }
    }

    // MARK: events

    /// What happened to one proposed event.
    enum Added {
        case appended(position: Int64, version: Int64)
        case duplicate(position: Int64)
    }

    /// Checks one event and adds it to the open request; a rejection changes nothing.
    func add(_ event: ProposedEvent, validate: Bool) throws -> Added {
        precondition(mark != nil)
        if let id = event.id, let existing = try existingPosition(of: id) {
            return .duplicate(position: existing)
        }
        let admitted = try AppendRules.admit(
            event, validate: validate, streamLastVersion: try lastVersion(ofStream: event.stream),
            tail: AppendRules.Tail(nextPosition: nextPosition, lastHash: lastHash, lastRecordedAt: lastRecordedAt),
            now: options.clock().milliseconds, domain: domain)
        let (position, version, recordedAt) = (admitted.position, admitted.version, admitted.recordedAt)

        // Everything is checked; from here on the event is added.
        let id = event.id ?? UUID()
        if frameCount > 0, lines.count >= options.frameBytes { try flushFrame(commit: false) }
        let digest = try AppendRules.encode(event, id: id, admitted, previousHash: lastHash, into: &lines)
        if frameCount == 0 {
            frameFirst = position
            frameFirstRecorded = recordedAt
            frameStartHash = lastHash
        }
        frameCount += 1
        frameLastRecorded = recordedAt
        lastHash = digest
        lastRecordedAt = recordedAt
        nextPosition += 1
        pendingIDs[id] = position
        pendingRows.append((position, event.stream, version, id))
        streamVersions[event.stream] = version
        domain.apply(type: event.type, stream: event.stream, occurredAt: event.occurredAt, data: event.data, recordingInto: &rollback)
        return .appended(position: position, version: version)
    }

    /// Where an id is stored: in the open frame, the frame being compressed, or (the index files
    /// it under a key that other ids may share) the position among the key's whose line has it.
    private func existingPosition(of id: UUID) throws -> Int64? {
        if let p = pendingIDs[id] ?? inFlight?.ids[id] { return p }
        return try withDatabase { db in
            for p in try LogIndex.candidates(ofID: id, in: db) where try storedIDs.id(at: p, in: db) == id { return p }
            return nil
        }
    }

    private lazy var storedIDs = StoredIDs(layout: layout)

    private func lastVersion(ofStream name: String) throws -> Int64? {
        if let version = streamVersions[name] { return version }
        let version = try withDatabase { db in try LogIndex.lastVersion(ofStream: name, in: db) }
        guard let version else { return nil }
        if streamVersions.count > 100_000, pendingRows.isEmpty, inFlight == nil { streamVersions.removeAll() }
        streamVersions[name] = version
        return version
    }

    // MARK: frames and segments

    /// A closed frame on its way to the segment: its lines, what its header and index rows
    /// say, and (once the compression thread is done) its compressed body.
    private final class ClosedFrame: @unchecked Sendable {
        // @unchecked: `body` is written by the compression thread before `done` is signalled
        // and read by the writer only after waiting for `done`; nothing else is shared.
        let first: Int64
        let count: Int
        let firstRecorded: Int64
        let lastRecorded: Int64
        let startHash: [UInt8]?
        let lastHash: [UInt8]
        var lines: [UInt8]
        var ids: [UUID: Int64]
        var rows: [LogIndex.EventRow]
        var body: Result<(compressed: [UInt8], crc: UInt32), EventStoreError>?
        let done = DispatchSemaphore(value: 0)

        init(
            first: Int64, count: Int, firstRecorded: Int64, lastRecorded: Int64, startHash: [UInt8]?, lastHash: [UInt8],
            lines: [UInt8], ids: [UUID: Int64], rows: [LogIndex.EventRow]
        ) {
            (self.first, self.count, self.firstRecorded, self.lastRecorded) = (first, count, firstRecorded, lastRecorded)
            (self.startHash, self.lastHash, self.lines, self.ids, self.rows) = (startHash, lastHash, lines, ids, rows)
        }

        func compress(with compressor: ZstdCompressor) {
            body = Result {
                let compressed = try lines.withUnsafeBytes { raw in try compressor.compress(raw) }
                return (compressed, compressed.withUnsafeBytes { crc32c($0) })
            }.mapError { $0 as? EventStoreError ?? EventStoreError(.io, "zstd compression failed", cause: $0) }
        }
    }

    /// The compressor and the thread it runs on: a frame that does not end a request is
    /// compressed there while this thread checks and encodes the next one (an import's frames
    /// but its last). Used by one frame at a time.
    private final class CompressionThread: @unchecked Sendable {
        let compressor: ZstdCompressor
        let queue = DispatchQueue(label: "hromada.log.compress")
        init(_ compressor: ZstdCompressor) { self.compressor = compressor }
        func start(_ frame: ClosedFrame) {
            queue.async {
                frame.compress(with: self.compressor)
                frame.done.signal()
            }
        }
    }

    private lazy var compression = CompressionThread(compressor)
    /// The frame being compressed: written before any frame after it, and before the request
    /// ends. Its ids are still looked up here, its streams stay in the cache.
    private var inFlight: ClosedFrame?
    /// The line buffer of the last frame written, emptied, for the next frame.
    private var spareLines: [UInt8] = []

    /// Closes the open frame: a request's last frame (`commit`) is compressed and written here
    /// at once; any other is handed to the compression thread and written at the next flush.
    private func flushFrame(commit: Bool) throws {
        guard lines.count <= FrameHeader.maxUncompressedLength else {
            throw EventStoreError(
                .invalidEvent, "an event of \(lines.count) bytes is larger than a frame may hold (\(FrameHeader.maxUncompressedLength >> 20) MiB)")
        }
        let background = !commit && options.compressInBackground
        let frame = ClosedFrame(
            first: frameFirst, count: frameCount, firstRecorded: frameFirstRecorded, lastRecorded: frameLastRecorded,
            startHash: frameStartHash, lastHash: lastHash!, lines: lines, ids: background ? pendingIDs : [:], rows: pendingRows)
        lines = spareLines
        spareLines = []
        frameCount = 0
        pendingIDs.removeAll(keepingCapacity: true)
        pendingRows.removeAll(keepingCapacity: true)
        try writeInFlight(commit: false)
        if background {
            inFlight = frame
            compression.start(frame)
        } else {
            frame.compress(with: compressor)
            try write(frame, commit: commit)
        }
    }

    /// Waits for the frame being compressed, if any, and writes it.
    private func writeInFlight(commit: Bool) throws {
        guard let frame = inFlight else { return }
        frame.done.wait()
        inFlight = nil
        try write(frame, commit: commit)
    }

    /// Drops the frame being compressed (its request is abandoned).
    private func dropInFlight() {
        guard let frame = inFlight else { return }
        frame.done.wait()
        inFlight = nil
    }

    /// Appends a compressed frame to the segment and its rows to the index transaction.
    private func write(_ frame: ClosedFrame, commit: Bool) throws {
        let (compressed, crc) = try frame.body!.get()
        let header = FrameHeader(
            flags: commit ? FrameHeader.commitFlag : 0, count: UInt32(frame.count), firstPosition: frame.first,
            firstRecordedAt: frame.firstRecorded, lastRecordedAt: frame.lastRecorded,
            compressedLength: UInt32(compressed.count), uncompressedLength: UInt32(frame.lines.count), bodyCRC: crc,
            lastHash: frame.lastHash)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(FrameHeader.size + compressed.count)
        header.encode(into: &bytes)
        bytes.append(contentsOf: compressed)

        if segment == nil || (segmentEnd > SegmentHeader.size && segmentEnd + bytes.count > options.segmentSize) {
            try rollSegment(firstPosition: frame.first, previousHash: frame.startHash)
        }
        let offset = segmentEnd
        try bytes.withUnsafeBytes { raw in try segment!.write(raw, at: offset) }
        segmentEnd += bytes.count
        groupBytes += bytes.count

        let entry = LogIndex.Frame(
            firstPosition: frame.first, count: Int64(frame.count), segment: segmentFirst, offset: Int64(offset),
            length: Int64(bytes.count), firstRecordedAt: frame.firstRecorded, lastRecordedAt: frame.lastRecorded,
            lastHash: header.lastHash, rawLength: Int64(frame.lines.count))
        try withDatabase { db in try LogIndex.insert(frame: entry, rows: frame.rows, in: db) }
        // Its line buffer, emptied, is the next frame's (taken out first, so it is not copied).
        var buffer: [UInt8] = []
        swap(&buffer, &frame.lines)
        buffer.removeAll(keepingCapacity: true)
        spareLines = buffer
    }

    private func rollSegment(firstPosition: Int64, previousHash: [UInt8]?) throws {
        if let segment, segmentEnd > 0 {
            unsyncedSegments.append(segment)
        }
        let path = layout.segmentPath(firstPosition: firstPosition)
        let file = try PosixFile(path: path, flags: O_RDWR | O_CREAT | O_EXCL)
        createdSegments.append(path)
        let previous = previousHash ?? [UInt8](repeating: 0, count: 32)
        let header = SegmentHeader(firstPosition: firstPosition, previousHash: previous).encode()
        try header.withUnsafeBytes { raw in try file.write(raw, at: 0) }
        segment = file
        segmentFirst = firstPosition
        segmentEnd = header.count
        logger.info("log segment created", metadata: ["segment.path": "\(path)"])
    }

    /// The hash that precedes the open frame's first event (`nil` at the start of the log).
    private var frameStartHash: [UInt8]?
}
