import Crypto
import Foundation
import GRDB
import Logging

/// Reads a store's log: by position, by stream, by recorded time. Many readers, in any
/// process, at any time; they see committed frames only.
///
/// A reader never writes a byte of the store (no recovery, no index writes, no `LOCK`, no SQLite
/// `-wal`/`-shm` files), so it works on a read-only copy too. It answers from
/// - the on-disk index itself (*live*) while a writer has it open (its `-wal` and `-shm` files
///   exist) and it holds every COMMIT frame of the log, following the writer's commits;
/// - otherwise an in-memory copy of the index (read with SQLite's `immutable` flag, which
///   creates no file), to which the committed frames the index lacks are added from the log
///   (a *snapshot*): the index lags after a crash or a full disk, or is missing or unreadable.
///   Bytes after the last COMMIT frame (a torn tail, an open transaction) are ignored, never cut.
/// A snapshot is taken again, or the reader goes live, when the index files change.
public final class EventLogReader: @unchecked Sendable {
    // @unchecked: the index source and the segment-file cache are guarded by `lock`; a LogIndex is
    // a GRDB DatabaseQueue (thread-safe).
    public let layout: StoreLayout
    private let lock = NSLock()
    private var files: [Int64: PosixFile] = [:]
    private var source: Source

    /// Where the reader's answers come from.
    private enum Source {
        /// The writer's own index (a reader the writer uses while it recovers).
        case fixed(LogIndex)
        /// The on-disk index, opened read-only while a writer's `-wal` and `-shm` files exist;
        /// `wal` holds the `-wal` file SQLite reads, to notice when it is replaced.
        case live(LogIndex, wal: HeldFile)
        /// An in-memory copy of the index plus the committed frames it lacked; `head` is its
        /// last position, `stamp` the index files as they were when it was taken.
        case snapshot(LogIndex, head: Int64, stamp: IndexFilesStamp)
    }

    /// Opens a store for reading; writes nothing.
    /// - Throws: ``EventStoreError`` `.notAStore`/`.missingInput` for a folder that is not a
    ///   store, `.corruption` when a committed frame the index lacks is damaged.
    public init(layout: StoreLayout) throws {
        try layout.requireStore()
        self.layout = layout
        source = try Self.openSource(layout)
    }

    /// A reader over an index the caller has open already (the writer, while it recovers).
    init(layout: StoreLayout, index: LogIndex) throws {
        self.layout = layout
        self.source = .fixed(index)
    }

    /// The index to answer from; a snapshot whose index files changed is replaced first (by the
    /// live index when a writer has it open and it is not behind the snapshot).
    var index: LogIndex {
        get throws {
            lock.lock()
            defer { lock.unlock() }
            switch source {
            case .fixed(let index):
                return index
            case .live(let index, let wal):
                if wal.isCurrent { return index }
                // The writer closed (SQLite removed the `-wal` and `-shm` files this connection
                // still reads) and perhaps another one opened new ones: this connection would
                // never see a commit again. Choose the source again.
                source = try Self.openSource(layout)
                return Self.index(of: source)
            case .snapshot(let memory, let head, let stamp):
                let now = IndexFilesStamp(layout)
                if now == stamp { return memory }
                if now.writerOpen {
                    if let (live, wal, last) = Self.openLive(layout), (last?.lastPosition ?? 0) >= head {
                        source = .live(live, wal: wal)
                        return live
                    }
                    source = .snapshot(memory, head: head, stamp: now)
                    return memory
                }
                source = try Self.openSource(layout)
                return Self.index(of: source)
            }
        }
    }

    private static func index(of source: Source) -> LogIndex {
        switch source {
        case .fixed(let index), .live(let index, _), .snapshot(let index, _, _): return index
        }
    }

    /// The on-disk index opened read-only, the `-wal` file it reads, and its last frame; nil when
    /// there is no writer's `-wal` or the tables cannot be read. The `-wal` is opened first and
    /// checked to be still in place after the first read, so it is the file SQLite reads.
    private static func openLive(_ layout: StoreLayout) -> (LogIndex, HeldFile, LogIndex.Frame?)? {
        guard let wal = HeldFile(path: layout.index + "-wal"),
            let live = try? LogIndex(path: layout.index, readOnly: true), case .some(let last) = readableLastFrame(live),
            wal.isCurrent
        else { return nil }
        return (live, wal, last)
    }

