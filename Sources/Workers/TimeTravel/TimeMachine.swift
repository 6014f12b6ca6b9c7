import Events
import Foundation
import Logging
import Projections

/// Rebuilds the read models as they stood at a past log position, in a scratch folder, never
/// touching the live ones.
///
/// It starts from the newest usable snapshot at or before the position (the same history, the
/// code's schema versions, intact content), or from nothing, and replays only the events after
/// it up to the position. A snapshot that turns out damaged is skipped for the next older one;
/// the answer still comes, by replay if need be.
///
///     let machine = TimeMachine(reader: reader, snapshots: SnapshotStore(directory: "snapshots"))
///     let past = try machine.state(at: try machine.position(at: t))
///     defer { past.discard() }
///     let board = try past.store.leaderboard(competitionId: "2020", themeCode: "A")
public struct TimeMachine: Sendable {
    public let reader: any LogReading
    /// Where snapshots are looked for; nil replays from the start.
    public let snapshots: SnapshotStore?
    /// The read models it can rebuild, with the code's schema versions.
    public let projections: [any Projection]
    /// The parent of scratch folders (default: the system's temporary folder).
    public let scratchParent: String
    public let batchSize: Int
    let logger: Logger

    public init(
        reader: any LogReading, snapshots: SnapshotStore?, projections: [any Projection] = StandardProjections.all,
        scratchParent: String? = nil, batchSize: Int = 20_000, logger: Logger = Logger(label: "hromada.timetravel")
    ) {
        self.reader = reader
        self.snapshots = snapshots
        self.projections = projections
        self.scratchParent = scratchParent ?? FileManager.default.temporaryDirectory.path
        self.batchSize = batchSize
        self.logger = logger
    }

    /// The last position recorded at or before `time` (0 when none): what "as of `time`" means.
    public func position(at time: Timestamp) throws -> Int64 {
        try reader.lastPosition(recordedAtOrBefore: time)
    }

