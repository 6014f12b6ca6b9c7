import Foundation
import Logging

/// `admin repair`: takes damage out of the log without deleting a byte of it.
///
/// The damaged bytes and everything after them in the log (from the end of the last good
/// committed frame before the damage) are moved into `<store>/damaged/`: the rest of the
/// segment the damage is in as `<segment file name>-<offset>-<UTC time>.bin` (the segment's
/// first `offset` bytes followed by that file are the segment as it was), every later segment
/// whole as `<segment file name>-0-<UTC time>.bin`. The log then ends at the last good commit;
/// the index is rebuilt from it, and the read models (`projections.sqlite`, which may hold the
/// events taken out) are moved aside too, to be rebuilt by `admin project`.
public struct LogRepair: Sendable {
    public let layout: StoreLayout

    public init(layout: StoreLayout) { self.layout = layout }

    /// What a repair does (or, on a dry run, would do).
    public struct Report: Sendable, Codable {
        /// Whether the files were changed (false for a dry run).
        public var applied: Bool
        /// The damage: segment file, byte offset, position and what is wrong.
        public var segment: String
        public var offset: Int
        public var position: Int64
        public var reason: String
        /// The log's head once repaired: the last good committed position before the damage.
        public var keptHead: Int64
        /// The positions taken out of the log (first...last and their count); `lostLast` is nil
        /// when no valid frame header after the damage says how far the log went.
        public var lostFirst: Int64
        public var lostLast: Int64?
        public var lostCount: Int64?
        /// Bytes moved out of the log, and where to.
        public var movedBytes: Int
        public var movedTo: [String]
        /// The read models moved aside (they are rebuilt by `admin project`), if any.
        public var projectionsMovedTo: String?
    }

    /// The first damage in the log (every frame's checksums, decompression, positions and the
    /// hash chain, against what the index recorded as committed); nil when the log is whole. A
    /// torn tail is not damage (the next writer cuts it).
    public func inspect() throws -> LogDamage? {
        try layout.requireStore()
        let claimed = try LogIndex.inMemory(copying: fileExists(layout.index) ? layout.index : nil, immutable: true).lastFrame()
        let scratch = try LogIndex.inMemory(copying: nil, immutable: true)
        var report = RecoveryReport()
        do {
            _ = try Recovery(layout: layout, index: scratch, logger: Logger(label: "hromada.events.repair"), mode: .inspect, claimed: claimed)
                .run(report: &report)
            return nil
        } catch let damage as LogDamage {
            return damage
        }
    }

    /// What a repair would do; nil when there is nothing to repair. Changes nothing.
    public func plan() throws -> Report? {
        guard let damage = try inspect() else { return nil }
        return report(for: damage, applied: false, moves: try plannedMoves(damage))
    }

    /// Repairs the log (see the type's documentation) holding the writer's lock; nil when there
    /// is nothing to repair.
    /// - Throws: ``EventStoreError`` `.locked` when another process writes (unless `wait`), `.io`.
    public func repair(wait: Bool = false, options: EventStoreOptions = EventStoreOptions()) throws -> Report? {
        try layout.requireStore()
        let lock = try WriterLock(path: layout.lock, wait: wait, store: layout.root)
        guard let damage = try inspect() else { return nil }
        let moves = try plannedMoves(damage)
        try makeDirectory(damagedDirectory)
        for move in moves { try perform(move) }
        try PosixFile.syncDirectory(damagedDirectory)
        try PosixFile.syncDirectory(layout.logDirectory)
        let projections = try moveProjectionsAside()
        for suffix in ["", "-wal", "-shm"] { unlink(layout.index + suffix) }
        let store = try EventStore(layout: layout, options: options, lock: lock)
        store.close()
        var result = report(for: damage, applied: true, moves: moves)
        result.projectionsMovedTo = projections
        return result
    }

    // MARK: the moves

    var damagedDirectory: String { layout.root + "/damaged" }

    /// One part of the log moved aside: the bytes of `source` from `offset` on (a whole file,
    /// renamed, when `offset` is 0).
    struct Move {
        var source: String
        var offset: Int
        var bytes: Int
        var target: String
    }

    private func plannedMoves(_ damage: LogDamage) throws -> [Move] {
        let segments = try layout.segments()
        let stamp = Self.stamp()
        var moves: [Move] = []
        for (k, seg) in segments.enumerated() where k >= damage.cutSegment {
            let size = try PosixFile(path: seg.path, flags: O_RDONLY).size
            let whole = k > damage.cutSegment || damage.cutOffset <= SegmentHeader.size
            let offset = whole ? 0 : damage.cutOffset
            guard size > offset else { continue }
            let name = (seg.path as NSString).lastPathComponent
            moves.append(Move(source: seg.path, offset: offset, bytes: size - offset, target: "\(damagedDirectory)/\(name)-\(offset)-\(stamp).bin"))
        }
        return moves
    }

    private func perform(_ move: Move) throws {
        guard !fileExists(move.target) else { throw EventStoreError(.io, "\(move.target) exists already; retry in a second") }
        if move.offset == 0 {
            try PosixFile.rename(move.source, to: move.target, failure: "cannot move \(move.source) to \(move.target)")
            return
        }
        let source = try PosixFile(path: move.source, flags: O_RDWR)
        let target = try PosixFile(path: move.target, flags: O_WRONLY | O_CREAT | O_EXCL)
        var at = move.offset
        while at < move.offset + move.bytes {
            let chunk = try source.read(at: at, count: min(1 << 20, move.offset + move.bytes - at))
            guard !chunk.isEmpty else { break }
            try chunk.withUnsafeBytes { try target.write($0, at: at - move.offset) }
            at += chunk.count
        }
        try target.sync()
        try PosixFile.syncDirectory(damagedDirectory)
        try source.truncate(to: move.offset)
        try source.sync()
    }

    /// Moves `projections.sqlite` (and its `-wal`/`-shm`) into the damaged folder: it may hold
    /// events the repair took out of the log.
    private func moveProjectionsAside() throws -> String? {
        guard fileExists(layout.projections) else { return nil }
        let target = "\(damagedDirectory)/projections-\(Self.stamp()).sqlite"
        for suffix in ["", "-wal", "-shm"] where fileExists(layout.projections + suffix) {
            try PosixFile.rename(layout.projections + suffix, to: target + suffix, failure: "cannot move \(layout.projections + suffix) aside")
        }
        try PosixFile.syncDirectory(layout.root)
        return target
    }

    private func report(for damage: LogDamage, applied: Bool, moves: [Move]) -> Report {
        let lostFirst = damage.committedHead + 1
        let lostLast = damage.affected?.upperBound
        return Report(
            applied: applied, segment: damage.segment, offset: damage.offset, position: damage.position, reason: damage.reason,
            keptHead: damage.committedHead, lostFirst: lostFirst, lostLast: lostLast, lostCount: lostLast.map { $0 - lostFirst + 1 },
            movedBytes: moves.reduce(0) { $0 + $1.bytes }, movedTo: moves.map(\.target), projectionsMovedTo: nil)
    }

    /// The UTC time in file names: `20261204T183000Z`.
    static func stamp() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: Date())
    }
}
