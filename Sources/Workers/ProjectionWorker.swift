import Events
import Foundation
import Logging
import Metrics
import Projections
import ServiceLifecycle
import Synchronization

/// Runs every projection as a service: catches up from the checkpoints in large transactions,
/// then follows the log, waking on each change. A failing projection is retried with backoff
/// while the others go on; a projection whose schema version is stale is rebuilt beside the live
/// one, which keeps answering queries.
///
/// The SQLite work blocks, so it runs on a thread of its own (``BlockingLane``), never on
/// Swift's cooperative pool, where it would starve other tasks and delay shutdown. A graceful
/// shutdown is seen between batches: the current batch commits (with its checkpoint) and the
/// worker stops. The clock is injected, so tests drive the backoff without waiting.
public final class ProjectionWorker<C: Clock>: Service, Sendable where C.Duration == Duration {
    public let projections: ProjectionStore
    public let source: any EventSource
    public let watcher: LogWatcher
    let logger: Logger
    let batchSize: Int
    let snapshotter: (any WorkerHook)?
    let clock: C
    let lane = BlockingLane(label: "hromada.workers.sqlite")
    let stopping = Mutex(false)
    /// Set when the follow loop has ended (no read can be in progress any more).
    let finished = Mutex(false)
    /// How long a graceful shutdown waits for a read in progress before ending it.
    static var interruptAfterSeconds: Double { 2 }

    /// - Parameters:
    ///   - hook: called after each round that moved the checkpoints (snapshots every N events).
    ///   - clock: the clock of the backoff (retry delays) and of the waits between retries.
    public init(
        projections: ProjectionStore, source: any EventSource, watcher: LogWatcher, batchSize: Int = 20_000,
        hook: (any WorkerHook)? = nil, clock: C, logger: Logger = Logger(label: "hromada.workers")
    ) {
        self.projections = projections
        self.source = source
        self.watcher = watcher
        self.batchSize = batchSize
        self.snapshotter = hook
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        let start = clock.now
        let clock = self.clock
        let now: @Sendable () -> Double = {
            let d = start.duration(to: clock.now)
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        var machine = WorkerStateMachine(projections: projections.projections.map(\.name))
        logger.info("projection workers started", metadata: ["projections": "\(projections.projections.map(\.name))"])
        await withGracefulShutdownHandler {
            for await _ in watcher.changes().cancelOnGracefulShutdown() {
                await round(&machine, now: now)
                if isStopping { break }
            }
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
            self.watcher.stop()
            // The batch being applied commits (with its checkpoint) and the worker stops. A read
            // that waits on a cut network would hold the shutdown for as long as the cut lasts:
            // after a grace period it is ended (its batch is then rolled back, whole).
            Thread.detachNewThread { [self] in
                Thread.sleep(forTimeInterval: Self.interruptAfterSeconds)
                if !finished.withLock({ $0 }) { source.interrupt() }
            }
        }
        finished.withLock { $0 = true }
        lane.stop()
        logger.info("projection workers stopped")
    }

    /// Whether a shutdown was asked for (gracefully or by cancelling the task).
    var isStopping: Bool { stopRequested || Task.isCancelled || Task.isShuttingDownGracefully }

    /// Whether a graceful shutdown reached the worker: it stops after the batch it applies.
    public var stopRequested: Bool { stopping.withLock { $0 } }

    /// Runs actions until there is nothing to do but wait for the next change.
    func round(_ machine: inout WorkerStateMachine, now: @Sendable () -> Double) async {
        var guardRounds = 0
        let store = projections
        let source = self.source
        let batchSize = self.batchSize
        let cancelled: @Sendable () -> Bool = { [self] in stopping.withLock { $0 } }
        while guardRounds < 100, !isStopping {
            guardRounds += 1
            let statuses = (try? await lane.run { try store.status() }) ?? []
            let stale = Set(statuses.filter { $0.storedSchemaVersion != $0.codeSchemaVersion }.map(\.name))
            switch machine.next(now: now(), stale: stale) {
            case .rebuild(let names):
                do {
                    logger.notice("rebuilding stale projections beside the live ones", metadata: ["projections": "\(names)"])
                    let progress = names.map { Gauge(label: WorkerMetrics.rebuildPosition, dimensions: [("projection", $0)]) }
                    _ = try await lane.run {
                        try store.rebuild(
                            projections: names, source: source, batchSize: batchSize,
                            progress: { position in for g in progress { g.record(position) } }, isCancelled: cancelled)
                    }
                    for g in progress { g.record(0) }
                    for n in names { machine.succeeded(n) }
                } catch let e as ProjectionError where e.code == .cancelled {
                    return
                } catch {
                    fail(&machine, error, candidates: names, now: now())
                }
            case .catchUp(let names):
                do {
                    let hook = snapshotter
                    let report = try await lane.run {
                        try store.catchUp(source: source, projections: names, batchSize: batchSize, isCancelled: cancelled)
                    }
                    for n in names { machine.succeeded(n) }
                    WorkerMetrics.applied(before: statuses, after: report.checkpoints)
                    if report.eventsRead > 0, !isStopping {
                        try? await lane.run { try hook?.caughtUp(projections: store, source: source) }
                    }
                    return
                } catch {
                    fail(&machine, error, candidates: names, now: now())
                }
            case .wait(let until):
                guard let until else { return }
                let delay = max(0, until - now())
                if delay > 1 { return }  // the watcher's poll wakes the loop again
                try? await clock.sleep(for: .milliseconds(Int(delay * 1000) + 1))
            }
        }
    }

    private func fail(_ machine: inout WorkerStateMachine, _ error: any Error, candidates: [String], now: Double) {
        let name = (error as? ProjectionError)?.projection ?? candidates.first!
        let delay = machine.failed(name, error: "\(error)", now: now)
        logger.error(
            "projection failed; retrying with backoff",
            metadata: [
                "projection.name": "\(name)",
                "event.position": "\((error as? ProjectionError)?.position.map(String.init) ?? "-")",
                "error": "\(error)", "retry.seconds": "\(delay)",
            ])
    }
}

/// Something the worker calls after a round that applied events (for example, taking a
/// snapshot every N events or T minutes).
public protocol WorkerHook: Sendable {
    func caughtUp(projections: ProjectionStore, source: any EventSource) throws
}

extension ProjectionWorker where C == ContinuousClock {
    /// A worker on the continuous clock.
    public convenience init(
        projections: ProjectionStore, source: any EventSource, watcher: LogWatcher, batchSize: Int = 20_000,
        hook: (any WorkerHook)? = nil, logger: Logger = Logger(label: "hromada.workers")
    ) {
        self.init(
            projections: projections, source: source, watcher: watcher, batchSize: batchSize, hook: hook,
            clock: ContinuousClock(), logger: logger)
    }
}

/// A thread of its own for blocking work (SQLite), fed one job at a time, so that the caller's
/// task suspends instead of blocking a thread of Swift's cooperative pool.
public final class BlockingLane: Sendable {
    private let jobs = Mutex<(queue: [@Sendable () -> Void], stopped: Bool)>(([], false))
    private let signal = DispatchSemaphore(value: 0)

