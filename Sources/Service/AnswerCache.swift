import Synchronization

/// The answers already written, by request and by the state of the rows they were written
/// from: a dashboard asks the same questions many times between two changes of a read model,
/// and a 5,000-row leaderboard costs tens of milliseconds to build and encode.
///
/// **What an answer is kept under.** Its request (the path and its parameters, in a fixed order)
/// and its *version*:
/// - for a live answer, the version of the *rows* of the read model it reads: the last event
///   that changed them, the build generation (a rebuild raises it), the state and the schema
///   version, read before and after the answer was built (it is kept only when the two agree).
///   Every event moves a read model's checkpoint, but most change none of its rows (a jury
///   score changes the leaderboard, not the catalog): the rows — and so the answer, but for
///   its `"asOf"` — are the same for every checkpoint from the last change on. So the answer
///   is kept as a ``Template``, its `"asOf":{…}` left out, and each hit writes in the as-of
///   read with the version (the same bytes the encoder writes for it, as `admin query --json`
///   would print at that checkpoint);
/// - for an answer as of a past position, that position (the log does not change below the
///   head).
///
/// **One build per version.** Requests that miss the same key while its answer is being built
/// wait for that build (``flight(_:build:)``) instead of building it again: when a jury score
/// lands, 64 dashboards asking for the leaderboard cost one build, not 64.
///
/// Only successful answers are kept. Bounded by total bytes; the least recently used go first.
final class AnswerCache: Sendable {
    struct Key: Hashable, Sendable {
        var request: String
        var version: String
    }

    /// An answer with its as-of left out: `parts` joined by the `"asOf":{…}` of the moment
    /// (one part, kept as it is, when the answer has no as-of or is as of a fixed position).
    struct Template: Sendable {
        var parts: [String]
        var bytes: Int { parts.reduce(0) { $0 + $1.utf8.count } }

        /// The whole answer kept as it is.
        init(fixed body: String) { parts = [body] }

        /// `body` cut at each `"asOf":` followed by one of `asOfs` (the as-of JSON objects the
        /// answer may have been written with); nil when `body` has an `"asOf":` that is none of
        /// them (the answer is then not one to re-date).
        init?(body: String, asOfs: [String]) {
            var body = body
            let cut: [String]? = body.withUTF8 { bytes in
                for asOf in asOfs {
                    let needle = Array("\"asOf\":".utf8) + Array(asOf.utf8)
                    let pieces = Self.split(bytes, at: needle)
                    // Any other "asOf": left means another as-of in the answer: not one to re-date.
                    if pieces.count > 1, !pieces.contains(where: { Self.contains($0, Array("\"asOf\":".utf8)) }) {
                        return pieces.map { String(decoding: $0, as: UTF8.self) }
                    }
                }
                return nil
            }
            guard let cut else { return nil }
            parts = cut
        }

        /// The answer with `asOf` (a JSON object) as its as-of.
        func render(asOf: String) -> String {
            guard parts.count > 1 else { return parts[0] }
            let separator = "\"asOf\":" + asOf
            var out = ""
            out.reserveCapacity(bytes + (parts.count - 1) * separator.utf8.count)
            for (i, part) in parts.enumerated() {
                if i > 0 { out += separator }
                out += part
            }
            return out
        }

        static func split(_ bytes: UnsafeBufferPointer<UInt8>, at needle: [UInt8]) -> [UnsafeBufferPointer<UInt8>.SubSequence] {
            var pieces: [UnsafeBufferPointer<UInt8>.SubSequence] = []
            var start = 0
            var i = 0
            let n = needle.count
            while i + n <= bytes.count {
                if bytes[i] == needle[0], matches(bytes, at: i, needle) {
                    pieces.append(bytes[start..<i])
                    i += n
                    start = i
                } else {
                    i += 1
                }
            }
            pieces.append(bytes[start..<bytes.count])
            return pieces
        }

        static func contains(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence, _ needle: [UInt8]) -> Bool {
            let base = UnsafeBufferPointer(rebasing: bytes)
            var i = 0
            while i + needle.count <= base.count {
                if base[i] == needle[0], matches(base, at: i, needle) { return true }
                i += 1
            }
            return false
        }

        static func matches(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, _ needle: [UInt8]) -> Bool {
            for j in 0..<needle.count where bytes[i + j] != needle[j] { return false }
            return true
        }
    }

    private struct Entry {
        var template: Template
        var size: Int
        var lastUse: UInt64
    }

    /// What a build made: the answer, and the template to keep under the key it was built for
    /// (nil: the answer is not the key's — the rows moved while it was built — and is kept by
    /// nobody, but it is still an answer as of a moment after every waiter asked).
    struct Built: Sendable {
        var answer: String
        var template: Template?
    }

    /// A build in progress: the requests that missed its key wait for it.
    private final class Flight: Sendable {
        let task: Task<Built, any Error>
        init(_ task: Task<Built, any Error>) { self.task = task }
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var flights: [Key: Flight] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0
        var shared: UInt64 = 0
        var stale: UInt64 = 0
        /// By request: the last answer kept for it and the latest as-of its rows were read at.
        var latest: [String: Latest] = [:]
    }

    /// The last answer known for a request, and the as-of (a checkpoint) of the latest moment
    /// its rows were read as those of that answer: the answer, written with that as-of, is the
    /// state as of that checkpoint — what `admin query … --json --at position:P` prints.
    struct Latest: Sendable {
        var version: String
        var template: Template
        var asOf: String
        var position: Int64
    }

