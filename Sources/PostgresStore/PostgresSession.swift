import Events
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// One PostgreSQL connection used synchronously, like every command of the store: each call
/// runs on the driver's event loop and the calling thread waits for its answer (never an event
/// loop thread itself). Not for two threads at once; the store types serialise their use.
final class PostgresSession: @unchecked Sendable {
    // @unchecked: `connection` is immutable and thread-safe in the driver; callers serialise.
    let location: PostgresLocation
    private let connection: PostgresConnection
    private let logger: Logger
    private var closed = false
    /// Statements sent without waiting (``send(_:)``), oldest first, with their place in the
    /// order of sending; the connection runs statements in the order they were sent.
    private var inFlight: [(order: Int, answer: EventLoopFuture<PostgresQueryResult>)] = []
    private var sent = 0

    /// How long a call waits for the server's answer before it gives up and closes the
    /// connection; nil: as long as it takes (a writer, whose turn may wait for another writer's
    /// long import to release the head row).
    let timeout: Duration?

    /// What a call that had no answer in time throws, as the cause of its ``EventStoreError``.
    struct Timeout: Error {}

    /// Connects (and fails with a sentence naming the server and the cause).
    init(
        _ location: PostgresLocation, timeout: Duration? = nil, logger: Logger = Logger(label: "hromada.postgres")
    ) throws {
        self.location = location
        self.logger = logger
        self.timeout = timeout
        do {
            connection = try Self.bounded(
                Self.connect(location, id: 1, logger: logger),
                timeout: timeout, location: location, onTimeout: {},
                // a connection that comes after the wait gave up is closed, not dropped open
                late: { connection in let _: EventLoopFuture<Void> = connection.close() })
        } catch let e as EventStoreError where e.cause is Timeout {
            throw EventStoreError(.io, "cannot connect to PostgreSQL at \(location): \(e.message)", cause: Timeout())
        } catch {
            throw EventStoreError(.io, "cannot connect to PostgreSQL at \(location): \(Self.describe(error))")
        }
    }

    /// Waits for `future`, for at most `timeout`. When no answer came in time, `onTimeout` runs
    /// (closing the connection, so that nothing later is sent on one whose answer is still due)
    /// and the wait fails with ``Timeout`` as the cause.
    private static func bounded<T: Sendable>(
        _ future: EventLoopFuture<T>, timeout: Duration?, location: PostgresLocation,
        onTimeout: @escaping @Sendable () -> Void, late: (@Sendable (T) -> Void)? = nil
    ) throws -> T {
        guard let timeout else { return try future.wait() }
        let loop = future.eventLoop
        let promise = loop.makePromise(of: T.self)
        future.cascade(to: promise)
        let ms = Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let timer = loop.scheduleTask(in: .milliseconds(ms)) {
            promise.fail(Timeout())
            onTimeout()
        }
        defer { timer.cancel() }
        do {
            return try promise.futureResult.wait()
        } catch is Timeout {
            if let late { future.whenSuccess(late) }
            throw EventStoreError(
                .io,
                "PostgreSQL at \(location) gave no answer within \(String(format: "%g", Double(ms) / 1000)) s (is the network to it cut?); the connection is closed, the next call connects again",
                cause: Timeout())
        }
    }

