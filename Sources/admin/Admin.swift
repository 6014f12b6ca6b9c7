import ArgumentParser
import Events
import Foundation
import PostgresStore
import Logging
import Projections
import Workers

@main
enum Main {
    static func main() async {
        let args = arrangeGlobalOptions(Array(CommandLine.arguments.dropFirst()))
        // What a process killed with -9 left in the temporary folder goes at the next start.
        ScratchFolders.sweepAll(parent: FileManager.default.temporaryDirectory.path)
        do {
            // Every command that works on an existing store checks, before anything else and
            // without writing, that the folder is a store of a version this build reads. (The
            // command is parsed again where it runs: a parsed command is not Sendable.)
            // (A PostgreSQL store is checked by its reader or writer when it connects.)
            if let onStore = try Admin.parseAsRoot(args) as? any StoreCommand, try onStore.global.postgres() == nil {
                try onStore.global.layout.requireStore()
            }
            if var asyncCommand = try Admin.parseAsRoot(args) as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var command = try Admin.parseAsRoot(args)
                try command.run()
            }
        } catch let error as EventStoreError {
            Admin.exit(withError: fail(error))
        } catch {
            Admin.exit(withError: error)
        }
    }

    /// Global options may come anywhere before the command's own arguments (`admin --store S
    /// import F`, `admin query --store S regions`); ArgumentParser wants them after the
    /// (sub)command's name, so they are moved there.
    static func arrangeGlobalOptions(_ input: [String]) -> [String] {
        let withValue: Set<String> = ["--store", "--log-level", "--read-models"]
        var global: [String] = []
        var path: [String] = []
        var rest = input[...]
        while let first = rest.first {
            let name = String(first.split(separator: "=", maxSplits: 1).first ?? "")
            if withValue.contains(name) {
                global.append(rest.removeFirst())
                if !first.contains("="), let value = rest.first {
                    global.append(value)
                    rest.removeFirst()
                }
            } else if !first.hasPrefix("-"), path.isEmpty || (path.count == 1 && groups.contains(path[0])) {
                path.append(rest.removeFirst())
            } else {
                break
            }
        }
        return path + global + rest
    }

    /// Commands whose first argument names a subcommand.
    static let groups: Set<String> = ["query", "snapshot"]
}

/// A command that works on an existing store: it refuses a folder that is not one (exit 1) or
/// does not exist (exit 66) before it does anything. `init`, `demo` and `generate` are not
/// such commands.
protocol StoreCommand {
    var global: GlobalOptions { get }
}

extension Import: StoreCommand {}
extension Append: StoreCommand {}
extension Read: StoreCommand {}
extension Export: StoreCommand {}
extension Verify: StoreCommand {}
extension Repair: StoreCommand {}
extension Stats: StoreCommand {}
extension History: StoreCommand {}
extension State: StoreCommand {}
extension Project: StoreCommand {}
extension Rebuild: StoreCommand {}
extension WorkersCommand: StoreCommand {}
extension LeaderboardQuery: StoreCommand {}
extension RegionsQuery: StoreCommand {}
extension CatalogQuery: StoreCommand {}
extension NetworkQuery: StoreCommand {}
extension SeminarsQuery: StoreCommand {}
extension SnapshotCreate: StoreCommand {}
extension SnapshotList: StoreCommand {}
extension SnapshotVerify: StoreCommand {}
extension SnapshotRestore: StoreCommand {}
extension SnapshotPrune: StoreCommand {}

/// The version `admin --version` prints: the program's, and the store format it reads and writes.
enum AdminVersion {
    static let program = "0.10.0"
    static let text = "\(program) (store format 1, index schema \(StoreLayout.indexSchema))"
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Hromada Ledger: the operator's command line for the event log and its read models.",
        discussion: """
            Exit codes: 0 success; 1 a domain or data error (rejected event, damage found, a folder \
            that is not a store); 64 bad usage; 66 a named input file or store does not exist.
            The store is --store DIR, or $HROMADA_STORE, or ./store; --store may come before or after the command.
            """,
        version: AdminVersion.text,
        subcommands: [
            Demo.self, Init.self, Import.self, Append.self, Read.self, Export.self, Verify.self, Repair.self, Migrate.self,
            Generate.self, History.self, Snapshot.self, State.self, Completions.self, ExportModel.self,
        ] + Admin.projectionCommands + Admin.benchCommands + Admin.auditCommands + [Serve.self]
    )
}