    /// The index's last frame when its tables can be read (`.some(nil)`: it is empty); nil when
    /// they cannot (a writer is still creating them, or the file is not an index).
    private static func readableLastFrame(_ index: LogIndex) -> LogIndex.Frame?? {
        do {
            return .some(try index.lastFrame())
        } catch {
            return nil
        }
    }

    /// Chooses the source as the files are now (see the type's documentation).
    private static func openSource(_ layout: StoreLayout, attempts: Int = 3) throws -> Source {
        var stamp = IndexFilesStamp(layout)
        if stamp.writerOpen, let (live, wal, last) = openLive(layout) {
            if try !Recovery.logHasCommit(after: last, layout: layout) { return .live(live, wal: wal) }
            return try snapshot(layout, copying: layout.index, immutable: false, claim: last, stamp: stamp)
        }
        // No writer: copy the index file without locking it; again when it changed meanwhile.
        for _ in 0..<5 {
            let copy = fileExists(layout.index) ? layout.index : nil
            let source = try snapshot(layout, copying: copy, immutable: true, claim: nil, stamp: stamp)
            let after = IndexFilesStamp(layout)
            if after == stamp || attempts <= 0 { return source }
            stamp = after
            if after.writerOpen { return try openSource(layout, attempts: attempts - 1) }
        }
        throw EventStoreError(.io, "the index \(layout.index) keeps changing while it is read; retry")
    }

    /// An in-memory copy of the index file at `path` (an empty index when there is none or it is
    /// unreadable), with the committed frames it lacks indexed from the log.
    private static func snapshot(
        _ layout: StoreLayout, copying path: String?, immutable: Bool, claim: LogIndex.Frame?, stamp: IndexFilesStamp
    ) throws -> Source {
        let memory = try LogIndex.inMemory(copying: path, immutable: immutable)
        var report = RecoveryReport()
        do {
            _ = try Recovery(layout: layout, index: memory, logger: Logger(label: "hromada.events.reader"), mode: .reader, claimed: claim)
                .run(report: &report)
        } catch let damage as LogDamage {
            throw EventStoreError(.corruption, "\(damage); run `admin verify`, and `admin repair` to move the damaged bytes aside")
        }
        return .snapshot(memory, head: try memory.lastFrame()?.lastPosition ?? 0, stamp: stamp)
    }

    /// The last committed event: position, recordedAt and hash (position 0 when empty).
    public func head() throws -> (position: Int64, recordedAt: Timestamp?, hash: String?) {
        guard let frame = try index.lastFrame() else { return (0, nil, nil) }
        return (
            frame.lastPosition, Timestamp(milliseconds: frame.lastRecordedAt),
            EventCodec.hex(frame.lastHash)
        )
    }

    private func file(segment: Int64) throws -> PosixFile {
        lock.lock()
        defer { lock.unlock() }
        if let f = files[segment] { return f }
        let f = try PosixFile(path: layout.segmentPath(firstPosition: segment), flags: O_RDONLY)
        files[segment] = f
        return f
    }

    /// Reads and checks one indexed frame, returning its decompressed lines.
    func body(of frame: LogIndex.Frame) throws -> [UInt8] {
        let f = try file(segment: frame.segment)
        return try Self.body(of: frame, in: f)
    }

    /// Reads and checks one indexed frame of the segment file `f`: its header must be the one
    /// the index records, its body pass its checksum and decompress.
    static func body(of frame: LogIndex.Frame, in f: PosixFile) throws -> [UInt8] {
        let bytes = try f.read(at: Int(frame.offset), count: Int(frame.length))
        return try bytes.withUnsafeBytes { raw in
            guard raw.count == Int(frame.length), case .header(let h) = FrameHeader.decode(raw),
                h.firstPosition == frame.firstPosition
            else {
                throw EventStoreError(
                    .corruption, "log segment \(f.path) is damaged at offset \(frame.offset), position \(frame.firstPosition): invalid frame header")
            }
            let compressed = UnsafeRawBufferPointer(rebasing: raw[FrameHeader.size...])
            switch FrameBody.decode(compressed, header: h, decompressor: ZstdDecompressor()) {
            case .success(let out):
                return out
            case .failure(.checksum):
                throw EventStoreError(
                    .corruption, "log segment \(f.path) is damaged at offset \(frame.offset), position \(frame.firstPosition): body checksum mismatch")
            case .failure(.decompression):
                throw EventStoreError(
                    .corruption, "log segment \(f.path) at offset \(frame.offset), position \(frame.firstPosition): zstd frame does not decompress")
            }
        }
    }

