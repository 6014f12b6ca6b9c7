import ArgumentParser
import Events
import Foundation
import Logging
import Projections
import Workers
// The shared pieces moved there (TimePoint, LeaderboardSet) are used by the other commands too.
@_exported import Service

/// `admin serve`: the read models as a versioned JSON API (Hummingbird 2), with the projection
/// worker beside it in one `ServiceGroup`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the read models over HTTP (JSON API /api/v1/..., /health/live, /health/ready) until SIGTERM/SIGINT.",
        discussion: """
            GET /api/v1/leaderboard?competition=C[&theme=T][&kind=K], /api/v1/competitions, /api/v1/regions, \
            /api/v1/catalog?q=TEXT[&sector=&direction=&form=&oblast=&community=&limit=N], /api/v1/network, \
            /api/v1/seminars, /api/v1/streams/{stream}/history, /api/v1/stats. Read-model endpoints take \
            at= (a date, a date-time or position:N) as --at does; each answer is byte for byte what \
            `admin query … --json` prints. Live: /api/v1/live (server-sent events: which read models moved), \
            /api/v1/events?from=P[&follow=true] (the export lines after position P, then new ones as they \
            are committed), /metrics (Prometheus). With --token-file: POST /api/v1/streams/{stream} appends. \
            The projection workers run in the same process unless --no-workers. docs/SERVICE.md has the details.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "The address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port; the one chosen is printed).") var port: Int = 8080
    @Flag(name: .customLong("no-workers"), help: "Do not run the projection workers (a separate `admin workers` keeps the read models).")
    var noWorkers = false
    @Option(help: "Where snapshots are looked for (at= time travel).") var snapshots: String = "./snapshots"
    @Option(name: .customLong("ready-lag"), help: "/health/ready is 200 while every read model is within N events of the head.")
    var readyLag: Int = 1000
    @Option(help: "Seconds between the workers' polls when no change is notified.") var poll: Double = 1
    @Option(
        name: .customLong("token-file"),
        help: "Take appends (POST /api/v1/streams/{stream}) from clients presenting the bearer token in this file; without it the service is read-only.")
    var tokenFile: String?
    @Option(name: .customLong("max-body"), help: "The largest request body taken, in bytes.") var maxBody: Int = 1 << 20
    @Option(
        name: .customLong("audit-every"),
        help: "Run the replay check every T minutes (with the workers); a read model found to differ is not served until rebuilt (0: never).")
    var auditEvery: Double = 0

    func validate() throws {
        if port < 0 || port > 65535 { throw ValidationError("--port must be 0...65535") }
        if readyLag < 0 { throw ValidationError("--ready-lag must be >= 0") }
        if poll <= 0 { throw ValidationError("--poll must be > 0") }
        if host.isEmpty { throw ValidationError("--host must not be empty") }
        if maxBody < 1 { throw ValidationError("--max-body must be >= 1") }
        if auditEvery < 0 { throw ValidationError("--audit-every must be >= 0") }
        if auditEvery > 0 && noWorkers { throw ValidationError("--audit-every needs the workers (drop --no-workers, or pass it to admin workers)") }
    }

    func run() async throws {
        global.bootstrapLogging()
        do {
            var configuration = LedgerServer.Configuration()
            configuration.host = host
            configuration.port = port
            configuration.workers = !noWorkers
            configuration.snapshots = snapshots
            configuration.readyLag = Int64(readyLag)
            configuration.pollSeconds = poll
            configuration.logLevel = global.logLevel
            configuration.tokenFile = tokenFile
            configuration.maxBodyBytes = maxBody
            if auditEvery > 0 {
                configuration.workerHook = AuditPolicy(
                    audit: ReplayAudit(reader: try global.logReader()), everyMinutes: auditEvery)
            }
            if let tokenFile, HTTPAppends.isShared(tokenFile) {
                printError("warning: the token file \(tokenFile) can be read by other users than its owner (chmod 600 \(tokenFile))")
            }
            let server = LedgerServer(access: try global.storeAccess(), configuration: configuration)
            let workers = !noWorkers
            try await server.run(open: { try openProjections(try global.storeAccess(), backgroundIndexing: true) }) { host, port in
                printError(
                    "serving \(workers ? "with workers " : "")on http://\(host.contains(":") ? "[\(host)]" : host):\(port) ; SIGTERM or Ctrl-C stops it")
            }
            printError("serve stopped cleanly")
        } catch { throw fail(error) }
    }
}

extension Serve: StoreCommand {}
