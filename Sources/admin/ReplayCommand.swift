import ArgumentParser
import Events
import Foundation
import Projections
import Workers

/// `admin replay --check`: the read models people read, proved equal to the log.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fold the log afresh and compare every read-model table with the live one, row by row.",
        discussion: """
            Each projection is folded from the log alone (no snapshot) in a scratch folder, up to the \
            position its live copy claims, and every table compared with the live one by primary key and \
            column. The live files are only read. Exit 0 when every read model equals the log; 1 naming each \
            read model, table, key and column that differs (the live value and the value the log gives), or a \
            read model built by another schema version (stale: rebuild it first).
            """)
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Compare the live read models with a fresh fold of the log.") var check = false
    @Option(help: "Only this projection (\(StandardProjections.names.joined(separator: ", "))).")
    var projection: String?
    @Option(help: "Check this snapshot's read models (a name, or position:N) instead of the live ones.")
    var snapshot: String?
    @Option(help: "The snapshots folder (with --snapshot).") var snapshots: String = "./snapshots"
    @Option(help: "How many differences to list per read model (all are counted).") var limit = 20
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard check else { throw ValidationError("say what to replay: --check") }
        if let projection, !StandardProjections.names.contains(projection) {
            throw ValidationError("--projection must be one of \(StandardProjections.names.joined(separator: ", "))")
        }
        if limit < 0 { throw ValidationError("--limit must be >= 0") }
    }

    func run() throws {
        global.bootstrapLogging()
        Interrupt.install()
        do {
            let reader = try EventLogReader(layout: global.layout)
            let audit = ReplayAudit(reader: reader)
            let names = projection.map { [$0] }
            let report: ReplayAudit.Report
            if let snapshot {
                let scratch = try ScratchFolders.create(
                    parent: FileManager.default.temporaryDirectory.path, kind: "replay")
                defer { ScratchFolders.remove(scratch) }
                let copy = try SnapshotStore(directory: snapshots).openCopy(snapshot, reader: reader, in: scratch)
                defer { try? copy.store.close() }
                report = try audit.check(copy.store, projections: names, limit: limit)
            } else {
                report = try withProjections(global.layout) { live in
                    try audit.checkAndRecord(live, projections: names, limit: limit)
                }
            }
            if json {
                try printJSON(report)
            } else {
                print(Self.render(report))
            }
            if !report.isEqual { throw ExitCode(1) }
        } catch { throw fail(error) }
    }

    static func render(_ report: ReplayAudit.Report) -> String {
        var lines: [String] = []
        for f in report.findings {
            switch f.status {
            case .equal:
                lines.append(
                    "equal    \(f.projection): \(f.tables) tables, \(f.rows) rows, as the log gives them up to position \(f.position)")
            case .stale:
                lines.append(
                    "stale    \(f.projection): built by another schema version; rebuild it (admin rebuild --projection \(f.projection)), then check again")
            case .differs:
                lines.append(
                    "DIFFERS  \(f.projection): \(f.differenceCount) \(f.differenceCount == 1 ? "difference" : "differences") from the log at position \(f.position)")
                for d in f.differences {
                    let key = d.key.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                    switch d.kind {
                    case .changed:
                        lines.append(
                            "  \(d.table) [\(key)] \(d.column ?? "?"): live \(d.value ?? "NULL"), the log gives \(d.expected ?? "NULL")")
                    case .extra:
                        lines.append("  \(d.table) [\(key)]: a live row the log does not give")
                    case .missing:
                        lines.append("  \(d.table) [\(key)]: a row the log gives is missing from the live tables")
                    }
                }
                if f.differenceCount > f.differences.count {
                    lines.append("  ... and \(f.differenceCount - f.differences.count) more (--limit)")
                }
            }
        }
        lines.append(
            report.isEqual
                ? "ok: every read model checked equals the log (\(report.eventsReplayed) events folded)"
                : "error: the read models do not all equal the log")
        return lines.joined(separator: "\n")
    }
}

extension Replay: StoreCommand {}