    /// The hash before the frame that starts at `firstPosition` (nil: the start of the log).
    private func hashBefore(_ firstPosition: Int64) throws -> [UInt8]? {
        guard firstPosition > 1 else { return nil }
        guard let previous = try index.frame(containing: firstPosition - 1) else {
            throw EventStoreError(.corruption, "the index has no frame holding position \(firstPosition - 1)")
        }
        return previous.lastHash
    }

    /// One frame's export lines as far as they have been read and chained: a later read of the
    /// same frame (the next chunk of a rebuild starts inside the frame the last one stopped in)
    /// goes on from there instead of decompressing and hashing the frame again.
    private final class FrameLines {
        let frame: LogIndex.Frame
        let previous: [UInt8]?
        let body: [UInt8]
        /// The next unread byte of `body`, the position of the line there, the hash before it.
        var offset = 0
        var position: Int64
        var digest: [UInt8]?
        /// The export lines read so far, end to end; `ends[k]` is where line k ends.
        var exported: [UInt8] = []
        var ends: [Int] = []
        /// Every line is read and the last hash matched the frame header's.
        var complete = false

        init(frame: LogIndex.Frame, previous: [UInt8]?, body: [UInt8]) {
            self.frame = frame
            self.previous = previous
            self.body = body
            self.position = frame.firstPosition
            self.digest = previous
            exported.reserveCapacity(body.count + Int(frame.count) * 76)
            ends.reserveCapacity(Int(frame.count))
        }
    }

    /// The frame last read (taken out under `lock` while a read uses it).
    private var cachedLines: FrameLines?

    private func takeLines(of frame: LogIndex.Frame, previous: [UInt8]?) -> FrameLines? {
        lock.lock()
        defer { lock.unlock() }
        guard let c = cachedLines, c.frame == frame, c.previous == previous else { return nil }
        cachedLines = nil
        return c
    }

    private func keepLines(_ lines: FrameLines) {
        lock.lock()
        cachedLines = lines
        lock.unlock()
    }

    /// The export lines (stored line with its hash) of one frame from position `from` on,
    /// checked against the header's last hash; false when `body` stopped them.
    func exportLines(
        of frame: LogIndex.Frame, previous: [UInt8]?, from: Int64 = 0, _ body: (Int64, UnsafeBufferPointer<UInt8>) throws -> Bool
    ) throws -> Bool {
        let cursor = try takeLines(of: frame, previous: previous) ?? FrameLines(frame: frame, previous: previous, body: self.body(of: frame))
        // lines already chained
        var k = max(0, Int(from - frame.firstPosition))
        while k < cursor.ends.count {
            let start = k == 0 ? 0 : cursor.ends[k - 1]
            let keepGoing = try cursor.exported.withUnsafeBufferPointer { all in
                try body(frame.firstPosition + Int64(k), UnsafeBufferPointer(rebasing: all[start..<cursor.ends[k]]))
            }
            k += 1
            if !keepGoing {
                keepLines(cursor)
                return false
            }
        }
        if cursor.complete {
            keepLines(cursor)
            return true
        }
        // the rest of the frame
        do {
            var prefix: [UInt8] = []
            try cursor.body.withUnsafeBufferPointer { buffer in
                while cursor.offset < buffer.count {
                    let end = try ChainCheck.nextLine(buffer, from: cursor.offset, position: cursor.position, prefix: &prefix)
                    let line = UnsafeBufferPointer(rebasing: buffer[cursor.offset..<end])
                    let digest = EventCodec.chainHash(previous: cursor.digest, content: line)
                    let start = cursor.exported.count
                    EventCodec.appendExportLine(stored: line, hash: digest, into: &cursor.exported)
                    cursor.ends.append(cursor.exported.count)
                    cursor.digest = digest
                    cursor.offset = end + 1
                    let position = cursor.position
                    cursor.position += 1
                    if position >= from {
                        let keepGoing = try cursor.exported.withUnsafeBufferPointer { all in
                            try body(position, UnsafeBufferPointer(rebasing: all[start..<all.count]))
                        }
                        if !keepGoing {
                            keepLines(cursor)
                            throw Stop()
                        }
                    }
                }
            }
            let seen = cursor.ends.count
            guard seen == Int(frame.count) else {
                throw ChainCheck.Failure(position: cursor.position, reason: "the frame header says \(frame.count) events, the body holds \(seen)")
            }
            guard cursor.digest == frame.lastHash else {
                throw EventStoreError(
                    .corruption,
                    "log segment \(layout.segmentPath(firstPosition: frame.segment)) at offset \(frame.offset), position \(frame.firstPosition): hash chain broken (run `admin verify`)")
            }
        } catch is Stop {
            return false
        } catch let failure as ChainCheck.Failure {
            throw EventStoreError(
                .corruption,
                "log segment \(layout.segmentPath(firstPosition: frame.segment)) at offset \(frame.offset), position \(failure.position): \(failure.reason)")
        }
        cursor.complete = true
        keepLines(cursor)
        return true
    }