    /// The read models as of `position` (clamped to the log's head), in a fresh scratch folder.
    ///
    /// - Parameters:
    ///   - position: the last event the state reflects; 0 is the empty state.
    ///   - names: the projections needed (nil: all); only those are restored and replayed.
    ///   - useSnapshots: false replays from the start even when snapshots exist.
    /// - Returns: the state, open; call ``PastState/discard()`` when done with it.
    /// - Throws: ``SnapshotError`` `.invalidArgument` for a negative position or an unknown
    ///   projection, or the ``ProjectionError`` of a failing replay.
    public func state(at position: Int64, projections names: [String]? = nil, useSnapshots: Bool = true) throws -> PastState {
        guard position >= 0 else { throw SnapshotError(.invalidArgument, "the position must be >= 0, not \(position)") }
        let selected = try select(names)
        let head = try reader.head()
        let target = min(position, head.position)
        let scratch = try ScratchFolders.create(parent: scratchParent, kind: "state")
        do {
            var report = TimeTravelReport(
                position: target, recordedAt: nil, snapshot: nil, snapshotPosition: 0, eventsReplayed: 0,
                skipped: [], projections: selected.map(\.name))
            if target > 0 { report.recordedAt = try reader.event(at: target)?.recordedAt.rfc3339 }
            let dbPath = scratch + "/" + ProjectionStore.fileName
            var store: ProjectionStore?
            if useSnapshots, let snapshots, target > 0 {
                let candidates = try snapshots.list(reader: reader, projections: selected)
                for info in candidates.reversed() {
                    guard let m = info.manifest, m.position <= target else { continue }
                    if let problem = info.problem {
                        report.skipped.append(.init(name: info.name, reason: problem.message))
                        continue
                    }
                    do {
                        store = try open(info, manifest: m, at: dbPath, projections: selected)
                        report.snapshot = info.name
                        report.snapshotPosition = m.position
                        break
                    } catch {
                        let reason = (error as? SnapshotError)?.message ?? "\(error)"
                        report.skipped.append(.init(name: info.name, reason: reason))
                        logger.info(
                            "snapshot skipped", metadata: ["snapshot.name": "\(info.name)", "error": "\(reason)"])
                        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dbPath + suffix) }
                    }
                }
            }
            let past = try store ?? ProjectionStore(path: dbPath, projections: selected, logger: logger, backgroundIndexing: false)
            do {
                let caught = try past.catchUp(
                    source: LogEventSource(reader: reader, upTo: target), projections: selected.map(\.name), upTo: target,
                    batchSize: batchSize)
                report.eventsReplayed = caught.eventsRead
            } catch {
                try? past.close()
                throw error
            }
            logger.debug(
                "state rebuilt",
                metadata: [
                    "event.position": "\(target)", "snapshot.name": "\(report.snapshot ?? "-")",
                    "events.replayed": "\(report.eventsReplayed)",
                ])
            return PastState(store: past, directory: scratch, report: report)
        } catch {
            ScratchFolders.remove(scratch)
            throw error
        }
    }

    func select(_ names: [String]?) throws -> [any Projection] {
        guard let names else { return projections }
        var out: [any Projection] = []
        for name in names where !out.contains(where: { $0.name == name }) {
            guard let p = projections.first(where: { $0.name == name }) else {
                throw SnapshotError(
                    .invalidArgument,
                    "no projection is named \"\(name)\" (known: \(projections.map(\.name).joined(separator: ", ")))")
            }
            out.append(p)
        }
        return out
    }

    /// Decompresses a snapshot (checking its checksums) and opens it, checking that every
    /// projection needed stands at the manifest's position.
    func open(
        _ info: SnapshotStore.Info, manifest m: SnapshotManifest, at path: String, projections: [any Projection]
    ) throws -> ProjectionStore {
        _ = try snapshots!.extract(m, from: info.path, to: path)
        let store = try ProjectionStore(
            path: path, projections: projections, logger: logger, backgroundIndexing: false)
        let statuses: [ProjectionStatus]
        do { statuses = try store.status() } catch {
            try? store.close()
            throw error
        }
        for p in projections {
            guard let s = statuses.first(where: { $0.name == p.name }), !s.isStale, s.checkpoint.position == m.position
            else {
                try? store.close()
                throw SnapshotError(
                    .corrupt, "snapshot \(info.name): projection \(p.name) does not stand at position \(m.position) inside it")
            }
        }
        return store
    }
}

/// The read models as of a past position, open in a scratch folder that the caller discards.
public final class PastState: Sendable {
    /// The rebuilt read models; query them like the live ones.
    public let store: ProjectionStore
    /// The scratch folder holding them.
    public let directory: String
    /// What was used: the snapshot, the events replayed.
    public let report: TimeTravelReport

    init(store: ProjectionStore, directory: String, report: TimeTravelReport) {
        self.store = store
        self.directory = directory
        self.report = report
    }

    /// Closes the store and deletes the scratch folder.
    public func discard() {
        try? store.close()
        ScratchFolders.remove(directory)
    }
}

/// How a past state was rebuilt.
public struct TimeTravelReport: Sendable, Hashable, Codable {
    /// A snapshot passed over, and why.
    public struct Skipped: Sendable, Hashable, Codable {
        public var name: String
        public var reason: String
    }

    /// The last event the state reflects (0: none).
    public var position: Int64
    /// That event's `recordedAt`, RFC 3339 (nil at position 0).
    public var recordedAt: String?
    /// The snapshot started from, or nil (replayed from the start).
    public var snapshot: String?
    /// The snapshot's position (0 without one).
    public var snapshotPosition: Int64
    /// Events replayed after the snapshot, up to `position`.
    public var eventsReplayed: Int
    /// Newer snapshots at or before `position` that could not be used.
    public var skipped: [Skipped]
    /// The projections rebuilt.
    public var projections: [String]
}
