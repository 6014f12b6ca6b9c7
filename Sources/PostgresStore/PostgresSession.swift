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

    /// Connects (and fails with a sentence naming the server and the cause).
    init(_ location: PostgresLocation, logger: Logger = Logger(label: "hromada.postgres")) throws {
        self.location = location
        self.logger = logger
        do {
            connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: Self.configuration(location), id: 1,
                logger: logger
            ).wait()
        } catch {
            throw EventStoreError(.io, "cannot connect to PostgreSQL at \(location): \(Self.describe(error))")
        }
    }

    /// The driver's configuration for `location` (no TLS: the servers are on the operators' own
    /// network; a connection attempt gives up after 10 s).
    static func configuration(_ location: PostgresLocation) -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// Every row of `query`.
    @discardableResult
    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        try requireOpen()
        do {
            return try connection.query(query, logger: logger).wait().rows
        } catch {
            throw Self.wrap(error)
        }
    }

    /// Runs `sql` (one or more statements, no parameters) through the simple protocol.
    func execute(_ sql: String) throws {
        try requireOpen()
        do {
            _ = try connection.simpleQuery(sql).wait()
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

    /// Whether the connection is closed (by us, by the server, by the network).
    var isClosed: Bool { connection.isClosed }

    /// A query sent on a connection the server has closed would wait for ever (the driver
    /// completes nothing on it), so it is refused at once.
    private func requireOpen() throws {
        if connection.isClosed { throw EventStoreError(.io, "PostgreSQL: the connection to \(location) was closed") }
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
        return (e as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A driver error as one of the store's, with the server's message (the driver's own
    /// description hides it).
    static func wrap(_ error: any Error) -> EventStoreError {
        if let e = error as? EventStoreError { return e }
        return EventStoreError(.io, "PostgreSQL: \(describe(error))", cause: error as? PSQLError)
    }

    static func describe(_ error: any Error) -> String {
        guard let e = error as? PSQLError else { return "\(error)" }
        if let info = e.serverInfo, let message = info[.message] {
            return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
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
