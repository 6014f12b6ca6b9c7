import ArgumentParser
import Events
import Foundation
import Logging

@main
enum Main {
    /// Global options may come before the subcommand (`admin --store S import F`), as in CLI.md;
    /// ArgumentParser wants them after it, so they are moved there.
    static func main() async {
        var args = Array(CommandLine.arguments.dropFirst())
        var leading: [String] = []
        while let first = args.first, first.hasPrefix("--") {
            let takesValue = ["--store", "--log-level"].contains(first)
            guard takesValue || first.contains("=") else { break }
            leading.append(args.removeFirst())
            if takesValue, !first.contains("="), !args.isEmpty { leading.append(args.removeFirst()) }
        }
        if !leading.isEmpty, !args.isEmpty {
            var insertAt = 1
            // nested subcommands: `query leaderboard`, `snapshot create`
            if ["query", "snapshot"].contains(args[0]), args.count > 1, !args[1].hasPrefix("-") { insertAt = 2 }
            args.insert(contentsOf: leading, at: insertAt)
        } else {
            args = leading + args
        }
        await Admin.main(args)
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Hromada Ledger: the operator's command line for the event log and its read models.",
        discussion: """
            Exit codes: 0 success; 1 a domain or data error (rejected event, corruption found); 64 bad usage.
            The store is --store DIR, or $HROMADA_STORE, or ./store.
            """,
        subcommands: [
            Demo.self, Init.self, Import.self, Append.self, Read.self, Export.self, Verify.self,
            Generate.self, History.self, Snapshot.self, State.self,
        ] + Admin.projectionCommands + Admin.benchCommands
    )
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The store's folder (default: $HROMADA_STORE or ./store).")
    var store: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    var layout: StoreLayout {
        StoreLayout(root: store ?? ProcessInfo.processInfo.environment["HROMADA_STORE"] ?? "./store")
    }

    func validate() throws {
        if let store, store.isEmpty { throw ValidationError("--store must not be empty") }
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

/// Turns a library error into one clear sentence on stderr and exit code 1.
func fail(_ error: any Error) -> ExitCode {
    if let e = error as? EventStoreError {
        printError("error: \(e.message)")
        if let cause = e.cause, !(cause is Rejection), !(cause is EventStore.LineRejection) {
            printError("  cause: \(cause)")
        }
    } else {
        printError("error: \(error)")
    }
    return ExitCode(1)
}

/// Buffered standard output for large outputs.
final class OutputBuffer {
    private var buffer: [UInt8] = []
    private let fd: Int32
    init(fd: Int32 = 1) { self.fd = fd; buffer.reserveCapacity(1 << 20) }
    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { flush() }
    }
    func write(_ string: String) {
        buffer.append(contentsOf: string.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }
    func flush() {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { raw in Foundation.write(fd, raw.baseAddress! + done, raw.count - done) }
            if n <= 0 { break }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
    deinit { flush() }
}
