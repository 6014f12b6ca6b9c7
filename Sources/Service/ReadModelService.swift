import Events
import Foundation
import Projections
import Rendering
import Workers

/// The read models as the web service answers them: the live ones (opened once) or, with
/// `at=`, the state as of a point in the past built by the ``TimeMachine``. Every answer is the
/// string ``JSONOutput`` prints for the same value as `admin query … --json`.
///
/// SQLite blocks, so every call runs on a ``BlockingLane`` (threads of their own), never on
/// the NIO event loops or Swift's cooperative pool. Time travel replays events and can take a
/// while: it has lanes of its own, so that it never queues the live answers behind it.
public final class ReadModelService: Sendable {
    public let projections: ProjectionStore
    public let reader: any LogReading
    public let snapshots: String
    let liveLanes: [BlockingLane]
    let travelLanes: [BlockingLane]
    /// Where each live request reads the version of the rows and looks its answer up.
    let versionLane = BlockingLane(label: "hromada.serve.versions")
    let next = LaneCounter()
    let cache = AnswerCache()
    let asOfSpelling = AsOfSpelling()

    public init(projections: ProjectionStore, reader: any LogReading, snapshots: String, lanes: Int = 2) {
        self.projections = projections
        self.reader = reader
        self.snapshots = snapshots
        liveLanes = (0..<max(1, lanes)).map { BlockingLane(label: "hromada.serve.sqlite-\($0)") }
        travelLanes = (0..<max(1, lanes)).map { BlockingLane(label: "hromada.serve.travel-\($0)") }
    }

    /// Lets the queued jobs finish and ends the lanes' threads.
    public func stop() {
        for lane in liveLanes + travelLanes + [versionLane] { lane.stop() }
    }

    /// Runs blocking `work` on a live lane.
    public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await liveLanes[next.take() % liveLanes.count].run(work)
    }

    /// Runs `body` on the live read models (refusing one a replay check found different from the
    /// log), or on the state as of `at`; returns its JSON as `--json` prints it (no newline).
    ///
    /// With a `request` key (the path and its parameters), an answer already built for the same
    /// request and the same state of the read models is returned as it is (``AnswerCache``).
    public func answer(
        at: TimePoint?, projections names: [String], request: String? = nil,
        _ body: @escaping @Sendable (ProjectionStore) throws -> String
    ) async throws -> String {
        let cache = self.cache
        if let at {
            let reader = self.reader
            let snapshots = self.snapshots
            return try await travelLanes[next.take() % travelLanes.count].run {
                let position = try at.position(in: reader)
                // The state as of a position below the head never changes.
                let key = request.map { AnswerCache.Key(request: $0, version: "position:\(position)") }
                if let key, let hit = cache.lookup(key) { return hit.render(asOf: "") }
                let machine = TimeMachine(reader: reader, snapshots: SnapshotStore(directory: snapshots))
                let past = try machine.state(at: position, projections: names)
                defer { past.discard() }
                let answer = try body(past.store)
                if let key { cache.store(AnswerCache.Template(fixed: answer), under: key) }
                return answer
            }
        }
        let store = projections
        guard let request else {
            return try await blocking {
                try store.requireMatchesLog(names)
                return try body(store)
            }
        }
        // The rows' version and the as-of now; a hit is the kept answer with this as-of. (On a
        // lane of its own: a quick read, never queued behind the builds.)
        let (now, hit) = try await versionLane.run { () throws -> (Version, String?) in
            let now = try self.version(of: names, in: store)
            let key = AnswerCache.Key(request: request, version: now.rows)
            guard let template = cache.lookup(key) else { return (now, nil) }
            cache.noteLatest(key, template, asOf: now.asOf, position: now.position)
            return (now, template.render(asOf: now.asOf))
        }
        if let hit { return hit }
        let key = AnswerCache.Key(request: request, version: now.rows)
        // A miss while another request builds this version: the answer of the rows before it,
        // as of the latest checkpoint they were read at (true as of that position, and only a
        // build behind) — the 64 clients of a board that every score changes do not all wait.
        // Otherwise one build for every request that misses this version meanwhile.
        let outcome = try await cache.previousOrFlight(key) { [self] in
            try await blocking {
                let before = try self.version(of: names, in: store)
                let answer = try body(store)
                let after = try self.version(of: names, in: store)
                // Kept only when the rows did not move while it was built, and are the key's.
                guard before.rows == key.version, after.rows == key.version else {
                    // Still the latest answer known (as of its own as-of, from `before` on): what
                    // is served while the next build runs is never older than one build.
                    cache.noteLatest(request: request, movedAnswer: answer, position: before.position)
                    return AnswerCache.Built(answer: answer, template: nil)
                }
                let template = AnswerCache.Template(body: answer, asOfs: [before.asOf, after.asOf])
                    ?? (answer.contains("\"asOf\":") ? nil : AnswerCache.Template(fixed: answer))
                if let template { cache.noteLatest(key, template, asOf: after.asOf, position: after.position) }
                return AnswerCache.Built(answer: answer, template: template)
            }
        }
        let built: AnswerCache.Built
        switch outcome {
        case .previous(let template, let asOf): return template.render(asOf: asOf)
        case .built(let b): built = b
        }
        // Kept: the rows of `now`, re-dated to it. Not kept: the answer as of when it was built.
        return built.template?.render(asOf: now.asOf) ?? built.answer
    }

    /// The version of the rows of the read models `names` (each one's last change, build
    /// generation, state and schema version) and the as-of of the first (its checkpoint, as the
    /// answers' `"asOf"` writes it).
    struct Version: Sendable {
        var rows: String
        var asOf: String
        /// The position of `asOf` (0 when there is none).
        var position: Int64 = 0
    }

    /// Also refuses, as ``ProjectionStore/requireMatchesLog(_:)`` does, read models that a replay
    /// check found different from the log. One read, no records decoded: every request runs it.
    func version(of names: [String], in store: ProjectionStore) throws -> Version {
        let found = try store.rowVersions(names)
        if found.contains(where: \.differsFromLog) { try store.requireMatchesLog(names) }
        var asOf = "null"
        var position: Int64 = 0
        var rows: [String] = []
        for (i, name) in names.enumerated() {
            guard let s = found.first(where: { $0.name == name }) else {
                rows.append("\(name):-")
                continue
            }
            if i == 0 {
                asOf = try asOfSpelling.json(position: s.checkpointPosition, recordedAt: s.checkpointRecordedAt)
                position = s.checkpointPosition
            }
            // Tables built before the last change was kept: their rows move with the checkpoint.
            let changed = s.changedPosition.map { "\($0)" } ?? "checkpoint \(s.checkpointPosition)"
            rows.append("\(name):\(changed):g\(s.generation):\(s.state):\(s.schemaVersion)")
        }
        return Version(rows: rows.joined(separator: ","), asOf: asOf, position: position)
    }

    /// Answers served from the cache and answers built, since the start (for `/metrics`).
    public var cacheCounts: (hits: UInt64, misses: UInt64, shared: UInt64, entries: Int, bytes: Int) { cache.counts }
}

