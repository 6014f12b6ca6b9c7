import Crypto
import Events
import Foundation
import Rendering
import Workers

/// `POST /api/v1/streams/{stream}`: appending over HTTP, only for a service started with
/// `--token-file`.
///
/// The body is `{"expectedVersion": N | -1 | "no-stream" | "any", "events": [{"id", "type",
/// "data", "metadata"?, "occurredAt"?}]}`: every event needs an id (so that a retried request
/// never appends twice: the positions of the first time come back) and the request an expected
/// version (of the stream before its first event). The whole request is checked first — its JSON,
/// every field of every event, the catalog's and the business rules — and appended as one unit:
/// nothing of it reaches the log unless all of it does.
///
/// On a folder store the service holds no writer between requests, so `admin append` and `admin
/// import` keep working beside it: each request opens the store's writer, appends, and closes it,
/// on a lane of its own (requests are written one at a time), keeping the domain state in memory
/// between them. When another process is writing, the request waits for it up to `lockWait`,
/// then answers 503 with a Retry-After. On a store whose writers coexist (PostgreSQL) one writer
/// is kept open and reopened after a failure.
public struct HTTPAppends: Sendable {
    let access: StoreAccess
    /// The writer kept open between requests when the store's writers coexist.
    let kept = KeptWriter()
    /// SHA-256 of the token: what a presented token's digest is compared with.
    let tokenDigest: [UInt8]
    let lane = BlockingLane(label: "hromada.serve.appends")
    /// The domain state between the requests' writers: opening one then decodes nothing (at
    /// 450,000 events that decoding was most of the 0.15 s a request took).
    let domainCache = DomainStateCache()
    var lockWait: Duration = .seconds(5)
    /// The token has fewer than 16 characters (the service warns: it can be guessed).
    public let isShort: Bool

