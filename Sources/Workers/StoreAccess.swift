import Events
import Foundation

/// One store as the long-running parts (the workers, the service) and the read-model commands
/// reach it: a reader of its log, its writer, where its read models live, and how a change of its
/// log is noticed. The folder store makes one (``folder(_:)``); the command line makes the
/// PostgreSQL store's (reader, writer and LISTEN/NOTIFY from the PostgresStore target).
public struct StoreAccess: Sendable {
    /// The store, named for messages: its folder, or its URL without the password.
    public let name: String
    /// The host's folder of the read models, for a store whose log is elsewhere (PostgreSQL);
    /// nil for a folder store, whose read models are inside it.
    public let readModels: ReadModelFolder?
    /// The SQLite file of the read models folded from this store's log.
    public let projectionsPath: String
    /// Whether writers of several processes may be open at once (PostgreSQL: they take turns
    /// per transaction). A folder store's writer holds the store's lock while it is open, so the
    /// service opens one per request and closes it; a PostgreSQL one is kept open.
    public let writersCoexist: Bool
    /// Opens a reader of the log.
    public let makeReader: @Sendable () throws -> any LogReading
    /// Opens the log's writer.
    public let makeWriter: @Sendable (EventStoreOptions) throws -> any LogWriting
    /// A watcher of the log that ticks at least every `poll`.
    public let makeWatcher: @Sendable (_ poll: Duration) -> LogWatcher

    /// A store whose log is elsewhere; its read models in the host's folder `readModels`.
    public init(
        name: String, readModels: ReadModelFolder, writersCoexist: Bool,
        makeReader: @escaping @Sendable () throws -> any LogReading,
        makeWriter: @escaping @Sendable (EventStoreOptions) throws -> any LogWriting,
        makeWatcher: @escaping @Sendable (_ poll: Duration) -> LogWatcher
    ) {
        self.init(
            name: name, readModels: readModels, projectionsPath: readModels.projections, writersCoexist: writersCoexist,
            makeReader: makeReader, makeWriter: makeWriter, makeWatcher: makeWatcher)
    }

    /// A folder store: its read models in its `projections.sqlite`, changes seen by inotify.
    public static func folder(_ layout: StoreLayout) -> StoreAccess {
        StoreAccess(
            name: layout.root, readModels: nil, projectionsPath: layout.projections, writersCoexist: false,
            makeReader: { try EventLogReader(layout: layout) },
            makeWriter: { try EventStore(layout: layout, options: $0) },
            makeWatcher: { LogWatcher(layout: layout, pollInterval: $0) })
    }

    private init(
        name: String, readModels: ReadModelFolder?, projectionsPath: String, writersCoexist: Bool,
        makeReader: @escaping @Sendable () throws -> any LogReading,
        makeWriter: @escaping @Sendable (EventStoreOptions) throws -> any LogWriting,
        makeWatcher: @escaping @Sendable (_ poll: Duration) -> LogWatcher
    ) {
        self.name = name
        self.readModels = readModels
        self.projectionsPath = projectionsPath
        self.writersCoexist = writersCoexist
        self.makeReader = makeReader
        self.makeWriter = makeWriter
        self.makeWatcher = makeWatcher
    }
}
