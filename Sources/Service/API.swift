import Events
import Foundation
import Projections
import Rendering

/// The versioned JSON API (GET only): a path and its query parameters in, a status and a JSON
/// body out. Kept apart from Hummingbird so that the routing and the parameter rules read (and
/// could be tested) as plain code.
public struct API: Sendable {
    public let models: ReadModelService
    /// Ready when every read model is within this many events of the head.
    public let readyLag: Int64
    /// What moves, for `/api/v1/live` and a following `/api/v1/events`.
    let feed: LiveFeed
    let metrics: ServiceMetrics?
    /// Appending over HTTP; nil for a read-only service (no `--token-file`).
    let appends: HTTPAppends?

    init(models: ReadModelService, readyLag: Int64, feed: LiveFeed, metrics: ServiceMetrics?, appends: HTTPAppends?) {
        self.models = models
        self.readyLag = readyLag
        self.feed = feed
        self.metrics = metrics
        self.appends = appends
    }

    /// What the service needs of an HTTP request: its method, path and query, the few headers it
    /// reads (names lowercased) and, for a POST, its body (already capped by the server).
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: String?
        public var headers: [String: String]
        public var body: [UInt8]

        public init(method: String, path: String, query: String?, headers: [String: String] = [:], body: [UInt8] = []) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    /// Where a streamed answer writes its chunks; a write throws once the client has gone.
    public protocol ChunkWriter: Sendable {
        func write(_ text: String) async throws
    }

    public struct Answer: Sendable {
        public enum Body: Sendable {
            /// A whole document.
            case text(String)
            /// Chunks written as they come (server-sent events, the catch-up subscription) until
            /// the closure returns.
            case stream(@Sendable (any ChunkWriter) async throws -> Void)
        }
        public var status: Int
        public var contentType: String = "application/json; charset=utf-8"
        /// Headers besides Content-Type (names as sent).
        public var headers: [String: String] = [:]
        public var body: Body

        public init(status: Int, body: String) {
            self.status = status
            self.body = .text(body)
        }

        public init(
            status: Int, contentType: String, headers: [String: String] = [:], stream: @escaping @Sendable (any ChunkWriter) async throws -> Void
        ) {
            self.status = status
            self.contentType = contentType
            self.headers = headers
            self.body = .stream(stream)
        }

        /// The error document of `error` with its status (and the headers it needs).
        init(_ error: APIError) {
            self.init(status: error.status, body: error.body)
            headers = error.headers
        }

        /// The body of a whole document (nil for a stream).
        public var text: String? {
            if case .text(let t) = body { return t }
            return nil
        }
    }

    /// The query parameters of a request: each name once.
    struct Parameters {
        var values: [String: String]

        /// Refuses a parameter not in `known`.
        func only(_ known: [String]) throws {
            for name in values.keys.sorted() where !known.contains(name) {
                throw APIError.unknownParameter(name, known: known)
            }
        }

        subscript(_ name: String) -> String? { values[name] }

        /// A whole number in `range`, or `fallback` when the parameter is absent.
        func integer(_ name: String, in range: ClosedRange<Int64>, default fallback: Int64) throws -> Int64 {
            guard let text = values[name] else { return fallback }
            guard let n = Int64(text), range.contains(n) else {
                let upper = range.upperBound == .max ? "" : "...\(range.upperBound)"
                throw APIError.invalid(name, "\(name) must be a whole number \(range.lowerBound)\(upper.isEmpty ? " or more" : upper), not \"\(text)\"")
            }
            return n
        }

        /// `at=`: a date, a date-time or position:N.
        func at() throws -> TimePoint? {
            guard let text = values["at"] else { return nil }
            guard let point = TimePoint(text) else {
                throw APIError.invalid(
                    "at", "at must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N, not \"\(text)\"")
            }
            return point
        }
    }

