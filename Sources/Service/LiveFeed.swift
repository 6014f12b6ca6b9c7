import Events
import Foundation
import Projections
import Rendering
import ServiceLifecycle
import Synchronization

/// Where the log and the read models are: the head position, each projection's checkpoint (the
/// last event it reflects) and the last event that changed its rows.
public struct ModelPositions: Sendable, Equatable {
    public var head: Int64
    public var models: [String: Int64]
    public var changed: [String: Int64]

    public init(head: Int64, models: [String: Int64], changed: [String: Int64]) {
        self.head = head
        self.models = models
        self.changed = changed
    }

    /// The read models whose rows changed since `earlier` (every event moves every checkpoint;
    /// only some change a model's rows: a dashboard refreshes those).
    public func moved(since earlier: ModelPositions) -> [String] {
        changed.keys.sorted().filter { changed[$0] != earlier.changed[$0] }
    }

    var json: [String: JSONValue] {
        [
            "head": .int(head), "models": .object(models.mapValues(JSONValue.int)),
            "changed": .object(changed.mapValues(JSONValue.int)),
        ]
    }
}

/// Tells every open `/api/v1/live` and following `/api/v1/events` which read models the
/// workers moved and where the log's head is, as it happens.
///
/// It reads the positions (one small query on the checkpoints and the head of the index) every
/// `interval` while someone listens — the workers may be in this process or in a separate
/// `admin workers`, and both commit to the same files — and sends an update only when something
/// moved. Every `keepAlive` it sends a beat, which keeps proxies from closing an idle stream and
/// lets a writer find out that its client has gone. A graceful shutdown ends every stream, so the
/// server can drain.
public final class LiveFeed: Service, Sendable {
    public enum Update: Sendable, Equatable {
        /// Something moved: the positions now and the projections whose checkpoint moved.
        case moved(ModelPositions, moved: [String])
        case keepAlive
    }

    let read: @Sendable () async throws -> ModelPositions
    let interval: Duration
    let keepAlive: Duration

    /// A listener, and the positions it was last told (or read itself before subscribing).
    private struct Subscriber {
        var continuation: AsyncStream<Update>.Continuation
        var last: ModelPositions
    }

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var finished = false
    }
    private let state = Mutex(State())

    /// - Parameters:
    ///   - read: the positions now (runs SQLite: give it a blocking lane).
    public init(
        interval: Duration = .milliseconds(200), keepAlive: Duration = .seconds(15),
        read: @escaping @Sendable () async throws -> ModelPositions
    ) {
        self.read = read
        self.interval = interval
        self.keepAlive = keepAlive
    }

    /// How many streams listen now.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// A stream of updates from `known` on (the positions the subscriber read before it
    /// subscribed: whatever moved since comes as the first update, so that nothing is missed
    /// between its read and the subscription). The stream finishes when the service stops (at
    /// once when it has stopped already); cancelling the consuming task, or dropping the stream,
    /// unsubscribes.
    public func subscribe(from known: ModelPositions) -> AsyncStream<Update> {
        let (stream, continuation) = AsyncStream<Update>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id: Int? = state.withLock { s in
            guard !s.finished else { return nil }
            s.nextID += 1
            s.subscribers[s.nextID] = Subscriber(continuation: continuation, last: known)
            return s.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public func run() async throws {
        let clock = ContinuousClock()
        var lastBeat = clock.now
        await withGracefulShutdownHandler {
            while !state.withLock({ $0.finished }) && !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await check()
                if lastBeat.duration(to: clock.now) >= keepAlive {
                    lastBeat = clock.now
                    for c in state.withLock({ $0.subscribers.values.map(\.continuation) }) { c.yield(.keepAlive) }
                }
            }
        } onGracefulShutdown: {
            self.finish()
        }
        finish()
    }

    /// Reads the positions when someone listens and tells each listener what moved since it was
    /// last told.
    func check() async {
        guard subscriberCount > 0, let now = try? await read() else { return }
        let updates: [(AsyncStream<Update>.Continuation, Update)] = state.withLock { s in
            var out: [(AsyncStream<Update>.Continuation, Update)] = []
            for (id, subscriber) in s.subscribers where subscriber.last != now {
                out.append((subscriber.continuation, .moved(now, moved: now.moved(since: subscriber.last))))
                s.subscribers[id]?.last = now
            }
            return out
        }
        for (continuation, update) in updates { continuation.yield(update) }
    }

    /// Ends every stream; later subscriptions end at once.
    func finish() {
        let all = state.withLock { s in
            s.finished = true
            defer { s.subscribers.removeAll() }
            return s.subscribers.values.map(\.continuation)
        }
        for c in all { c.finish() }
    }
}

extension LiveFeed {
    /// `GET /api/v1/live`: server-sent events. First `ready` with the positions now, then
    /// `moved` (its `id` the head position) each time a read model or the head moves, and a
    /// `: keep-alive` comment between.
    func serverSentEvents(initial: ModelPositions) -> API.Answer {
        let updates = subscribe(from: initial)
        return API.Answer(
            status: 200, contentType: "text/event-stream; charset=utf-8",
            headers: ["Cache-Control": "no-store", "X-Accel-Buffering": "no"]
        ) { writer in
            try await writer.write("retry: 2000\n\n" + Self.event("ready", id: initial.head, initial.json))
            for await update in updates {
                switch update {
                case .moved(let positions, let moved):
                    var data = positions.json
                    data["moved"] = .array(moved.map(JSONValue.string))
                    try await writer.write(Self.event("moved", id: positions.head, data))
                case .keepAlive:
                    try await writer.write(": keep-alive\n\n")
                }
            }
        }
    }

    /// One event in the text/event-stream format (the data is one line of JSON).
    static func event(_ name: String, id: Int64, _ data: [String: JSONValue]) -> String {
        "id: \(id)\nevent: \(name)\ndata: \(JSONOutput.encode(JSONValue.object(data)))\n\n"
    }
}