    /// The most bytes of answers kept.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 64 << 20) { self.capacity = capacity }

    func lookup(_ key: Key) -> Template? {
        state.withLock { s in
            s.clock &+= 1
            guard var entry = s.entries[key] else {
                s.misses &+= 1
                return nil
            }
            s.hits &+= 1
            entry.lastUse = s.clock
            s.entries[key] = entry
            return entry.template
        }
    }

    func store(_ template: Template, under key: Key) {
        let size = template.bytes + key.request.utf8.count + key.version.utf8.count
        guard size <= capacity / 4 else { return }
        state.withLock { s in
            s.clock &+= 1
            if let old = s.entries.updateValue(Entry(template: template, size: size, lastUse: s.clock), forKey: key) {
                s.bytes -= old.size
            }
            s.bytes += size
            while s.bytes > capacity, let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                s.entries.removeValue(forKey: oldest.key)
                s.bytes -= oldest.value.size
            }
        }
    }

    /// Notes that `template`, kept under `key`, is the answer for the rows as of `asOf`.
    /// (Never one of an earlier position than the one noted: what is served stays in order.)
    func noteLatest(_ key: Key, _ template: Template, asOf: String, position: Int64) {
        state.withLock { s in
            if let old = s.latest[key.request], old.position > position { return }
            if s.latest[key.request] == nil, s.latest.count >= 1_024 { s.latest.removeAll() }
            s.latest[key.request] = Latest(version: key.version, template: template, asOf: asOf, position: position)
        }
    }

    /// Notes `answer`, built while the rows moved (so kept under no version), as the last answer
    /// known for `request`: it is as of its own `"asOf"`, which is at `position` or later. Served
    /// as it is, never re-dated.
    func noteLatest(request: String, movedAnswer answer: String, position: Int64) {
        noteLatest(Key(request: request, version: "moved"), Template(fixed: answer), asOf: "", position: position)
    }

    /// While `key`'s answer is being built by another request: the last answer known for the
    /// same request (of an earlier version of the rows), with the as-of it was last read at —
    /// true as of that as-of, and earlier than what the build will give. Nil when no build of
    /// the request is running or no answer of another version is known.
    func previous(whileBuilding key: Key) -> (template: Template, asOf: String)? {
        state.withLock { s in Self.previous(key, in: &s) }
    }

    /// The last answer known for `key`'s request when a build of that request is running (of
    /// `key`'s version or an earlier one the rows moved past) and the answer is of another version.
    private static func previous(_ key: Key, in s: inout State) -> (template: Template, asOf: String)? {
        guard s.flights.keys.contains(where: { $0.request == key.request }), let latest = s.latest[key.request],
            latest.version != key.version
        else { return nil }
        s.stale &+= 1
        return (latest.template, latest.asOf)
    }

    /// What `build` makes for `key` — built once however many requests miss `key` meanwhile:
    /// those that come while it runs wait for it and get the same answer. Its template, when it
    /// has one, is kept under `key`.
    func flight(_ key: Key, build: @escaping @Sendable () async throws -> Built) async throws -> Built {
        switch try await previousOrFlight(key, servingPrevious: false, build: build) {
        case .built(let built): return built
        case .previous: preconditionFailure("no previous answer was asked for")
        }
    }

    /// An answer for a request that missed `key`.
    enum Outcome: Sendable {
        /// ``previous(whileBuilding:)``'s answer: another request is building `key`'s.
        case previous(template: Template, asOf: String)
        case built(Built)
    }

    /// ``previous(whileBuilding:)`` and ``flight(_:build:)`` as one step: the previous answer when
    /// a build of `key` is running and one is known, else the build's (joining the running one or
    /// starting it). As one step, no request slips in between the first miss of a version and its
    /// build being registered: those used to wait for the build — with 64 clients and 20 scores a
    /// second, enough of them to set the leaderboard's p99.
    func previousOrFlight(
        _ key: Key, servingPrevious: Bool = true, build: @escaping @Sendable () async throws -> Built
    ) async throws -> Outcome {
        enum Step { case previous(Template, String), join(Flight), lead(Flight) }
        let step: Step = state.withLock { s in
            // A build of this request is running (of this version, or of an earlier one that the
            // rows moved past): the previous answer, rather than a second build of the same board
            // beside it — under a steady stream of scores, builds of successive versions would
            // otherwise pile up on the lanes and each wait longer for the CPU.
            if servingPrevious, let previous = Self.previous(key, in: &s) {
                return .previous(previous.template, previous.asOf)
            }
            if let running = s.flights[key] {
                s.shared &+= 1
                return .join(running)
            }
            let flight = Flight(Task { try await build() })
            s.flights[key] = flight
            return .lead(flight)
        }
        switch step {
        case .previous(let template, let asOf):
            return .previous(template: template, asOf: asOf)
        case .join(let flight):
            return .built(try await flight.task.value)
        case .lead(let flight):
            defer { _ = state.withLock { $0.flights.removeValue(forKey: key) } }
            let built = try await flight.task.value
            if let template = built.template { store(template, under: key) }
            return .built(built)
        }
    }

    /// Answers served from the cache, answers built, requests that waited for another's build,
    /// and what is kept, since the start.
    var counts: (hits: UInt64, misses: UInt64, shared: UInt64, entries: Int, bytes: Int) {
        state.withLock { ($0.hits, $0.misses, $0.shared, $0.entries.count, $0.bytes) }
    }

    /// Requests answered with the previous answer while a newer one was being built.
    var staleServed: UInt64 { state.withLock { $0.stale } }
}
