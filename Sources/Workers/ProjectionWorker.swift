import Events
import Foundation
import Logging
import Projections
import ServiceLifecycle

/// Runs every projection as a service: catches up from the checkpoints in large transactions,
/// then follows the log, waking on each change. A failing projection is retried with backoff
/// while the others go on; a projection whose schema version is stale is rebuilt beside the live
/// one, which keeps answering queries.
public final class ProjectionWorker: Service, Sendable {
    public let projections: ProjectionStore
    public let source: any EventSource
    public let watcher: LogWatcher
    let logger: Logger
    let batchSize: Int
    let snapshotter: (any WorkerHook)?
    let clock = ContinuousClock()

    /// - Parameters:
    ///   - hook: called after each round that moved the checkpoints (snapshots every N events).
    public init(
        projections: ProjectionStore, source: any EventSource, watcher: LogWatcher, batchSize: Int = 20_000,
        hook: (any WorkerHook)? = nil, logger: Logger = Logger(label: "hromada.workers")
    ) {
        self.projections = projections
        self.source = source
        self.watcher = watcher
        self.batchSize = batchSize
        self.snapshotter = hook
        self.logger = logger
    }

    public func run() async throws {
        let start = clock.now
        func now() -> Double {
            let d = clock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        var machine = WorkerStateMachine(projections: projections.projections.map(\.name))
        logger.info("projection workers started", metadata: ["projections": "\(projections.projections.map(\.name))"])
        await withGracefulShutdownHandler {
            for await _ in watcher.changes().cancelOnGracefulShutdown() {
                await round(&machine, now: now)
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
            }
        } onGracefulShutdown: {
            self.watcher.stop()
        }
        logger.info("projection workers stopped")
    }

    /// Runs actions until there is nothing to do but wait for the next change.
    func round(_ machine: inout WorkerStateMachine, now: () -> Double) async {
        var guardRounds = 0
        while guardRounds < 100, !Task.isShuttingDownGracefully {
            guardRounds += 1
            let stale = Set(((try? projections.status()) ?? []).filter { $0.storedSchemaVersion != $0.codeSchemaVersion }.map(\.name))
            switch machine.next(now: now(), stale: stale) {
            case .rebuild(let names):
                do {
                    logger.notice("rebuilding stale projections beside the live ones", metadata: ["projections": "\(names)"])
                    _ = try projections.rebuild(projections: names, source: source, batchSize: batchSize)
                    for n in names { machine.succeeded(n) }
                } catch {
                    fail(&machine, error, candidates: names, now: now())
                }
            case .catchUp(let names):
                do {
                    let report = try projections.catchUp(source: source, projections: names, batchSize: batchSize)
                    for n in names { machine.succeeded(n) }
                    if report.eventsRead > 0 { try? snapshotter?.caughtUp(projections: projections, source: source) }
                    return
                } catch {
                    fail(&machine, error, candidates: names, now: now())
                }
            case .wait(let until):
                guard let until else { return }
                let delay = max(0, until - now())
                if delay > 1 { return }  // the watcher's poll wakes the loop again
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000) + 1))
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
