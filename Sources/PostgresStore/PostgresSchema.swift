import Events
import Foundation
import PostgresNIO

/// The tables of a PostgreSQL store (docs/FORMAT.md, "The PostgreSQL store"), in the schema
/// the location names.
///
/// - `store`: one row, the format (1, the same lines and chain as the file store's format 1).
/// - `head`: one row, the last committed position, its chain hash and `recordedAt`. Every
///   writer locks it (`SELECT … FOR UPDATE`) first in its transaction and updates it last: that
///   lock is what makes positions dense and in commit order across hosts.
/// - `batches`: the log itself. One row per batch of consecutive events: the positions it
///   holds, its first and last `recordedAt`, the chain hash after its last event, and `body`,
///   one zstd frame of the stored lines (each with its newline) — what a file store's frame
///   holds.
/// - `events`: the index: each event's position, id, stream, version and `recordedAt`
///   (lookups by id, by stream, by time). Rebuildable from `batches`.
/// - `domain_state`: the business rules' state folded to a position (zstd-compressed JSON), so
///   that a writer does not fold the whole log when it opens.
enum PostgresSchema {
    static let format = 1

    static func statements(_ at: PostgresLocation) -> [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \"\(at.schema)\"",
            "CREATE TABLE IF NOT EXISTS \(at.table("store")) (format integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
            """
            CREATE TABLE IF NOT EXISTS \(at.table("head")) (
              one boolean PRIMARY KEY DEFAULT true CHECK (one),
              position bigint NOT NULL, hash bytea, recorded_at bigint NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(at.table("batches")) (
              first_position bigint PRIMARY KEY, last_position bigint NOT NULL,
              first_recorded_at bigint NOT NULL, last_recorded_at bigint NOT NULL,
              last_hash bytea NOT NULL, raw_length integer NOT NULL, body bytea NOT NULL,
              CHECK (last_position >= first_position))
            """,
            """
            CREATE TABLE IF NOT EXISTS \(at.table("events")) (
              position bigint PRIMARY KEY, id uuid NOT NULL UNIQUE, stream text NOT NULL,
              version bigint NOT NULL, recorded_at bigint NOT NULL, UNIQUE (stream, version))
            """,
            """
            CREATE TABLE IF NOT EXISTS \(at.table("domain_state")) (
              one boolean PRIMARY KEY DEFAULT true CHECK (one), position bigint NOT NULL, state bytea NOT NULL)
            """,
        ]
    }

    /// Creates the store's tables when they are missing (idempotent; two at once wait for each
    /// other on an advisory lock).
    static func initialize(_ session: PostgresSession) throws {
        let at = session.location
        try session.transaction {
            try session.rows("SELECT pg_advisory_xact_lock(hashtext(\(at.schema)))")
            for sql in statements(at) { try session.execute(sql) }
            if try session.rows(PostgresQuery(unsafeSQL: "SELECT format FROM \(at.table("store"))")).isEmpty {
                try session.execute("INSERT INTO \(at.table("store")) (format) VALUES (\(format))")
                try session.execute("INSERT INTO \(at.table("head")) (position, hash, recorded_at) VALUES (0, NULL, \(Int64.min))")
            }
        }
    }

    /// Refuses a location that holds no store (exit 66 in the CLI) or one of another format.
    static func require(_ session: PostgresSession) throws {
        let at = session.location
        let exists = try session.rows("SELECT to_regclass(\(at.schema + ".store")) IS NOT NULL").first?.at(0, Bool.self) ?? false
        guard exists else {
            throw EventStoreError(.missingInput, "\(at) holds no store (run `admin init --store \(at)` first)")
        }
        let stored = try session.rows(PostgresQuery(unsafeSQL: "SELECT format FROM \(at.table("store"))")).first?.at(0, Int32.self)
        guard let stored, stored == format else {
            throw EventStoreError(
                .invalidArgument, "\(at) is a store of format \(stored.map(String.init) ?? "unknown"); this build reads format \(format)")
        }
    }
}
