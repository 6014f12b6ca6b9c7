import ArgumentParser
import Events
import Foundation
import Logging
import Projections
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
            `admin query … --json` prints. The projection workers run in the same process unless --no-workers.
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

    func validate() throws {
        if port < 0 || port > 65535 { throw ValidationError("--port must be 0...65535") }
        if readyLag < 0 { throw ValidationError("--ready-lag must be >= 0") }
        if poll <= 0 { throw ValidationError("--poll must be > 0") }
        if host.isEmpty { throw ValidationError("--host must not be empty") }
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
            let server = LedgerServer(layout: global.layout, configuration: configuration)
            let workers = !noWorkers
            try await server.run(open: { try openProjections(global.layout, backgroundIndexing: true) }) { host, port in
                printError(
                    "serving \(workers ? "with workers " : "")on http://\(host.contains(":") ? "[\(host)]" : host):\(port) ; SIGTERM or Ctrl-C stops it")
            }
            printError("serve stopped cleanly")
        } catch { throw fail(error) }
    }
}

extension Serve: StoreCommand {}
