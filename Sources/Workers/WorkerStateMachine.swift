/// What the projection worker does next, as a value: fed what happened (a change in the log, a
/// success, a failure of one projection) and the time, it answers with an action. It never
/// sleeps or touches storage itself, so tests drive it step by step.
public struct WorkerStateMachine: Sendable {
    /// One projection's health.
    public struct Health: Sendable, Equatable {
        public var failures = 0
        /// Not retried before this instant (seconds on the worker's clock).
        public var retryAt: Double?
        public var lastError: String?
        public init() {}
    }

    public enum Action: Sendable, Equatable {
        /// Rebuild these (their stored schema version is stale), beside the live tables.
        case rebuild([String])
        /// Bring these up to the head.
        case catchUp([String])
        /// Nothing to do until the next change, or until `until` for a retry.
        case wait(until: Double?)
    }

    public private(set) var health: [String: Health]
    public let baseDelay: Double
    public let maxDelay: Double

    public init(projections: [String], baseDelay: Double = 0.5, maxDelay: Double = 60) {
        health = Dictionary(uniqueKeysWithValues: projections.map { ($0, Health()) })
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The next action at `now`, given which projections are stale.
    public func next(now: Double, stale: Set<String>) -> Action {
        let ready = health.keys.sorted().filter { name in
            guard let retryAt = health[name]!.retryAt else { return true }
            return retryAt <= now
        }
        let rebuild = ready.filter { stale.contains($0) }
        if !rebuild.isEmpty { return .rebuild(rebuild) }
        if !ready.isEmpty { return .catchUp(ready) }
        return .wait(until: health.values.compactMap(\.retryAt).min())
    }

    /// When the worker should wake again without a change: the earliest retry, if any.
    public var nextRetry: Double? { health.values.compactMap(\.retryAt).min() }

    /// A projection caught up (or rebuilt) without error.
    public mutating func succeeded(_ name: String) {
        health[name] = Health()
    }

    /// A projection failed: it is retried after an exponential backoff; the others go on.
    /// - Returns: the delay before its retry, in seconds.
    @discardableResult
    public mutating func failed(_ name: String, error: String, now: Double) -> Double {
        var h = health[name] ?? Health()
        h.failures += 1
        let delay = min(maxDelay, baseDelay * Double(1 << min(h.failures - 1, 20)))
        h.retryAt = now + delay
        h.lastError = error
        health[name] = h
        return delay
    }
}
