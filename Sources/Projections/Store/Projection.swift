import Events
import GRDB

/// A read model folded from events into tables of its own in the projections file.
///
/// A projection owns its tables (named `<name>_…`), so it can be rebuilt alone: ``createTables(in:tables:)``
/// creates them under the names ``ProjectionTables`` gives (the live names, or the same names with
/// the `__rebuild` suffix for a build beside the live ones), and ``apply(_:in:tables:)`` folds one
/// event into them. The store calls both inside its transactions and moves the checkpoint itself.
public protocol Projection: Sendable {
    /// The projection's name, also the prefix of its tables: `leaderboard`, `regions`, ...
    var name: String { get }
    /// Bumped whenever the tables or the fold change; a stored version that differs means the
    /// live tables must be rebuilt.
    var schemaVersion: Int { get }
    /// The live (unsuffixed) names of every table the projection owns, FTS tables included.
    var tableNames: [String] { get }
    /// Creates the projection's tables (and their indexes) under the names `tables` gives.
    func createTables(in db: Database, tables: ProjectionTables) throws
    /// Folds one event into the tables `tables` names. Events of other types are ignored.
    /// - Throws: a ``ProjectionError`` (`.malformedEvent`) or a `DatabaseError`.
    func apply(_ event: RecordedEvent, in db: Database, tables: ProjectionTables) throws
}

/// The physical names of a projection's tables: the live ones, or a copy being built beside them.
public struct ProjectionTables: Sendable, Hashable {
    /// Appended to every table name: empty for the live tables.
    public let suffix: String
    /// Numbers index names, so that a copy built beside can create its indexes while the live
    /// tables keep theirs (SQLite renames tables, not indexes).
    public let generation: Int

    public init(suffix: String, generation: Int) {
        self.suffix = suffix
        self.generation = generation
    }

    /// The suffix of the tables a rebuild fills beside the live ones.
    public static let rebuildSuffix = "__rebuild"

    /// The live tables, as first created.
    public static let live = ProjectionTables(suffix: "", generation: 0)

    /// The tables of the rebuild number `generation`.
    public static func rebuild(generation: Int) -> ProjectionTables {
        ProjectionTables(suffix: rebuildSuffix, generation: generation)
    }

    public var isLive: Bool { suffix.isEmpty }

    /// The physical name of the table `base` (a live name).
    public func name(_ base: String) -> String { base + suffix }

    /// The quoted physical name of the table `base`, ready for SQL text.
    public func quoted(_ base: String) -> String { (base + suffix).quotedDatabaseIdentifier }

    /// A unique name for the index `index` of the table `base`.
    public func indexName(_ base: String, _ index: String) -> String {
        "\(base)_\(index)_g\(generation)".quotedDatabaseIdentifier
    }
}

/// Prepared SQL texts of a projection for its live tables and for its rebuild tables, built once.
struct SQLTexts<Texts: Sendable>: Sendable {
    let live: Texts
    let rebuild: Texts
    let make: @Sendable (ProjectionTables) -> Texts

    init(_ make: @escaping @Sendable (ProjectionTables) -> Texts) {
        self.make = make
        live = make(.live)
        rebuild = make(.rebuild(generation: 0))
    }

    /// The texts for `tables`: cached for the live and the rebuild suffix, built otherwise.
    func callAsFunction(_ tables: ProjectionTables) -> Texts {
        if tables.suffix.isEmpty { return live }
        if tables.suffix == ProjectionTables.rebuildSuffix { return rebuild }
        return make(tables)
    }
}

extension Database {
    /// Runs a cached statement with `arguments`.
    @inline(__always)
    func run(_ sql: String, _ arguments: StatementArguments) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
