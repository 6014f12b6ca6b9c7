import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

import Events
import Projections
import Workers

/// An event source that takes its time over every batch (a slow disk), counting the batches.
final class SlowSource: EventSource {
    let inner: InMemoryEventSource
    let delay: useconds_t
    let batches = Mutex(0)

    init(_ events: [RecordedEvent], delay: useconds_t) {
        inner = InMemoryEventSource(events: events)
        self.delay = delay
    }

    func events(after position: Int64, limit: Int) throws -> [RecordedEvent] {
        usleep(delay)
        batches.withLock { $0 += 1 }
        return try inner.events(after: position, limit: limit)
    }

    func head() throws -> (position: Int64, recordedAt: Timestamp?) { try inner.head() }
}

/// The projection worker (issue 8, item 6): its SQLite work runs off Swift's cooperative pool,
/// a graceful shutdown is seen between batches, and what it applied is applied exactly once.
@Suite struct ProjectionWorkerTests {
    func quietLogger() -> Logger {
        var logger = Logger(label: "worker-tests")
        logger.logLevel = .critical
        return logger
    }

    @Test func aShutdownDuringALongCatchUpStopsBetweenBatchesAndAnotherWorkerFinishesExactlyOnce() async throws {
        let fixture = try HistoryFixture(lines: try SnapshotTestPaths.sampleLines())
        let events = fixture.events
        let source = SlowSource(events, delay: 20_000)
        let path = fixture.root + "/worker.sqlite"
        let store = try ProjectionStore(path: path, logger: quietLogger())
        let watcher = LogWatcher(layout: fixture.layout, pollInterval: .seconds(5))
        let worker = ProjectionWorker(
            projections: store, source: source, watcher: watcher, batchSize: 10, logger: quietLogger())
        let group = ServiceGroup(services: [worker], logger: quietLogger())
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Let a few batches through, then ask for a graceful shutdown.
            while source.batches.withLock({ $0 }) < 5 { try await Task.sleep(for: .milliseconds(5)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let checkpoints = try store.status().map(\.checkpoint.position)
        // Stopped part-way (between batches), not after the whole catch-up.
        #expect(checkpoints.allSatisfy { $0 > 0 && $0 < Int64(events.count) }, "\(checkpoints)")
        try store.close()

        // Another worker on the same file finishes; the result equals a one-pass fold.
        let again = try ProjectionStore(path: path, logger: quietLogger())
        try again.catchUp(source: InMemoryEventSource(events: events))
        let reference = try ProjectionStore(path: fixture.root + "/reference.sqlite", logger: quietLogger())
        try reference.catchUp(source: InMemoryEventSource(events: events))
        for (a, b) in zip(try again.status(), try reference.status()) {
            #expect(a.checkpoint.position == b.checkpoint.position)
        }
        #expect(try again.regions() == reference.regions())
        #expect(try again.network() == reference.network())
        #expect(try again.seminars() == reference.seminars())
        try again.close()
        try reference.close()
    }

    @Test func theBlockingLaneRunsJobsInOrderOffThePoolAndRefusesWorkAfterStop() async throws {
        let lane = BlockingLane(label: "lane-test")
        let order = Mutex<[Int]>([])
        var threads: Set<UInt> = []
        var names: Set<String> = []
        for i in 0..<20 {
            let (thread, name) = try await lane.run { () -> (UInt, String) in
                order.withLock { $0.append(i) }
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                return (UInt(pthread_self()), comm.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            threads.insert(thread)
            names.insert(name)
        }
        #expect(order.withLock { $0 } == Array(0..<20))
        #expect(threads.count == 1, "every job on the lane's one thread")
        #expect(names == ["lane-test"], "the lane's own thread, not one of the pool's")
        lane.stop()
        await #expect(throws: CancellationError.self) { try await lane.run { 1 } }
    }
}