    private struct Stop: Error {}

    /// Calls `body` with each export line (the stored line with its hash, no newline) from
    /// `position` on, in order, until it returns false or `through` is passed.
    public func forEachLine(
        from position: Int64 = 1, through last: Int64 = .max,
        _ body: (_ position: Int64, _ line: UnsafeBufferPointer<UInt8>) throws -> Bool
    ) throws {
        var next = max(position, 1)
        var previous: [UInt8]?? = .none
        while next <= last {
            let frames = try index.frames(from: next, limit: 64).filter { $0.lastPosition >= next }
            if frames.isEmpty { return }
            for frame in frames {
                let before: [UInt8]?
                if case .some(let known) = previous { before = known } else { before = try hashBefore(frame.firstPosition) }
                var stop = false
                _ = try exportLines(of: frame, previous: before, from: next) { p, line in
                    if p > last { stop = true; return false }
                    if try !body(p, line) { stop = true; return false }
                    return true
                }
                if stop { return }
                previous = .some(frame.lastHash)
                next = frame.lastPosition + 1
                if next > last { return }
            }
        }
    }

    /// Up to `limit` events after `position`.
    public func events(after position: Int64, limit: Int) throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        out.reserveCapacity(min(limit, 4096))
        try forEach(from: position + 1) { e in
            out.append(e)
            return out.count < limit
        }
        return out
    }

    /// The event at `position`, if the log has it.
    public func event(at position: Int64) throws -> RecordedEvent? {
        try events(after: position - 1, limit: 1).first.flatMap { $0.position == position ? $0 : nil }
    }

    /// The events of one stream from `fromVersion`, in order.
    public func stream(_ name: String, fromVersion: Int64 = 0) throws -> [RecordedEvent] {
        let positions = try index.positions(stream: name, fromVersion: fromVersion)
        var out: [RecordedEvent] = []
        var cachedFrame: LogIndex.Frame?
        var lineTable: [[UInt8]] = []
        for p in positions {
            if cachedFrame == nil || p > cachedFrame!.lastPosition || p < cachedFrame!.firstPosition {
                guard let frame = try index.frame(containing: p) else { break }
                cachedFrame = frame
                lineTable.removeAll(keepingCapacity: true)
                _ = try exportLines(of: frame, previous: try hashBefore(frame.firstPosition)) { _, line in
                    lineTable.append(Array(line))
                    return true
                }
            }
            let line = lineTable[Int(p - cachedFrame!.firstPosition)]
            let event = try line.withUnsafeBufferPointer { try EventCodec.decodeRecorded(line: $0) }
            // The index is derived and unchecked: what it says of a stream is checked against
            // the lines, so that a damaged index fails loudly instead of mixing streams.
            let expected = out.last.map { $0.version + 1 } ?? max(fromVersion, 0)
            guard event.stream == name, event.version == expected else {
                throw EventStoreError(
                    .corruption,
                    "the index gives position \(p) as version \(expected) of stream \(name), but the log holds version \(event.version) of \(event.stream) there; delete index.sqlite and run admin init to rebuild it from the log")
            }
            out.append(event)
        }
        return out
    }

    /// The position of the event with this id: of the positions the index files under its key,
    /// the one whose stored line has this id.
    public func position(of id: UUID) throws -> Int64? {
        for p in try index.candidates(ofID: id) where try event(at: p)?.id == id { return p }
        return nil
    }

    /// The last stream version, or nil when the stream does not exist.
    public func streamVersion(_ name: String) throws -> Int64? { try index.lastVersion(ofStream: name) }

    /// The last position whose recordedAt is at or before `time` (0 when none).
    public func lastPosition(recordedAtOrBefore time: Timestamp) throws -> Int64 {
        guard let frame = try index.lastFrame(recordedAtOrBefore: time.milliseconds) else { return 0 }
        if frame.lastRecordedAt <= time.milliseconds { return frame.lastPosition }
        var result = frame.firstPosition - 1
        try forEach(from: frame.firstPosition, through: frame.lastPosition) { e in
            if e.recordedAt <= time { result = e.position; return true }
            return false
        }
        return result
    }

    /// The hash of the event at `position` (lowercase hex), or nil.
    public func hash(at position: Int64) throws -> String? {
        guard position >= 1 else { return nil }
        if let frame = try index.frame(containing: position), frame.lastPosition == position {
            return EventCodec.hex(frame.lastHash)
        }
        return try event(at: position)?.hash
    }

    /// Counts for `admin stats`.
    public struct Stats: Sendable, Codable {
        public var events: Int64
        public var streams: Int64
        public var frames: Int64
        public var segments: Int
        public var logBytes: Int64
        public var indexBytes: Int64
        public var uncompressedBytes: Int64
        public var headPosition: Int64
        public var headRecordedAt: String?
        public var headHash: String?
    }

    public func stats() throws -> Stats {
        let counts = try index.counts()
        let segments = try layout.segments()
        var logBytes: Int64 = 0
        for s in segments { logBytes += Int64((try? PosixFile(path: s.path, flags: O_RDONLY).size) ?? 0) }
        // stat(2), never open(2): closing a descriptor of a file ends every POSIX lock this
        // process holds on it, SQLite's too (a writer closing elsewhere would then take this
        // process's live index for unused and remove its `-wal` and `-shm` files).
        var indexBytes: Int64 = 0
        for suffix in ["", "-wal", "-shm"] {
            var info = stat()
            if stat(layout.index + suffix, &info) == 0 { indexBytes += Int64(info.st_size) }
        }
        let head = try head()
        return Stats(
            events: counts.events, streams: counts.streams, frames: counts.frames, segments: segments.count,
            logBytes: logBytes, indexBytes: indexBytes, uncompressedBytes: counts.rawBytes, headPosition: head.position,
            headRecordedAt: head.recordedAt?.rfc3339, headHash: head.hash)
    }
}