    /// Parses `a=1&b=x%20y` (also `+` for a space); a name given twice is refused.
    static func parameters(_ query: String?) throws -> Parameters {
        var values: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) throws -> String {
                let plus = s.replacingOccurrences(of: "+", with: " ")
                guard let decoded = plus.removingPercentEncoding else {
                    throw APIError.invalid(String(parts[0]), "the query string is not valid percent-encoded UTF-8")
                }
                return decoded
            }
            let name = try decode(parts[0])
            let value = parts.count > 1 ? try decode(parts[1]) : ""
            if values[name] != nil { throw APIError.invalid(name, "the parameter \(name) is given more than once") }
            values[name] = value
        }
        return Parameters(values: values)
    }

    /// Answers a request: GET (and HEAD) for the read models, the log and the service's health;
    /// POST to append, when the service takes appends.
    public func respond(_ request: Request) async -> Answer {
        do {
            let parameters = try Self.parameters(request.query)
            switch request.method {
            case "GET", "HEAD":
                if let answer = try await openData(path: request.path, parameters) { return answer }
                return try await route(path: request.path, parameters)
            case "POST":
                return try await post(request, parameters)
            default:
                throw APIError(
                    status: 405, code: "method-not-allowed", message: "\(request.method) is not allowed (GET, HEAD, and POST to append)",
                    headers: ["Allow": appends == nil ? "GET, HEAD" : "GET, HEAD, POST"])
            }
        } catch {
            return Answer(APIError.from(error))
        }
    }

    /// The route a path takes, as a template (the label of the request metrics).
    public static func routeName(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        switch parts.count {
        case 5 where parts[0] == "api" && parts[1] == "v1" && parts[2] == "streams" && parts[4] == "history":
            return "/api/v1/streams/{stream}/history"
        case 4 where parts[0] == "api" && parts[1] == "v1" && parts[2] == "streams":
            return "/api/v1/streams/{stream}"
        default:
            let joined = "/" + parts.joined(separator: "/")
            return endpoints.contains(joined) ? joined : "other"
        }
    }

    /// Every GET endpoint, as its path template (the 404's list, the request metrics' routes).
    static let endpoints = [
        "/api/v1/leaderboard", "/api/v1/competitions", "/api/v1/regions", "/api/v1/catalog", "/api/v1/network",
        "/api/v1/seminars", "/api/v1/streams/{stream}/history", "/api/v1/stats", "/api/v1/live", "/api/v1/events",
        "/metrics", "/health/live", "/health/ready",
    ]

    /// `POST /api/v1/streams/{stream}`.
    func post(_ request: Request, _ p: Parameters) async throws -> Answer {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 4, parts[0] == "api", parts[1] == "v1", parts[2] == "streams" else {
            throw APIError(
                status: 405, code: "method-not-allowed",
                message: "POST is only for /api/v1/streams/{stream} (appending); \(request.path) takes GET",
                headers: ["Allow": "GET, HEAD"])
        }
        guard let appends else {
            throw APIError(
                status: 405, code: "method-not-allowed",
                message: "this service is read-only: start it with --token-file to take appends", headers: ["Allow": "GET, HEAD"])
        }
        try appends.authorize(request.headers["authorization"])
        try p.only([])
        return try await appends.append(stream: parts[3], body: request.body)
    }

    func route(path: String, _ p: Parameters) async throws -> Answer {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch parts {
        case ["health", "live"]:
            try p.only([])
            return Answer(status: 200, body: JSONOutput.encode(JSONValue.object(["status": .string("live")])))
        case ["health", "ready"]:
            try p.only([])
            let (reader, store, lag) = (models.reader, models.projections, readyLag)
            let (ready, document) = try await models.blocking {
                try ServiceDocuments.readiness(reader: reader, projections: store, maxLag: lag)
            }
            return Answer(status: ready ? 200 : 503, body: JSONOutput.encode(document))
        case ["api", "v1", "leaderboard"]:
            try p.only(["competition", "theme", "kind", "limit", "offset", "at"])
            guard let competition = p["competition"], !competition.isEmpty else {
                throw APIError.invalid("competition", "competition is required, e.g. ?competition=bp-2020 (see /api/v1/competitions)")
            }
            let theme = p["theme"]
            let kind = p["kind"]
            if let kind, !Vocabulary.communityKinds.contains(kind) {
                throw APIError.invalid(
                    "kind", "unknown community kind \"\(kind)\" (known: \(Vocabulary.communityKinds.joined(separator: ", ")))")
            }
            // A page of each board (`limit`, `offset`): what a dashboard shows first, without the
            // whole board's thousands of rows.
            let limit = p["limit"] == nil ? nil : Int(try p.integer("limit", in: 0...1_000_000, default: 0))
            let offset = p["offset"] == nil ? nil : Int(try p.integer("offset", in: 0...Int64(Int32.max), default: 0))
            let page = (limit != nil || offset != nil) ? (limit: limit, offset: offset ?? 0) : nil
            return try await ok(path, p, at: p.at(), ["leaderboard"]) { store in
                do {
                    return try LeaderboardSet.document(store, competitionId: competition, themeCode: theme, kind: kind, page: page)
                } catch let e as ProjectionError where e.code == .notFound {
                    throw APIError.notFound(e.message, parameter: e.message.hasPrefix("no competition") ? "competition" : "theme")
                }
            }
        case ["api", "v1", "competitions"]:
            try p.only(["at"])
            return try await ok(path, p, at: p.at(), ["leaderboard"]) { try JSONOutput.encode(ServiceDocuments.competitions($0)) }
        case ["api", "v1", "regions"]:
            try p.only(["at"])
            return try await ok(path, p, at: p.at(), ["regions"]) { try JSONOutput.encode($0.regions()) }
        case ["api", "v1", "network"]:
            try p.only(["at"])
            return try await ok(path, p, at: p.at(), ["network"]) { try JSONOutput.encode($0.network()) }
        case ["api", "v1", "seminars"]:
            try p.only(["at"])
            return try await ok(path, p, at: p.at(), ["seminars"]) { try JSONOutput.encode($0.seminars()) }
        case ["api", "v1", "catalog"]:
            try p.only(["q", "sector", "direction", "form", "oblast", "community", "limit", "at"])
            let limit = Int(try p.integer("limit", in: 1...10_000, default: 20))
            let filters = CatalogFilters(
                sector: p["sector"], direction: p["direction"], form: p["form"], oblast: p["oblast"],
                community: p["community"])
            let q = p["q"].flatMap { $0.isEmpty ? nil : $0 }
            return try await ok(path, p, at: p.at(), ["catalog"]) {
                try JSONOutput.encode($0.catalog(query: q, filters: filters, limit: limit))
            }
        case ["api", "v1", "live"]:
            try p.only([])
            let positions = try await models.positions()
            return feed.serverSentEvents(initial: positions)
        case ["api", "v1", "events"]:
            try p.only(["from", "limit", "follow"])
            let from = try p.integer("from", in: 0...Int64.max, default: 0)
            let limit = p["limit"] == nil ? nil : Int(try p.integer("limit", in: 1...1_000_000, default: 0))
            let follow: Bool
            switch p["follow"] {
            case nil, "false": follow = false
            case "true": follow = true
            case let other?: throw APIError.invalid("follow", "follow must be true or false, not \"\(other)\"")
            }
            return CatchUpSubscription(models: models, feed: feed).answer(
                after: from, limit: limit, follow: follow, positions: try await models.positions())
        case ["metrics"]:
            try p.only([])
            guard let metrics else { throw APIError.notFound("this service keeps no metrics") }
            let (reader, store, feed, cache) = (models.reader, models.projections, feed, models.cacheCounts)
            let text = try await models.blocking {
                try metrics.scrape(reader: reader, projections: store, liveStreams: feed.subscriberCount, cache: cache)
            }
            var answer = Answer(status: 200, body: text)
            answer.contentType = "text/plain; version=0.0.4; charset=utf-8"
            return answer
        case ["api", "v1", "stats"]:
            try p.only([])
            let (reader, store) = (models.reader, models.projections)
            let body = try await models.blocking {
                JSONOutput.encode(try ServiceDocuments.stats(reader: reader, projections: store))
            }
            return Answer(status: 200, body: body)
        case let s where s.count == 5 && s[0] == "api" && s[1] == "v1" && s[2] == "streams" && s[4] == "history":
            try p.only(["at"])
            let stream = s[3]
            do { try EventCodec.checkStreamName(stream) } catch {
                throw APIError.invalid("stream", "stream: \(error.reason)")
            }
            let until = try p.at()
            let reader = models.reader
            let root = reader.storeName
            let body = try await models.blocking {
                guard try reader.streamVersion(stream) != nil else {
                    throw APIError.notFound("stream \(stream) does not exist in the store at \(root)", parameter: "stream")
                }
                var entries = StreamHistory.build(events: try reader.stream(stream))
                if let until {
                    let last = try until.position(in: reader)
                    entries = entries.filter { $0.position <= last }
                }
                return HistoryDocument.json(stream: stream, entries: entries).canonicalString
            }
            return Answer(status: 200, body: body)
        default:
            throw APIError.notFound(
                "no such endpoint: \(path) (endpoints: \(Self.endpoints.joined(separator: ", ")))"
            )
        }
    }

    /// A read model's answer, through the service's cache of answers (the request is the path
    /// and its parameters, sorted by name).
    func ok(
        _ path: String, _ p: Parameters, at: TimePoint?, _ names: [String],
        _ body: @escaping @Sendable (ProjectionStore) throws -> String
    ) async throws -> Answer {
        // Each name and value prefixed with its length: no two parameter sets give the same key.
        let request = path + "?" + p.values.sorted { $0.key < $1.key }
            .map { "\($0.key.utf8.count):\($0.key)\($0.value.utf8.count):\($0.value)" }.joined()
        return Answer(status: 200, body: try await models.answer(at: at, projections: names, request: request, body))
    }
}
