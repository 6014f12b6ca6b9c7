import ArgumentParser
import Events
import Foundation

/// `admin repair`: moves damaged log bytes aside (never deleting them), cuts the log back to
/// its last good commit, rebuilds the index, and says exactly which positions are gone.
struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move damaged log bytes aside into <store>/damaged/, cut the log back to its last good commit, rebuild the index.",
        discussion: """
            A complete frame that fails its checksum, its decompression or the hash chain is damage: \
            writers refuse to open the store until it is repaired (or the segment restored from a \
            backup). repair moves the damaged bytes and everything after them into \
            <store>/damaged/<segment>-<offset>-<time>.bin (the segment's first <offset> bytes \
            followed by that file are the segment as it was), and reports the positions taken out \
            of the log. The read models are moved aside too; `admin project` rebuilds them.
            Exit 0 when there is nothing to repair.
            """)
    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("dry-run"), help: "Only report what would be moved and which positions would be gone.") var dryRun = false
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "Wait for another writer instead of failing.") var wait = false

    func run() throws {
        do {
            let repair = LogRepair(layout: global.layout)
            let report = dryRun ? try repair.plan() : try repair.repair(wait: wait, options: global.storeOptions(wait: wait))
            guard let report else {
                if json {
                    print(#"{"nothingToRepair":true}"#)
                } else {
                    print("nothing to repair: every frame of the log verifies (a torn tail, if any, is cut by the next writer)")
                }
                return
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(Self.render(report))
            }
        } catch { throw fail(error) }
    }

    /// The report in sentences.
    static func render(_ report: LogRepair.Report) -> String {
        var lines: [String] = []
        lines.append("damage: segment \(report.segment), offset \(report.offset), position \(report.position): \(report.reason)")
        let verb = report.applied ? "" : "would be "
        let gone: String
        if let last = report.lostLast, let count = report.lostCount {
            gone = "positions \(report.lostFirst)…\(last) (\(count) \(count == 1 ? "event" : "events")) \(report.applied ? "are" : "would be") gone from the log"
        } else {
            gone = "positions from \(report.lostFirst) on \(report.applied ? "are" : "would be") gone from the log (how many is unknown: no valid frame header after the damage says)"
        }
        lines.append(gone + "; the log \(report.applied ? "now ends" : "would end") at position \(report.keptHead)")
        lines.append("\(report.movedBytes) bytes \(verb)moved aside (nothing deleted):")
        for target in report.movedTo { lines.append("  \(target)") }
        if let projections = report.projectionsMovedTo {
            lines.append("read models moved aside to \(projections); run `admin project` to rebuild them")
        }
        if !report.applied { lines.append("dry run: nothing was changed; run `admin repair` without --dry-run to do it") }
        return lines.joined(separator: "\n")
    }
}