    /// Waits for an answer of this session's connection (``timeout``).
    private func wait<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        let connection = self.connection
        return try Self.bounded(future, timeout: timeout, location: location) {
            let _: EventLoopFuture<Void> = connection.close()
        }
    }

    /// Opens a connection to `location` (no TLS: the servers are on the operators' own network;
    /// an attempt gives up after ``connectSeconds``) whose both ends give it up when the link goes dead
    /// (``DeadLink``).
    static func connect(_ location: PostgresLocation, id: Int, logger: Logger) -> EventLoopFuture<PostgresConnection> {
        let deadLink = DeadLink.configured
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton.any())
            .connectTimeout(.seconds(Int64(connectSeconds)))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        if let deadLink {
            let tcp = SocketOptionLevel(IPPROTO_TCP)
            bootstrap = bootstrap
                .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
                .channelOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPIDLE), value: SocketOptionValue(deadLink.idle))
                .channelOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPINTVL), value: SocketOptionValue(deadLink.interval))
                .channelOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPCNT), value: SocketOptionValue(deadLink.count))
                .channelOption(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_USER_TIMEOUT), value: SocketOptionValue(deadLink.userTimeoutMs))
        }
        return bootstrap.connect(host: location.host, port: location.port).flatMap { channel in
            var configuration = PostgresConnection.Configuration(
                establishedChannel: channel, username: location.user, password: location.password, database: location.database)
            configuration.options.additionalStartupParameters =
                [("application_name", applicationName)] + (deadLink?.serverParameters ?? [])
            return PostgresConnection.connect(on: channel.eventLoop, configuration: configuration, id: id, logger: logger)
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
        }
    }

    /// How long a connection attempt waits for the server.
    static let connectSeconds = 10

    /// How the connections name themselves to the server (`application_name`, in
    /// `pg_stat_activity` and the server's log): `HROMADA_PG_APPLICATION_NAME`, or
    /// "hromada admin". An operator gives each host's processes a name of their own
    /// ("hromada worker lviv"), and sees whose connection holds what.
    static let applicationName: String = {
        let name = ProcessInfo.processInfo.environment["HROMADA_PG_APPLICATION_NAME"] ?? ""
        return name.isEmpty ? "hromada admin" : String(name.prefix(63))
    }()

    /// The server process serving this session's connection.
    func backendPID() throws -> Int32 {
        try rows("SELECT pg_backend_pid()").first.map { try $0.at(0, Int32.self) } ?? 0
    }

    /// When a connection is given up because its link went dead (a cut cable, a host gone, a
    /// firewall dropping packets), on both sides: `HROMADA_PG_KEEPALIVE` seconds, 15 by default,
    /// 0 for the system's defaults (which wait two hours on an idle link and about fifteen minutes
    /// on a link with data in flight).
    ///
    /// Without it, a writer cut off in the middle of its turn keeps the head row locked on the
    /// server until the server's TCP gives up on it, and every other writer of every host waits
    /// that long. So each connection asks for TCP keepalive probes and a user timeout on its own
    /// socket, and for the same on the server's (`tcp_keepalives_idle`, `tcp_keepalives_interval`,
    /// `tcp_keepalives_count`, `tcp_user_timeout`, settings any user may give in the startup
    /// message): a dead link ends the connection on both ends within about that time, the server
    /// rolls back what the connection had begun, and its locks go. A live link answers probes in
    /// milliseconds, so a turn that rightly waits minutes for the head row is not cut short.
    struct DeadLink: Sendable, Equatable {
        /// Idle seconds before the first probe.
        var idle: Int
        /// Seconds between probes.
        var interval: Int
        /// Probes unanswered before the connection is given up.
        var count: Int
        /// Milliseconds sent data may stay unacknowledged before the connection is given up.
        var userTimeoutMs: Int

        /// The settings that give a dead link up after about `seconds`.
        init?(seconds: Double) {
            guard seconds > 0 else { return nil }
            let total = max(3, Int(seconds.rounded()))
            idle = max(1, total / 3)
            count = 3
            interval = max(1, (total - idle) / count)
            userTimeoutMs = total * 1000
        }

        /// `HROMADA_PG_KEEPALIVE` (seconds; 15 when unset; 0: none).
        static let configured: DeadLink? = {
            let text = ProcessInfo.processInfo.environment["HROMADA_PG_KEEPALIVE"] ?? "15"
            return DeadLink(seconds: Double(text) ?? 15)
        }()

        /// The same for the server's end of the connection, as startup parameters.
        var serverParameters: [(String, String)] {
            [
                ("tcp_keepalives_idle", "\(idle)"), ("tcp_keepalives_interval", "\(interval)"),
                ("tcp_keepalives_count", "\(count)"), ("tcp_user_timeout", "\(userTimeoutMs)"),
            ]
        }
    }

    /// Every row of `query` (after every statement sent before it has answered).
    @discardableResult
    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        try requireOpen()
        try settle(before: Int.max)
        do {
            return try wait(connection.query(query, logger: logger)).rows
        } catch {
            throw Self.wrap(error)
        }
    }

    /// A statement sent, whose rows are taken later (``answer(_:)``).
    struct Pending {
        fileprivate let order: Int
        fileprivate let answer: EventLoopFuture<PostgresQueryResult>
    }

    /// Sends `query` and returns at once: the caller goes on with its own work while the server
    /// runs it. Its rows are taken with ``answer(_:)``.
    func request(_ query: PostgresQuery) throws -> Pending {
        try requireOpen()
        sent += 1
        return Pending(order: sent, answer: connection.query(query, logger: logger))
    }

    /// The rows of a statement ``request(_:)`` sent. A statement sent before it without waiting
    /// (``send(_:)``) that failed is thrown first: after it, the transaction refuses everything
    /// (SQLSTATE 25P02), and its own error is the one that says what went wrong.
    func answer(_ pending: Pending) throws -> [PostgresRow] {
        try settle(before: pending.order)
        do {
            return try wait(pending.answer).rows
        } catch {
            throw Self.wrap(error)
        }
    }

    /// Sends `query` without waiting for its answer (an INSERT whose rows are not needed). Its
    /// failure is thrown by the next statement that waits (``rows(_:)``, ``answer(_:)``,
    /// ``execute(_:)``, ``settle()``): a transaction's COMMIT always waits for it first.
    func send(_ query: PostgresQuery) throws {
        try requireOpen()
        sent += 1
        inFlight.append((sent, connection.query(query, logger: logger)))
    }

    /// Waits for every statement sent before the one numbered `order`.
    func settle(before order: Int = Int.max) throws {
        while let first = inFlight.first, first.order < order {
            inFlight.removeFirst()
            do {
                _ = try wait(first.answer)
            } catch {
                let failed = inFlight
                inFlight.removeAll()
                for other in failed { _ = try? other.answer.wait() }
                throw Self.wrap(error)
            }
        }
    }

    /// Runs `sql` (one or more statements, no parameters) through the simple protocol.
    func execute(_ sql: String) throws {
        try requireOpen()
        do {
            try settle()
        } catch {
            // a statement sent without waiting failed: the ROLLBACK that follows must still run
            if sql != "ROLLBACK" { throw error }
        }
        do {
            _ = try wait(connection.simpleQuery(sql))
        } catch {
            throw Self.wrap(error)
        }
    }

    /// Runs `body` in a transaction (`BEGIN` … `COMMIT`), rolled back when it throws.
    func transaction<T>(_ isolation: String = "READ COMMITTED", _ body: () throws -> T) throws -> T {
        try execute("BEGIN ISOLATION LEVEL \(isolation)")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Closes the connection at once, from any thread, without waiting: a statement waiting on
    /// it (on a link that is cut, the answer may never come) fails now.
    func interrupt() {
        let _: EventLoopFuture<Void> = connection.close()
    }

    /// Whether the connection is closed (by us, by the server, by the network).
    var isClosed: Bool { connection.isClosed }

    /// A query sent on a connection the server has closed would wait for ever (the driver
    /// completes nothing on it), so it is refused at once.
    private func requireOpen() throws {
        if connection.isClosed {
            throw EventStoreError(.io, "PostgreSQL: the connection to \(location) was closed", cause: ConnectionClosed())
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        try? connection.close().wait()
    }

    deinit { close() }

    /// The SQLSTATE of a server error (`23505` a unique violation, …), or nil.
    static func sqlState(_ error: any Error) -> String? {
        let e = (error as? EventStoreError)?.cause ?? error
        return ((e as? DriverError)?.error ?? e as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The cause of a call refused because its connection was closed already.
    struct ConnectionClosed: Error {}

    /// Whether `error` is the loss of the connection (closed, timed out, reset, a dead link),
    /// not an answer of the server's: what the server had of an open transaction is rolled back.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        guard let e = error as? EventStoreError else { return false }
        if e.cause is Timeout || e.cause is ConnectionClosed { return true }
        if let driver = e.cause as? DriverError { return driver.error.serverInfo == nil }
        return false
    }

    /// A driver error kept as the cause of one of the store's: printed with its details (the
    /// driver's own description is one generic sentence, whatever went wrong).
    struct DriverError: Error, CustomStringConvertible {
        let error: PSQLError
        var description: String { String(reflecting: error) }
    }

    /// A driver error as one of the store's, with the server's message (the driver's own
    /// description hides it).
    static func wrap(_ error: any Error) -> EventStoreError {
        if let e = error as? EventStoreError { return e }
        return EventStoreError(.io, "PostgreSQL: \(describe(error))", cause: (error as? PSQLError).map(DriverError.init))
    }

    static func describe(_ error: any Error) -> String {
        // "Connection refused", not NIO's dump of every address it tried
        if let e = error as? NIOConnectionError {
            let reasons = e.connectionErrors.map { failure -> String in
                if let io = failure.error as? IOError { return String(cString: strerror(io.errnoCode)) }
                return "\(failure.error)"
            }
            if let first = reasons.first, reasons.allSatisfy({ $0 == first }) { return first }
            return reasons.isEmpty ? "cannot resolve \(e.host)" : reasons.joined(separator: "; ")
        }
        if let e = error as? ChannelError, case .connectTimeout = e { return "no answer within \(connectSeconds) s" }
        guard let e = error as? PSQLError else { return "\(error)" }
        if let info = e.serverInfo, let message = info[.message] {
            return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
        }
        if let io = e.underlying as? IOError {
            return "the connection was lost: \(String(cString: strerror(io.errnoCode)))"
        }
        if let underlying = e.underlying { return "\(underlying)" }
        return "\(e.code)"
    }
}

extension PostgresRow {
    /// Column `n` decoded as `T`.
    func at<T: PostgresDecodable>(_ n: Int, _ type: T.Type = T.self) throws -> T {
        try makeRandomAccess()[n].decode(T.self, context: .default)
    }
}

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}