    /// Reads the token (the file's first line, surrounding blanks dropped).
    /// - Throws: when the file cannot be read or holds no token.
    init(access: StoreAccess, tokenFile: String) throws {
        self.access = access
        guard let text = FileManager.default.contents(atPath: tokenFile).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw EventStoreError(.missingInput, "cannot read the token file \(tokenFile)")
        }
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !token.isEmpty else {
            throw EventStoreError(
                .invalidArgument,
                "the token file \(tokenFile) holds no token on its first line (e.g. `head -c 32 /dev/urandom | base64 > \(tokenFile)`)")
        }
        tokenDigest = Array(SHA256.hash(data: Array(token.utf8)))
        isShort = token.count < 16
    }

    /// Whether the token file can be read by others than its owner (the service warns).
    public static func isShared(_ tokenFile: String) -> Bool {
        guard let mode = (try? FileManager.default.attributesOfItem(atPath: tokenFile))?[.posixPermissions] as? Int else {
            return false
        }
        return mode & 0o077 != 0
    }

    /// 401 without a bearer token, 403 with a wrong one. Digests of equal length are compared,
    /// every byte whatever the first difference (constant time), so neither the token's bytes nor
    /// its length can be found by timing the answers.
    func authorize(_ authorization: String?) throws {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else {
            throw APIError(
                status: 401, code: "unauthorized",
                message: "appending needs the header Authorization: Bearer <token> (the token of the service's --token-file)",
                headers: ["WWW-Authenticate": "Bearer realm=\"hromada-ledger\""])
        }
        let presented = authorization.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        let digest = Array(SHA256.hash(data: Array(presented.utf8)))
        guard zip(digest, tokenDigest).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw APIError(status: 403, code: "forbidden", message: "the bearer token is not this service's token")
        }
    }

    /// Checks the whole request, then appends its events as one unit.
    func append(stream: String, body: [UInt8]) async throws -> API.Answer {
        do { try EventCodec.checkStreamName(stream) } catch {
            throw APIError.invalid("stream", "stream: \(error.reason)")
        }
        let events = try Self.decode(stream: stream, body: body)
        let access = self.access
        let kept = self.kept
        let deadline = ContinuousClock.now + lockWait
        let result: AppendResult = try await Self.naming(events: events.count) {
            try await lane.run {
            var options = EventStoreOptions()
            options.logger.logLevel = .warning
            options.domainCache = domainCache
            if access.writersCoexist {
                return try kept.append(events) { try access.makeWriter(options) }
            }
            while true {
                do {
                    let store = try access.makeWriter(options)
                    defer { store.close() }
                    return try store.append(events)
                } catch let e as EventStoreError where e.code == .locked && ContinuousClock.now < deadline {
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
            }
        }
        var document: [String: JSONValue] = [
            "positions": .array(result.positions.map(JSONValue.int)), "head": .int(result.head),
            "appended": .int(Int64(result.appended)), "duplicates": .int(Int64(result.duplicates)),
        ]
        if let lag = result.indexBehind { document["indexBehind"] = .string(lag) }
        // 201 when something was appended; 200 for a retry whose every event is in the log.
        return API.Answer(status: result.appended > 0 ? 201 : 200, body: JSONOutput.encode(JSONValue.object(document)))
    }

    /// Runs the append; a refusal of one event (a business rule, the catalog's checks, the
    /// expected version) names it as `events[i].field`.
    static func naming<T>(events count: Int, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as EventStoreError where e.eventIndex != nil {
            let field = "events[\(e.eventIndex!)]"
            if e.code == .wrongExpectedVersion {
                throw APIError(status: 409, code: e.code.name, message: e.message, parameter: "expectedVersion")
            }
            if let rejection = e.cause as? Rejection {
                throw APIError(
                    status: 400, code: e.code.name, message: "\(field).\(rejection.field): \(rejection.reason)",
                    parameter: "\(field).\(rejection.field)")
            }
            throw e
        }
    }

    /// The request's events, every field checked; a 400 naming the first bad one.
    static func decode(stream: String, body: [UInt8]) throws -> [ProposedEvent] {
        let value: JSONValue
        do { value = try JSONParser.parse(String(decoding: body, as: UTF8.self)) } catch {
            throw APIError(status: 400, code: "invalid-json", message: "the body is not valid JSON: \(error)", parameter: "body")
        }
        guard case .object(let request) = value else {
            throw APIError(status: 400, code: "invalid-body", message: "the body must be a JSON object", parameter: "body")
        }
        for key in request.keys.sorted() where !["expectedVersion", "events"].contains(key) {
            throw APIError(
                status: 400, code: "invalid-body", message: "unknown field \"\(key)\" (known: expectedVersion, events)",
                parameter: key)
        }
        let expected: Int64?
        switch request["expectedVersion"] {
        case .string("any"): expected = nil
        case .string("no-stream"): expected = -1
        case .int(let n) where n >= -1: expected = n
        case nil:
            throw APIError(
                status: 400, code: "invalid-body",
                message: "expectedVersion is required: the stream's last version, -1 or \"no-stream\" for a new stream, or \"any\"",
                parameter: "expectedVersion")
        default:
            throw APIError(
                status: 400, code: "invalid-body",
                message: "expectedVersion must be a whole number >= -1, \"no-stream\" or \"any\"", parameter: "expectedVersion")
        }
        guard case .array(let items) = request["events"], !items.isEmpty else {
            throw APIError(status: 400, code: "invalid-body", message: "events must be a non-empty array", parameter: "events")
        }
        guard items.count <= 10_000 else {
            throw APIError(status: 400, code: "invalid-body", message: "at most 10000 events per request", parameter: "events")
        }
        let now = Timestamp.now().rfc3339
        return try items.enumerated().map { n, item in
            let field = "events[\(n)]"
            guard case .object(var envelope) = item else {
                throw APIError(status: 400, code: "invalid-event", message: "\(field) must be an object", parameter: field)
            }
            for key in envelope.keys.sorted() where !["id", "type", "data", "metadata", "occurredAt"].contains(key) {
                throw APIError(
                    status: 400, code: "invalid-event",
                    message: "\(field): unknown field \"\(key)\" (known: id, type, data, metadata, occurredAt; the stream is the path's)",
                    parameter: "\(field).\(key)")
            }
            guard envelope["id"] != nil else {
                throw APIError(
                    status: 400, code: "invalid-event",
                    message: "\(field).id is required: a UUID chosen by the client, so that a retried request appends nothing twice",
                    parameter: "\(field).id")
            }
            envelope["stream"] = .string(stream)
            if envelope["occurredAt"] == nil { envelope["occurredAt"] = .string(now) }
            // The stream's version is checked before the first event; the others follow it in
            // the same unit, so nothing can come between.
            if n == 0, let expected { envelope["expectedVersion"] = .int(expected) }
            do {
                return try EventCodec.decodeProposed(.object(envelope))
            } catch let error as Rejection {
                throw APIError(
                    status: 400, code: "invalid-event", message: "\(field).\(error.field): \(error.reason)",
                    parameter: "\(field).\(error.field)")
            }
        }
    }
}

/// The writer the service keeps open between requests on a store whose writers coexist; used on
/// the appends' lane only (one request at a time). A writer whose append failed for another
/// reason than the events themselves (a connection lost) is closed and opened again next time.
final class KeptWriter: @unchecked Sendable {
    // @unchecked: touched only on the appends' lane, one job at a time.
    private var writer: (any LogWriting)?

    func append(_ events: [ProposedEvent], open: () throws -> any LogWriting) throws -> AppendResult {
        let store = try writer ?? open()
        writer = store
        do {
            return try store.append(events)
        } catch let e as EventStoreError where e.code == .io {
            store.close()
            writer = nil
            throw e
        }
    }

    func close() {
        writer?.close()
        writer = nil
    }
}
