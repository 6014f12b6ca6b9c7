import Synchronization

/// The answers already written, by request and by the state of the read models they were
/// written from: a dashboard asks the same questions many times between two moves of a read
/// model, and a 5,000-row leaderboard costs tens of milliseconds to build and encode.
///
/// An answer is kept under its request (the path and its parameters, in a fixed order) and its
/// *version*: for a live answer, the bookkeeping of the read models it reads (checkpoint, last
/// change, state, last write), read before and after the answer was built: it is kept only when
/// the two agree, so the answer is the one a fresh computation gives for that version; for an
/// answer as of a past position, that position (the log does not change below the head). Only
/// successful answers are kept. Bounded by total bytes; the least recently used go first.
final class AnswerCache: Sendable {
    struct Key: Hashable, Sendable {
        var request: String
        var version: String
    }

    private struct Entry {
        var body: String
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0
    }

    /// The most bytes of answers kept.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 64 << 20) { self.capacity = capacity }

    func lookup(_ key: Key) -> String? {
        state.withLock { s in
            s.clock &+= 1
            guard var entry = s.entries[key] else {
                s.misses &+= 1
                return nil
            }
            s.hits &+= 1
            entry.lastUse = s.clock
            s.entries[key] = entry
            return entry.body
        }
    }

    func store(_ body: String, under key: Key) {
        let size = body.utf8.count + key.request.utf8.count + key.version.utf8.count
        guard size <= capacity / 4 else { return }
        state.withLock { s in
            s.clock &+= 1
            if let old = s.entries.updateValue(Entry(body: body, lastUse: s.clock), forKey: key) {
                s.bytes -= old.body.utf8.count + key.request.utf8.count + key.version.utf8.count
            }
            s.bytes += size
            while s.bytes > capacity, let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                s.entries.removeValue(forKey: oldest.key)
                s.bytes -= oldest.value.body.utf8.count + oldest.key.request.utf8.count + oldest.key.version.utf8.count
            }
        }
    }

    /// Answers served from the cache and answers built, since the start.
    var counts: (hits: UInt64, misses: UInt64, entries: Int, bytes: Int) {
        state.withLock { ($0.hits, $0.misses, $0.entries.count, $0.bytes) }
    }
}