/// A file held open to learn whether it is still the one at its path: while the descriptor is
/// open its inode cannot be reused, so a file put in its place has another inode. (Only for the
/// `-wal` file, on which SQLite takes no lock: closing it ends none.)
final class HeldFile: Sendable {
    let path: String
    private let fd: Int32
    private let inode: UInt

    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            return nil
        }
        self.path = path
        self.fd = fd
        inode = UInt(info.st_ino)
    }

    deinit { close(fd) }

    /// Whether the file is still linked at its path (not removed, not replaced).
    var isCurrent: Bool {
        var held = stat()
        var named = stat()
        guard fstat(fd, &held) == 0, held.st_nlink > 0, stat(path, &named) == 0 else { return false }
        return UInt(named.st_ino) == inode && named.st_dev == held.st_dev
    }
}

/// The identity of the index files (inode, size and modification time of `index.sqlite` and of
/// its `-wal` file; whether a writer's `-wal` and `-shm` files exist): a reader's snapshot is
/// taken again when it changes.
struct IndexFilesStamp: Equatable {
    var index: [Int64]
    var wal: [Int64]
    var writerOpen: Bool

    init(_ layout: StoreLayout) {
        index = Self.identity(layout.index)
        wal = Self.identity(layout.index + "-wal")
        writerOpen = !wal.isEmpty && fileExists(layout.index + "-shm")
    }

    private static func identity(_ path: String) -> [Int64] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int64(info.st_ino), Int64(info.st_size), Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec)]
    }
}
