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

    public init(models: ReadModelService, readyLag: Int64) {
        self.models = models
        self.readyLag = readyLag
    }

    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var contentType = "application/json; charset=utf-8"
        /// Headers beside the content type (an export's file name and as-of).
        public var headers: [(name: String, value: String)] = []
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

    /// Answers `GET path?query`.
    public func respond(method: String, path: String, query: String?) async -> Answer {
        do {
            guard method == "GET" || method == "HEAD" else {
                throw APIError(
                    status: 405, code: "method-not-allowed", message: "\(method) is not allowed: this service is read-only (GET)")
            }
            let parameters = try Self.parameters(query)
            if let answer = try await openData(path: path, parameters) { return answer }
            return try await route(path: path, parameters)
        } catch {
            let e = APIError.from(error)
            return Answer(status: e.status, body: e.body)
        }
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
            try p.only(["competition", "theme", "kind", "at"])
            guard let competition = p["competition"], !competition.isEmpty else {
                throw APIError.invalid("competition", "competition is required, e.g. ?competition=bp-2020 (see /api/v1/competitions)")
            }
            let theme = p["theme"]
            let kind = p["kind"]
            if let kind, !Vocabulary.communityKinds.contains(kind) {
                throw APIError.invalid(
                    "kind", "unknown community kind \"\(kind)\" (known: \(Vocabulary.communityKinds.joined(separator: ", ")))")
            }
            return try await ok(at: p.at(), ["leaderboard"]) { store in
                do {
                    return try LeaderboardSet.document(store, competitionId: competition, themeCode: theme, kind: kind)
                } catch let e as ProjectionError where e.code == .notFound {
                    throw APIError.notFound(e.message, parameter: e.message.hasPrefix("no competition") ? "competition" : "theme")
                }
            }
        case ["api", "v1", "competitions"]:
            try p.only(["at"])
            return try await ok(at: p.at(), ["leaderboard"]) { try JSONOutput.encode(ServiceDocuments.competitions($0)) }
        case ["api", "v1", "regions"]:
            try p.only(["at"])
            return try await ok(at: p.at(), ["regions"]) { try JSONOutput.encode($0.regions()) }
        case ["api", "v1", "network"]:
            try p.only(["at"])
            return try await ok(at: p.at(), ["network"]) { try JSONOutput.encode($0.network()) }
        case ["api", "v1", "seminars"]:
            try p.only(["at"])
            return try await ok(at: p.at(), ["seminars"]) { try JSONOutput.encode($0.seminars()) }
        case ["api", "v1", "catalog"]:
            try p.only(["q", "sector", "direction", "form", "oblast", "community", "limit", "at"])
            var chosen = 20
            if let text = p["limit"] {
                guard let n = Int(text), (1...10_000).contains(n) else {
                    throw APIError.invalid("limit", "limit must be a whole number 1...10000, not \"\(text)\"")
                }
                chosen = n
            }
            let limit = chosen
            let filters = CatalogFilters(
                sector: p["sector"], direction: p["direction"], form: p["form"], oblast: p["oblast"],
                community: p["community"])
            let q = p["q"].flatMap { $0.isEmpty ? nil : $0 }
            return try await ok(at: p.at(), ["catalog"]) {
                try JSONOutput.encode($0.catalog(query: q, filters: filters, limit: limit))
            }
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
            let root = models.layout.root
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
                "no such endpoint: \(path) (endpoints: /api/v1/leaderboard, /api/v1/competitions, /api/v1/regions, /api/v1/catalog, /api/v1/network, /api/v1/seminars, /api/v1/streams/{stream}/history, /api/v1/stats, /health/live, /health/ready)"
            )
        }
    }

    func ok(at: TimePoint?, _ names: [String], _ body: @escaping @Sendable (ProjectionStore) throws -> String) async throws
        -> Answer
    {
        Answer(status: 200, body: try await models.answer(at: at, projections: names, body))
    }
}
