import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

import Events
import Projections
import Workers
import TestSupport

/// An event source that counts its batches and, from batch `holdAt` on, holds each read until
/// the test opens the gate: the test decides what happens while a batch is in flight.
final class GatedSource: EventSource {
    let inner: InMemoryEventSource
    let holdAt: Int
    let batches = Mutex(0)
    let gate = DispatchSemaphore(value: 0)

    init(_ events: [RecordedEvent], holdAt: Int) {
        inner = InMemoryEventSource(events: events)
        self.holdAt = holdAt
    }

    func events(after position: Int64, limit: Int) throws -> [RecordedEvent] {
        let n = batches.withLock { b -> Int in
            b += 1
            return b
        }
        if n == holdAt { gate.wait() }
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
        let fixture = try HistoryFixture(lines: try Sample.lines())
        let events = fixture.events
        let source = GatedSource(events, holdAt: 6)
        let path = fixture.root + "/worker.sqlite"
        let store = try ProjectionStore(path: path, logger: quietLogger())
        let watcher = LogWatcher(layout: fixture.layout, pollInterval: .seconds(5))
        let worker = ProjectionWorker(
            projections: store, source: source, watcher: watcher, batchSize: 10, logger: quietLogger())
        let group = ServiceGroup(services: [worker], logger: quietLogger())
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Batch 6 is being read: ask for a graceful shutdown, wait until the worker has it,
            // then let the batch through. The worker applies it and stops before the next one.
            while source.batches.withLock({ $0 }) < 6 { try await Task.sleep(for: .milliseconds(5)) }
            await group.triggerGracefulShutdown()
            while !worker.stopRequested { try await Task.sleep(for: .milliseconds(5)) }
            source.gate.signal()
            try await tasks.waitForAll()
        }
        let checkpoints = try store.status().map(\.checkpoint.position)
        // Stopped between batches: the held batch (positions 51-60) applied, nothing after it.
        #expect(checkpoints == Array(repeating: 60, count: StandardProjections.all.count), "\(checkpoints)")
        #expect(source.batches.withLock { $0 } == 6)
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
