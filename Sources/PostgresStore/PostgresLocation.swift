import Events
import Foundation

/// Where a PostgreSQL store lives: `postgres://user@host:port/database?schema=NAME`.
///
/// The store's tables are in the schema `NAME` (default `hromada`) of the database, so one
/// database can hold several stores. A password never comes from the URL on a command line
/// (which every user of the machine sees in the process list): it comes from `PGPASSWORD`, or
/// from the password file (`PGPASSFILE`, default `~/.pgpass`, the format libpq reads), or, only
/// when the URL itself came from the environment (`HROMADA_STORE`), from the URL.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var schema: String
    public var password: String?

    /// Whether `text` names a PostgreSQL store rather than a folder.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses a store URL.
    /// - Parameters:
    ///   - passwordAllowed: whether a password in the URL is accepted (false for a URL given on
    ///     the command line).
    ///   - environment: where `PGPASSWORD`, `PGPASSFILE`, `PGUSER` and `HOME` are read.
    /// - Throws: ``EventStoreError`` `.invalidArgument` naming what is wrong.
    public init(
        url text: String, passwordAllowed: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        guard Self.isURL(text), let components = URLComponents(string: text) else {
            throw EventStoreError(.invalidArgument, "\(Self.redacted(text)) is not a PostgreSQL URL (postgres://user@host:port/database)")
        }
        if components.password != nil && !passwordAllowed {
            throw EventStoreError(
                .invalidArgument,
                "the store URL on the command line carries a password, which every user of this machine can read in the process list; put it in PGPASSWORD or ~/.pgpass instead")
        }
        let user = components.user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        let host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        let port = components.port ?? 5432
        var database = components.path
        while database.hasPrefix("/") { database.removeFirst() }
        if database.isEmpty { database = user }
        var schema = "hromada"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "schema":
                guard let value = item.value, Self.isIdentifier(value) else {
                    throw EventStoreError(.invalidArgument, "schema must be a lowercase SQL identifier (letters, digits, _), not \(item.value ?? "nothing")")
                }
                schema = value
            default:
                throw EventStoreError(.invalidArgument, "the store URL's parameter \(item.name) is not known (known: schema)")
            }
        }
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.schema = schema
        self.password =
            components.password ?? environment["PGPASSWORD"]
            ?? Self.passwordFile(environment: environment).flatMap {
                Self.password(inPassFile: $0, host: host, port: port, database: database, user: user)
            }
    }

    /// The URL without any password.
    public var description: String {
        "postgres://\(user)@\(host):\(port)/\(database)" + (schema == "hromada" ? "" : "?schema=\(schema)")
    }

    /// The LISTEN/NOTIFY channel on which every commit to the store is announced (its payload
    /// the new head position). Channel names are identifiers of at most 63 bytes.
    public var changesChannel: String { String(("hromada_log_" + schema).prefix(63)) }

    /// `s.table`, quoted for SQL.
    public func table(_ name: String) -> String { "\"\(schema)\".\(name)" }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, first >= 0x61 && first <= 0x7A || first == 0x5F, s.utf8.count <= 63 else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "the URL"
    }

    /// The contents of the password file, when there is one.
    static func passwordFile(environment: [String: String]) -> String? {
        let path = environment["PGPASSFILE"] ?? environment["HOME"].map { $0 + "/.pgpass" }
        guard let path, let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The password of the first line of a libpq password file (`host:port:database:user:password`,
    /// `*` matching anything, `\:` and `\\` escaped, `#` comments) that matches.
    static func password(inPassFile text: String, host: String, port: Int, database: String, user: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields: [String] = []
            var current = ""
            var escaped = false
            for c in line {
                if escaped {
                    current.append(c)
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else if c == ":" && fields.count < 4 {
                    fields.append(current)
                    current = ""
                } else {
                    current.append(c)
                }
            }
            fields.append(current)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            let matches = zip(fields[0..<4], wanted).allSatisfy { field, value in
                field == "*" || field == value || (field == "localhost" && value == "127.0.0.1")
            }
            if matches { return fields[4] }
        }
        return nil
    }
}
