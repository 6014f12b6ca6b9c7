import Events
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Projections
import ServiceLifecycle
import Workers

/// Hands every request to the ``API`` and writes its answer: a whole document, or a stream
/// of chunks (server-sent events, the catch-up subscription) written as they come. A POST's body
/// is read up to `maxBody` bytes (413 beyond). Every request is counted and timed by route.
struct APIResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let api: API
    let maxBody: Int

    func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        func counted(route: String, status: Int) {
            api.metrics?.request(route: route, method: request.method.rawValue, status: status, duration: start.duration(to: .now))
        }
        // The web dashboard: every path outside /api, /health, /metrics and /openapi.json.
        if let page = DashboardAssets.response(to: request) {
            counted(route: DashboardAssets.routeName(request.uri.path), status: Int(page.status.code))
            return page
        }
        let answer = await answer(to: request)
        counted(route: API.routeName(request.uri.path), status: answer.status)
        var headers = HTTPFields()
        headers[.contentType] = answer.contentType
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = HTTPResponse.Status(code: answer.status)
        if request.method == .head { return Response(status: status, headers: headers, body: ResponseBody()) }
        switch answer.body {
        case .text(let text):
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        case .stream(let produce):
            return Response(
                status: status, headers: headers,
                body: ResponseBody { writer in
                    let chunks = ChunkSink(writer: writer)
                    do { try await produce(chunks) } catch is CancellationError {}
                    try await chunks.finish()
                })
        }
    }

    private func answer(to request: Request) async -> API.Answer {
        var body: [UInt8] = []
        if request.method == .post {
            do {
                body = Array(buffer: try await request.body.collect(upTo: maxBody))
            } catch {
                return API.Answer(
                    APIError(
                        status: 413, code: "body-too-large", message: "the body is larger than \(maxBody) bytes (--max-body)",
                        parameter: "body"))
            }
        }
        var headers: [String: String] = [:]
        if let authorization = request.headers[.authorization] { headers["authorization"] = authorization }
        return await api.respond(
            API.Request(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query, headers: headers, body: body))
    }
}

/// Hummingbird's body writer as the API's ``API/ChunkWriter`` (the writer is used by one task at
/// a time: the one that writes the answer).
final class ChunkSink: API.ChunkWriter, @unchecked Sendable {
    private var writer: any ResponseBodyWriter
    init(writer: any ResponseBodyWriter) { self.writer = writer }

    func write(_ text: String) async throws {
        try await writer.write(ByteBuffer(string: text))
    }

    func finish() async throws {
        try await writer.finish(nil)
    }
}

/// `admin serve`: the API served by Hummingbird in a `ServiceGroup`, with the projection worker
/// beside it unless the read models are kept by a separate `admin workers`.
public struct LedgerServer {
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8080
        public var workers: Bool = true
        public var snapshots: String = "./snapshots"
        public var readyLag: Int64 = 1000
        public var pollSeconds: Double = 1
        public var logLevel: Logger.Level = .warning
        /// Appending over HTTP (POST) with the bearer token in this file; nil: read-only.
        public var tokenFile: String?
        /// The largest request body taken (POST), in bytes.
        public var maxBodyBytes: Int = 1 << 20
        /// Called by the worker after each round that applied events (the replay check's schedule).
        public var workerHook: (any WorkerHook)?
        public init() {}
    }

    public let access: StoreAccess
    public let configuration: Configuration

    public init(access: StoreAccess, configuration: Configuration) {
        self.access = access
        self.configuration = configuration
    }

    public init(layout: StoreLayout, configuration: Configuration) {
        self.init(access: .folder(layout), configuration: configuration)
    }

    /// Serves until SIGTERM or SIGINT: in-flight requests are answered, then the worker stops
    /// after its batch, then the read models are closed. `ready` gets the bound address (the
    /// port the system chose for port 0) once the server listens.
    /// - Parameters:
    ///   - open: opens the live read models (the command line's own, which rebuilds a damaged file).
    public func run(
        open: () throws -> ProjectionStore, ready: @escaping @Sendable (_ host: String, _ port: Int) -> Void
    ) async throws {
        let reader = try access.makeReader()
        let store = try open()
        let models = ReadModelService(projections: store, reader: reader, snapshots: configuration.snapshots)
        defer {
            models.stop()
            try? store.close()
        }
        var logger = Logger(label: "hromada.serve")
        logger.logLevel = configuration.logLevel
        let feed = LiveFeed { [models] in try await models.positions() }
        let appends = try configuration.tokenFile.map { try HTTPAppends(access: access, tokenFile: $0) }
        if appends?.isShort == true {
            logger.warning("the token of --token-file has fewer than 16 characters: a longer random one cannot be guessed")
        }
        defer { appends?.lane.stop() }
        let api = API(
            models: models, readyLag: configuration.readyLag, feed: feed, metrics: ServiceMetrics.bootstrap(), appends: appends)
        let host = configuration.host
        let app = Application(
            responder: APIResponder(api: api, maxBody: configuration.maxBodyBytes),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "hromada-ledger"),
            onServerRunning: { channel in
                ready(host, channel.localAddress?.port ?? -1)
            },
            logger: logger)
        var services: [any Service] = []
        if configuration.workers {
            let watcher = access.makeWatcher(.milliseconds(Int(configuration.pollSeconds * 1000)))
            services.append(
                ProjectionWorker(
                    projections: store, source: LogEventSource(reader: reader), watcher: watcher,
                    hook: configuration.workerHook, logger: Logger(label: "hromada.workers")))
        }
        // Shutdown runs in reverse order: the feed ends the live streams first, so that the
        // server can drain, then the worker stops.
        services.append(app)
        services.append(feed)
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as IOError {
            // A port taken, an address not of this machine: one clear sentence, not NIO's call.
            let reason = String(cString: strerror(error.errnoCode)).lowercased()
            throw EventStoreError(
                .io, "cannot listen on \(host):\(configuration.port): \(reason)", cause: error)
        }
    }
}