    public init(label: String) {
        OSThread.start(name: label) { [self] in loop() }
    }

    /// Runs `work` on the lane's thread and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = jobs.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.queue.append { continuation.resume(with: Result { try work() }) }
                return true
            }
            if accepted {
                signal.signal()
            } else {
                continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Lets the jobs already queued finish, then ends the thread; later jobs are refused.
    public func stop() {
        jobs.withLock { $0.stopped = true }
        signal.signal()
    }

    private func loop() {
        while true {
            signal.wait()
            let (job, done) = jobs.withLock { state -> ((@Sendable () -> Void)?, Bool) in
                if state.queue.isEmpty { return (nil, state.stopped) }
                return (state.queue.removeFirst(), false)
            }
            if let job { job() } else if done { return }
        }
    }
}

/// A POSIX thread of its own, with its kernel name set (Foundation's `Thread.name` does not set
/// it on Linux, where a new thread inherits its creator's name), for `top -H` and debuggers.
enum OSThread {
    private final class Body {
        let name: String
        let run: () -> Void
        init(name: String, run: @escaping () -> Void) {
            self.name = name
            self.run = run
        }
    }

    static func start(name: String, _ run: @escaping @Sendable () -> Void) {
        let body = Unmanaged.passRetained(Body(name: name, run: run)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { raw in
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                // The kernel's name of this thread (15 bytes at most).
                try? String(body.name.utf8.prefix(15))!.write(
                    toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
                body.run()
                return nil
            }, body)
        precondition(status == 0, "cannot start a thread: \(String(cString: strerror(status)))")
        pthread_detach(thread)
    }
}

/// What the workers record through swift-metrics (exported by `admin serve` at `/metrics`).
enum WorkerMetrics {
    static let eventsApplied = "hromada_projection_events_applied_total"
    /// The position a rebuild has reached (0 when none runs).
    static let rebuildPosition = "hromada_projection_rebuild_position"

    /// Counts the events each projection applied in a catch-up: how far its checkpoint moved.
    static func applied(before: [ProjectionStatus], after: [String: AsOf]) {
        for s in before {
            guard let now = after[s.name]?.position, now > s.checkpoint.position else { continue }
            Counter(label: eventsApplied, dimensions: [("projection", s.name)]).increment(by: Int(now - s.checkpoint.position))
        }
    }
}
