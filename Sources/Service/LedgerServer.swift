import Events
import Foundation
import Hummingbird
import Logging
import NIOCore
import Projections
import ServiceLifecycle
import Workers

/// Hands every request to the ``API``; answers JSON with `Content-Type: application/json;
/// charset=utf-8`.
struct APIResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let api: API

    func respond(to request: Request, context: Context) async throws -> Response {
        // The web dashboard: every path outside /api, /health, /metrics and /openapi.json.
        if let page = DashboardAssets.response(to: request) { return page }
        let answer = await api.respond(method: request.method.rawValue, path: request.uri.path, query: request.uri.query)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if answer.status == 405 { headers[.allow] = "GET, HEAD" }
        let buffer = ByteBuffer(string: answer.body)
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: headers,
            body: request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: buffer))
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
        public init() {}
    }

    public let layout: StoreLayout
    public let configuration: Configuration

    public init(layout: StoreLayout, configuration: Configuration) {
        self.layout = layout
        self.configuration = configuration
    }

    /// Serves until SIGTERM or SIGINT: in-flight requests are answered, then the worker stops
    /// after its batch, then the read models are closed. `ready` gets the bound address (the
    /// port the system chose for port 0) once the server listens.
    /// - Parameters:
    ///   - open: opens the live read models (the command line's own, which rebuilds a damaged file).
    public func run(
        open: () throws -> ProjectionStore, ready: @escaping @Sendable (_ host: String, _ port: Int) -> Void
    ) async throws {
        let reader = try EventLogReader(layout: layout)
        let store = try open()
        let models = ReadModelService(layout: layout, projections: store, reader: reader, snapshots: configuration.snapshots)
        defer {
            models.stop()
            try? store.close()
        }
        var logger = Logger(label: "hromada.serve")
        logger.logLevel = configuration.logLevel
        let api = API(models: models, readyLag: configuration.readyLag)
        let host = configuration.host
        let app = Application(
            responder: APIResponder(api: api),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "hromada-ledger"),
            onServerRunning: { channel in
                ready(host, channel.localAddress?.port ?? -1)
            },
            logger: logger)
        var services: [any Service] = []
        if configuration.workers {
            let watcher = LogWatcher(layout: layout, pollInterval: .milliseconds(Int(configuration.pollSeconds * 1000)))
            services.append(
                ProjectionWorker(
                    projections: store, source: LogEventSource(reader: reader), watcher: watcher,
                    logger: Logger(label: "hromada.workers")))
        }
        // Shutdown runs in reverse order: the server drains first, then the worker stops.
        services.append(app)
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
