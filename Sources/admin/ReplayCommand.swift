import ArgumentParser
import Events
import Foundation
import Rendering
import Projections
import Workers

/// `admin replay --check`: the read models people read, proved equal to the log.
/// `admin replay --timeline`: the history as an auditor reads it (TimelineCommand.swift).
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit by replay: --check compares every read-model table with a fresh fold of the log; --timeline prints the history event by event.",
        discussion: """
            --check: each projection is folded from the log alone (no snapshot) in a scratch folder, up to the \
            position its live copy claims, and every table compared with the live one by primary key and \
            column. The live files are only read. Exit 0 when every read model equals the log; 1 naming each \
            read model, table, key and column that differs (the live value and the value the log gives), or a \
            read model built by another schema version (stale: rebuild it first).

            --timeline: one line per event in log order: position, recordedAt, actor (metadata.actor, - when \
            none), stream, type, and what changed (each changed field before -> after, as `admin history` gives \
            them, else the event's facts). --from/--to take a date, a date-time or position:N; --type and \
            --stream may be repeated; --actor - selects the events that name no actor. --json prints one JSON \
            object per line: {"position","recordedAt","occurredAt","actor","stream","type","version","id","hash",\
            "changes":[{"field","before","after"}],"details"}.
            """)
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Compare the live read models with a fresh fold of the log.") var check = false
    @Flag(help: "Print the history event by event: when, who, which stream, what changed.") var timeline = false
    @Option(help: "Timeline: from this time (a date, a date-time, or position:N).") var from: String?
    @Option(help: "Timeline: up to this time (a date (its end), a date-time, or position:N).") var to: String?
    @Option(help: "Timeline: only events of this type (repeatable).") var type: [String] = []
    @Option(help: "Timeline: only events of this stream (repeatable).") var stream: [String] = []
    @Option(help: "Timeline: only events of this actor (- for none).") var actor: String?
    @Option(help: "Only this projection (\(StandardProjections.names.joined(separator: ", "))).")
    var projection: String?
    @Option(help: "Check this snapshot's read models (a name, or position:N) instead of the live ones.")
    var snapshot: String?
    @Option(help: "The snapshots folder (with --snapshot).") var snapshots: String = "./snapshots"
    @Option(help: "How many differences to list per read model (all are counted).") var limit = 20
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard check != timeline else {
            throw ValidationError(check ? "give either --check or --timeline, not both" : "say what to replay: --check or --timeline")
        }
        if check, from != nil || to != nil || !type.isEmpty || !stream.isEmpty || actor != nil {
            throw ValidationError("--from, --to, --type, --stream and --actor go with --timeline")
        }
        if timeline, projection != nil { throw ValidationError("--projection goes with --check") }
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, TimePoint(value) == nil {
                throw ValidationError("\(name) must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N")
            }
        }
        if let projection, !StandardProjections.names.contains(projection) {
            throw ValidationError("--projection must be one of \(StandardProjections.names.joined(separator: ", "))")
        }
        if limit < 0 { throw ValidationError("--limit must be >= 0") }
    }

    func run() throws {
        global.bootstrapLogging()
        if timeline { return try runTimeline() }
        Interrupt.install()
        do {
            let reader = try global.logReader()
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
                report = try withProjections(try global.storeAccess()) { live in
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

    func runTimeline() throws {
        do {
            let reader = try global.logReader()
            var selection = Timeline()
            if let from { selection.from = try Timeline.firstPosition(from, in: reader) }
            if let to = to.flatMap(TimePoint.init) { selection.to = try to.position(in: reader) }
            selection.types = Set(type)
            selection.streams = Set(stream)
            selection.actor = actor
            let out = OutputBuffer()
            for line in try selection.lines(reader: reader) {
                out.write((json ? Timeline.json(line).canonicalString : Timeline.render(line)) + "\n")
            }
            out.flush()
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
