import Foundation
import PostgresStore

/// A throwaway PostgreSQL server for the tests: `initdb` into a temporary folder, started on a
/// port of its own on 127.0.0.1 (as the `postgres` user when the tests run as root: the server
/// refuses root), stopped and removed when the test process ends. One per test process; each
/// store a test makes is a schema of its own in it. `HROMADA_TEST_POSTGRES=postgres://…` uses
/// a running server instead.
public final class PostgresServer: Sendable {
    public let user: String
    public let host: String
    public let port: Int
    public let database: String
    /// The server's folder (nil for a server given by the environment).
    public let folder: String?

    /// The one server of this process, started at the first call.
    public static func shared() throws -> PostgresServer { try started.get() }

    private static let started: Result<PostgresServer, any Error> = Result { try PostgresServer.start() }

    private init(user: String, host: String, port: Int, database: String, folder: String?) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.folder = folder
    }

    /// The URL of a new, empty store's location (a fresh schema name; `admin init` or
    /// ``PostgresLogStore/initialize(_:)`` creates it).
    public func newStoreURL() -> String {
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        return "postgres://\(user)@\(host):\(port)/\(database)?schema=\(schema)"
    }

    public func newLocation() throws -> PostgresLocation { try PostgresLocation(url: newStoreURL()) }

    /// Runs `sql` through `psql` on the server (what an operator, or an attacker with the
    /// database's password, can do behind the product's back).
    public func psql(_ sql: String) throws {
        try Self.run("\(try Self.binaries())/psql", [
            "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", "\(port)", "-U", user, "-d", database, "-c", sql,
        ])
    }

    /// The folder holding the server's binaries (Debian: /usr/lib/postgresql/N/bin).
    public static func binaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for v in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") {
            return "\(root)/\(v)/bin"
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(dir)/initdb") {
            return String(dir)
        }
        throw ServerError(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: run scripts/deps.sh (apt-get install postgresql)")
    }

    struct ServerError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    private static func start() throws -> PostgresServer {
        if let url = ProcessInfo.processInfo.environment["HROMADA_TEST_POSTGRES"] {
            let at = try PostgresLocation(url: url, passwordAllowed: true)
            return PostgresServer(user: at.user, host: at.host, port: at.port, database: at.database, folder: nil)
        }
        let bin = try binaries()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hromada-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot {
            try run("/bin/chown", ["postgres:postgres", folder])
        }
        func server(_ tool: String, _ arguments: [String]) throws {
            if asRoot {
                try run("/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/\(tool)"] + arguments)
            } else {
                try run("\(bin)/\(tool)", arguments)
            }
        }
        let data = folder + "/data"
        try server("initdb", ["-D", data, "-U", "hromada", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = freePort()
            do {
                try server("pg_ctl", [
                    "-D", data, "-l", folder + "/server.log", "-w", "-t", "60", "-o",
                    "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=on", "start",
                ])
                stopAtExit(bin: bin, data: data, folder: folder, asRoot: asRoot)
                return PostgresServer(user: "hromada", host: "127.0.0.1", port: port, database: "postgres", folder: folder)
            } catch {
                lastError = error
            }
        }
        let log = (try? String(contentsOfFile: folder + "/server.log", encoding: .utf8)) ?? ""
        throw ServerError("the test PostgreSQL server did not start: \(lastError.map { "\($0)" } ?? "") \(log.suffix(800))")
    }

    /// A port nothing listens on now (the kernel's choice for port 0).
    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    nonisolated(unsafe) private static var stopCommand: [String] = []
    nonisolated(unsafe) private static var removeFolder = ""

    private static func stopAtExit(bin: String, data: String, folder: String, asRoot: Bool) {
        let stop = ["\(bin)/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]
        stopCommand = asRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + stop : stop
        removeFolder = folder
        atexit {
            try? PostgresServer.run(PostgresServer.stopCommand[0], Array(PostgresServer.stopCommand.dropFirst()))
            try? FileManager.default.removeItem(atPath: PostgresServer.removeFolder)
        }
    }

    /// Runs a program to its end; throws with its output when it fails. Through posix_spawn
    /// and waitpid, not Foundation's Process: under the test runner a Process whose child
    /// leaves a daemon behind (pg_ctl start) was never told its child had ended.
    static func run(_ program: String, _ arguments: [String]) throws {
        // output to a file, not a pipe: a server that pg_ctl starts would hold a pipe open
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("hromada-pg-run-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw ServerError("cannot start \(program): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw ServerError("waitpid \(program): \(String(cString: strerror(errno)))") }
        }
        let text = FileManager.default.contents(atPath: outputPath) ?? Data()
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw ServerError("\(program) \(arguments.joined(separator: " ")) failed (\(exited ? "exit \(code)" : "signal \(status & 0x7f)")): \(String(decoding: text, as: UTF8.self).suffix(600))")
        }
    }
}