/// `admin completions bash|zsh|fish`: the shell completion script.
struct Completions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a shell completion script (bash, zsh or fish).",
        discussion: """
            bash: admin completions bash > /etc/bash_completion.d/admin
            zsh:  admin completions zsh > "${fpath[1]}/_admin"
            fish: admin completions fish > ~/.config/fish/completions/admin.fish
            """)

    @Argument(help: "bash, zsh or fish.")
    var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else {
            throw ValidationError("unknown shell \"\(shell)\"; choose bash, zsh or fish")
        }
    }

    func run() throws {
        print(Admin.completionScript(for: CompletionShell(rawValue: shell)!))
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The store's folder (default: $HROMADA_STORE or ./store).")
    var store: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    @Option(
        name: .long,
        help: "Where this host keeps the read models of a PostgreSQL store (default: $HROMADA_READ_MODELS or ./read-models). A folder store keeps them inside its folder.")
    var readModels: String?

    /// The store as given: --store, else $HROMADA_STORE, else ./store.
    var storeText: String {
        store ?? ProcessInfo.processInfo.environment["HROMADA_STORE"] ?? "./store"
    }

    /// The PostgreSQL store the options name (`postgres://…`), or nil for a folder. A password
    /// is accepted in the URL only when it came from $HROMADA_STORE, not from the command line.
    func postgres() throws -> PostgresLocation? {
        guard PostgresLocation.isURL(storeText) else { return nil }
        return try PostgresLocation(url: storeText, passwordAllowed: store == nil)
    }

    /// The folder store the options name. A command that runs only on a folder store stops
    /// here, with exit code 64, when given a PostgreSQL URL (it never makes a folder named
    /// after the URL).
    var layout: StoreLayout {
        if PostgresLocation.isURL(storeText) {
            let command = CommandLine.arguments.dropFirst().first { !$0.hasPrefix("-") && !PostgresLocation.isURL($0) } ?? "this command"
            printError("error: `admin \(command)` runs on a folder store only; on a PostgreSQL store the commands are: \(Self.postgresCommands)")
            Foundation.exit(64)
        }
        return StoreLayout(root: storeText)
    }

    static let postgresCommands =
        "init, import, append, read, export, verify, stats, migrate, project, workers, rebuild, query, history, state, replay, snapshot, receipt, serve, export-model"

    /// The read models' folder of a PostgreSQL store on this host.
    var readModelsFolder: String {
        readModels ?? ProcessInfo.processInfo.environment["HROMADA_READ_MODELS"] ?? "./read-models"
    }

    /// The store as the read-model commands, the workers and the service reach it.
    func storeAccess() throws -> StoreAccess {
        guard let location = try postgres() else { return .folder(layout) }
        let folder = ReadModelFolder(path: readModelsFolder)
        return StoreAccess(
            name: location.description, readModels: folder, writersCoexist: true,
            makeReader: { try PostgresLogReader(location: location) },
            makeWriter: { try PostgresLogStore(location: location, options: $0) },
            makeWatcher: { poll in PostgresChanges.watcher(location, pollInterval: poll) })
    }

    /// The store's reader, or nil when the folder holds no store (a PostgreSQL store is always
    /// opened: its reader says when the database holds none).
    func readerIfStore() throws -> (any LogReading)? {
        if try postgres() == nil, !layout.exists { return nil }
        return try logReader()
    }

    /// The store's writer: the folder store's ``EventStore`` or a PostgreSQL one.
    func logWriter(wait: Bool) throws -> any LogWriting {
        if let location = try postgres() {
            return try PostgresLogStore(location: location, options: storeOptions(wait: wait))
        }
        return try EventStore(layout: layout, options: storeOptions(wait: wait))
    }

    /// The store's reader.
    func logReader() throws -> any LogReading {
        if let location = try postgres() { return try PostgresLogReader(location: location) }
        return try EventLogReader(layout: layout)
    }

    func validate() throws {
        if let store, store.isEmpty { throw ValidationError("--store must not be empty") }
        if let store, PostgresLocation.isURL(store) {
            do { _ = try PostgresLocation(url: store) } catch let e as EventStoreError { throw ValidationError(e.message) }
        }
    }

    func bootstrapLogging() {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    var logger: Logger {
        var logger = Logger(label: "hromada.admin")
        logger.logLevel = logLevel
        return logger
    }

    func storeOptions(wait: Bool = false) -> EventStoreOptions {
        var options = EventStoreOptions()
        options.waitForLock = wait
        options.logger = Logger(label: "hromada.events")
        return options
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Prints to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Turns a library error into one clear sentence on stderr and its exit code: 66 when a named
/// input file or store does not exist, 1 otherwise.
func fail(_ error: any Error) -> ExitCode {
    if let e = error as? EventStoreError {
        printError("error: \(e.message)")
        if let cause = e.cause, !(cause is Rejection), !(cause is EventStore.LineRejection) {
            printError("  cause: \(cause)")
        }
        return e.code == .missingInput ? ExitCode(66) : ExitCode(1)
    } else if let code = error as? ExitCode {
        return code
    } else if let e = error as? ProjectionError, e.code == .cancelled {
        printError("interrupted: \(e.message)")
        return ExitCode(130)
    } else {
        printError("error: \(error)")
    }
    return ExitCode(1)
}
