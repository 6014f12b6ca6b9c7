import ArgumentParser
import Events
import Foundation
import PostgresStore

/// `admin migrate --from STORE --to STORE`: moves a whole log between backends (a folder and
/// PostgreSQL, either way, or folder to folder), verified by head hash.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move a whole log into an empty store (folder or postgres://…, either way); checked by head hash.",
        discussion: """
            The target is created when missing and must hold no events. Every stored line is imported \
            with its position, version, recordedAt and hash, in one all-or-nothing import: the \
            target's chain is recomputed line by line and must end at the source's head hash, and \
            the target is then verified end to end. Events appended to the source while this runs \
            stay in the source; the migration moves the log as it was at the start.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "The store to copy from: a folder or postgres://user@host:port/db[?schema=NAME].") var from: String
    @Option(help: "The store to copy into (created when missing; must be empty).") var to: String

    func validate() throws {
        for (name, value) in [("--from", from), ("--to", to)] where PostgresLocation.isURL(value) {
            do { _ = try PostgresLocation(url: value) } catch let e as EventStoreError { throw ValidationError("\(name): \(e.message)") }
        }
        if from == to { throw ValidationError("--from and --to name the same store") }
    }

    func run() throws {
        global.bootstrapLogging()
        do {
            var source = global
            source.store = from
            var target = global
            target.store = to
            if PostgresLocation.isURL(from) == false, !StoreLayout(root: from).exists {
                throw EventStoreError(.missingInput, "\(from) is not a store (no STORE marker)")
            }
            let reader = try source.logReader()
            let sourceHead = try reader.head()
            if let location = try target.postgres() {
                try PostgresLogStore.initialize(location)
            } else {
                try target.layout.initialize()
            }
            let writer = try target.logWriter(wait: false)
            defer { writer.close() }
            guard try writer.head == 0 else {
                throw EventStoreError(.invalidArgument, "the target \(to) already holds \(try writer.head) events; migrate copies into an empty store only")
            }
            // Pull the source's export lines a page at a time (bounded memory), as an import reads a file.
            var page: [[UInt8]] = []
            var pageIndex = 0
            var nextPosition: Int64 = 1
            let pageSize: Int64 = 4096
            let progress = ProgressLine(label: "migrating", unit: "events")
            var moved = 0
            var options = EventStore.ImportOptions()
            // the source's stored lines as they are: an operator's --no-validate events included
            options.validate = false
            let result = try writer.importLines(
                options: options,
                next: {
                    if pageIndex == page.count {
                        page.removeAll(keepingCapacity: true)
                        pageIndex = 0
                        guard nextPosition <= sourceHead.position else { return nil }
                        let last = min(sourceHead.position, nextPosition + pageSize - 1)
                        try reader.forEachLine(from: nextPosition, through: last) { _, line in
                            page.append(Array(line))
                            return true
                        }
                        guard page.count == Int(last - nextPosition + 1) else {
                            throw EventStoreError(.corrupt, "the source returned \(page.count) lines for positions \(nextPosition)…\(last)")
                        }
                        nextPosition = last + 1
                        moved += page.count
                        progress.update(done: moved, fraction: Double(moved) / Double(max(sourceHead.position, 1)))
                    }
                    defer { pageIndex += 1 }
                    return page[pageIndex]
                },
                ready: { true }, onReject: { _ in }, onCommit: { _ in })
            progress.finish()
            let targetReader = try target.logReader()
            let targetHead = try targetReader.head()
            guard targetHead.position == sourceHead.position, targetHead.hash == sourceHead.hash else {
                throw EventStoreError(
                    .corrupt,
                    "the target's head (position \(targetHead.position), hash \(targetHead.hash ?? "-")) is not the source's (position \(sourceHead.position), hash \(sourceHead.hash ?? "-"))")
            }
            let report = try targetReader.verify(expect: sourceHead.hash, progress: nil)
            if let problem = report.problem {
                throw EventStoreError(.corrupt, "the target does not verify: \(problem)")
            }
            print("migrated \(result.appended) events from \(Self.name(from)) to \(Self.name(to))")
            print("head position \(targetHead.position), hash \(targetHead.hash ?? "-") (the same in both; target verified)")
        } catch { throw fail(error) }
    }

    /// A store's name without any password.
    static func name(_ text: String) -> String {
        (try? PostgresLocation(url: text, passwordAllowed: true)).map { "\($0)" } ?? text
    }
}