extension ReadModelService {
    /// The log's head and every read model's checkpoint and last change, now (for the live
    /// stream and the catch-up subscription).
    public func positions() async throws -> ModelPositions {
        let (reader, store) = (self.reader, projections)
        return try await blocking {
            let statuses = try store.status()
            return ModelPositions(
                head: try reader.head().position,
                models: Dictionary(uniqueKeysWithValues: statuses.map { ($0.name, $0.checkpoint.position) }),
                changed: Dictionary(
                    uniqueKeysWithValues: statuses.map { ($0.name, $0.changedPosition ?? $0.checkpoint.position) }))
        }
    }
}

/// The `"asOf"` JSON of a checkpoint, as the answers' encoder writes it, kept for the last
/// checkpoint asked about (every request between two events asks about the same one).
final class AsOfSpelling: Sendable {
    private let last = Mutex<(position: Int64, recordedAt: String?, json: String)?>(nil)

    /// - Throws: ``ProjectionError`` `.storage` when the stored time is not RFC 3339.
    func json(position: Int64, recordedAt text: String?) throws -> String {
        if let kept = last.withLock({ $0 }), kept.position == position, kept.recordedAt == text { return kept.json }
        var time: Timestamp? = nil
        if let text {
            guard let t = Timestamp(rfc3339: text) else {
                throw ProjectionError(.storage, "the checkpoint's time \"\(text)\" in the bookkeeping is not RFC 3339")
            }
            time = t
        }
        let json = try JSONOutput.encode(AsOf(position: position, recordedAt: time))
        last.withLock { $0 = (position, text, json) }
        return json
    }
}

/// A round-robin counter over the lanes.
final class LaneCounter: Sendable {
    private let value = SendableBox()
    func take() -> Int { value.increment() }
}

import Synchronization

final class SendableBox: Sendable {
    private let n = Mutex(0)
    func increment() -> Int { n.withLock { $0 &+= 1; return $0 & Int.max } }
}
