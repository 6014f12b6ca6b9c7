import Foundation
import Synchronization
import Testing
import TestSupport

import Events
import Projections
import Workers

// Helpers of the snapshot and time-travel tests: a store holding the sample history in a fresh
// temporary folder, reference states by full replay, and ways to damage files. (The sample, the
// folders and `Bumped`: the TestSupport target.)

/// A store with a history, in a fresh temporary folder that goes away with it.
final class HistoryFixture {
    private let folder: TemporaryFolder
    var root: String { folder.path }
    /// The store (a folder, or a schema of the tests' PostgreSQL server).
    let store: any BackendStore
    let backend: LogBackend
    /// The folder of a folder store (the tests of inotify and of folder-only damage use it).
    var layout: StoreLayout { store.layout! }
    let reader: any LogReading
    /// Every event of the log, in order.
    let events: [RecordedEvent]
    private var referenceDigests: [Int64: StateDigest] = [:]

    /// Imports `lines` into a new store of `backend` (and a new temporary folder beside it).
    init(lines: [[UInt8]], backend: LogBackend = .file) throws {
        folder = try TemporaryFolder()
        self.backend = backend
        store = try backend.makeStore()
        do {
            let writer = try store.writer()
            defer { writer.close() }
            var iterator = lines.makeIterator()
            _ = try writer.importLines(
                options: EventStore.ImportOptions(), next: { iterator.next() }, ready: { true }, onReject: { _ in },
                onCommit: { _ in })
        }
        reader = try store.reader()
        var all: [RecordedEvent] = []
        try reader.forEach { e in
            all.append(e)
            return true
        }
        events = all
    }

    /// The sample history (or its first `count` lines).
    static func sample(prefix count: Int? = nil, backend: LogBackend = .file) throws -> HistoryFixture {
        let lines = try Sample.lines()
        return try HistoryFixture(lines: count.map { Array(lines.prefix($0)) } ?? lines, backend: backend)
    }

    var head: Int64 { events.last?.position ?? 0 }

    /// The snapshots folder of this fixture.
    func snapshots(now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) -> SnapshotStore {
        SnapshotStore(directory: root + "/snapshots", now: now)
    }

    /// A new, empty projections file under the fixture's folder.
    func freshProjections(_ projections: [any Projection] = StandardProjections.all) throws -> ProjectionStore {
        try ProjectionStore(path: root + "/p-\(UUID().uuidString).sqlite", projections: projections)
    }

    /// The live projections file of the store.
    func liveProjections() throws -> ProjectionStore {
        try ProjectionStore(path: store.layout?.projections ?? root + "/projections.sqlite")
    }

    /// Read models at `position`, built by replaying the log from the first event into a new file.
    func replayed(upTo position: Int64, projections: [any Projection] = StandardProjections.all) throws -> ProjectionStore {
        let store = try freshProjections(projections)
        try store.catchUp(source: LogEventSource(reader: reader, upTo: position), upTo: position)
        return store
    }

    /// The digest of a full replay of the prefix up to `position` (computed once per position).
    func referenceDigest(at position: Int64) throws -> StateDigest {
        if let d = referenceDigests[position] { return d }
        let store = try replayed(upTo: position)
        defer { try? store.close() }
        let d = try StateDigest.compute(store)
        referenceDigests[position] = d
        return d
    }

    /// A snapshot taken at `position` (read models replayed to it in a new file).
    @discardableResult
    func snapshot(at position: Int64, into snapshots: SnapshotStore, projections: [any Projection] = StandardProjections.all)
        throws -> SnapshotStore.Info
    {
        let store = try replayed(upTo: position, projections: projections)
        defer { try? store.close() }
        return try snapshots.create(from: store, source: LogEventSource(reader: reader, upTo: position)).info
    }

    /// Times to travel to: before the first event, between events, exactly at an event's
    /// recordedAt (shared by several events, when the history has such), after the last.
    func interestingTimes() -> [(label: String, time: Timestamp)] {
        var out: [(String, Timestamp)] = []
        let first = events.first!.recordedAt
        out.append(("before the first event", Timestamp(milliseconds: first.milliseconds - 86_400_000)))
        // exactly at a recordedAt that several events share, at a third and two thirds
        for fraction in [3, 2] {
            let i = events.count / fraction
            out.append(("exactly at the recordedAt of position \(events[i].position)", events[i].recordedAt))
        }
        if let shared = zip(events, events.dropFirst()).first(where: { $0.recordedAt == $1.recordedAt && $0.position > 10 }) {
            out.append(("at a recordedAt shared by several events", shared.0.recordedAt))
        }
        // between two events with different times
        for i in [events.count / 5, events.count * 4 / 5] {
            if let gap = zip(events[i...], events[(i + 1)...]).first(where: { $0.recordedAt < $1.recordedAt }) {
                let mid = (gap.0.recordedAt.milliseconds + gap.1.recordedAt.milliseconds) / 2
                out.append(("between positions \(gap.0.position) and \(gap.1.position)", Timestamp(milliseconds: mid)))
            }
        }
        out.append(("exactly at the last event", events.last!.recordedAt))
        out.append(("after the last event", Timestamp(milliseconds: events.last!.recordedAt.milliseconds + 365 * 86_400_000)))
        return out
    }

    /// The last position recorded at or before `time`, counted over the events (the reference).
    func expectedPosition(at time: Timestamp) -> Int64 {
        events.last(where: { $0.recordedAt <= time })?.position ?? 0
    }
}

/// Flips one byte of the file at `path`, at `offset` from its start (or its middle).
func flipByte(in path: String, at offset: Int? = nil) throws {
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let i = offset ?? bytes.count / 2
    bytes[i] ^= 0x40
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now = Mutex<Timestamp>(Timestamp(rfc3339: "2024-01-01T00:00:00Z")!)
    var time: Timestamp { now.withLock { $0 } }
    func advance(minutes: Double) { now.withLock { $0.milliseconds += Int64(minutes * 60_000) } }
    var function: @Sendable () -> Timestamp { { [self] in self.time } }
}
