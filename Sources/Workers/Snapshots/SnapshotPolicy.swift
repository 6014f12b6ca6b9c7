import Events
import Logging
import Projections
import Synchronization

/// A ``WorkerHook`` that takes a snapshot once the read models have moved `everyEvents` events
/// past the last snapshot, or once `everyMinutes` minutes have passed since it with at least one
/// new event; then prunes by `retention`, if given.
///
///     let policy = SnapshotPolicy(snapshots: SnapshotStore(directory: "snapshots"), reader: reader,
///                                 everyEvents: 100_000, everyMinutes: 60, retention: .keep(10))
///     let worker = ProjectionWorker(projections: store, source: source, watcher: watcher, hook: policy)
///
/// The clock is injected, so tests never wait. A failed snapshot is logged and retried at the
/// next round; it never stops the worker.
public final class SnapshotPolicy: WorkerHook {
    public let snapshots: SnapshotStore
    public let reader: any LogReading
    /// Snapshot after this many new events (nil: not by count).
    public let everyEvents: Int64?
    /// Snapshot after this many minutes with new events (nil: not by time).
    public let everyMinutes: Double?
    /// Pruning after each new snapshot (nil: keep all).
    public let retention: SnapshotRetention?
    let now: @Sendable () -> Timestamp
    let logger: Logger
    /// The last snapshot's position and the time it was taken (nil until known).
    private let last = Mutex<(position: Int64, at: Timestamp)?>(nil)

    /// - Parameters:
    ///   - now: the clock that measures `everyMinutes` (default: the system clock).
    public init(
        snapshots: SnapshotStore, reader: any LogReading, everyEvents: Int64? = nil, everyMinutes: Double? = nil,
        retention: SnapshotRetention? = nil, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
        logger: Logger = Logger(label: "hromada.snapshots")
    ) {
        precondition(everyEvents.map { $0 > 0 } ?? true, "everyEvents must be > 0")
        precondition(everyMinutes.map { $0 > 0 } ?? true, "everyMinutes must be > 0")
        self.snapshots = snapshots
        self.reader = reader
        self.everyEvents = everyEvents
        self.everyMinutes = everyMinutes
        self.retention = retention
        self.now = now
        self.logger = logger
    }

    /// Whether a snapshot is due with the read models at `position`, given the last one.
    public func isDue(position: Int64, lastPosition: Int64, lastTakenAt: Timestamp, now: Timestamp) -> Bool {
        guard position > lastPosition else { return false }
        if let everyEvents, position - lastPosition >= everyEvents { return true }
        if let everyMinutes, Double(now.milliseconds - lastTakenAt.milliseconds) >= everyMinutes * 60_000 { return true }
        return false
    }

    public func caughtUp(projections: ProjectionStore, source: any EventSource) throws {
        let position = try projections.status().map(\.checkpoint.position).min() ?? 0
        let current = now()
        let previous = try last.withLock { last in
            if let last { return last }
            // first round: the newest snapshot on disk, taken "now" for the time rule
            let newest = try snapshots.list(reader: nil, projections: projections.projections).last { $0.isUsable }
            let known = (position: newest?.position ?? 0, at: current)
            last = known
            return known
        }
        guard isDue(position: position, lastPosition: previous.position, lastTakenAt: previous.at, now: current) else {
            return
        }
        let logSource = (source as? LogEventSource) ?? LogEventSource(reader: reader)
        do {
            let created = try snapshots.create(from: projections, source: logSource)
            last.withLock { $0 = (created.info.position ?? position, current) }
            if let retention { try snapshots.prune(retention, reader: reader, projections: projections.projections) }
        } catch {
            logger.error("cannot take a snapshot", metadata: ["event.position": "\(position)", "error": "\(error)"])
            throw error
        }
    }
}
