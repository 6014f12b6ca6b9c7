import ArgumentParser
import Events
import Foundation
import Rendering
import Projections

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Events, streams, segments, bytes on disk, compression ratio, head position and time, projection lags.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        do {
            let reader = try EventLogReader(layout: global.layout)
            if json {
                let document =
                    FileManager.default.fileExists(atPath: global.layout.projections)
                    ? try withProjections(global.layout) { try ServiceDocuments.stats(reader: reader, projections: $0) }
                    : try ServiceDocuments.stats(reader: reader, projections: nil)
                printJSON(document)
                return
            }
            let stats = try reader.stats()
            let projections = try projectionStatusLines(layout: global.layout, head: stats.headPosition, headTime: stats.headRecordedAt)
            let audits = try auditLines(layout: global.layout)
            let ratio = stats.logBytes > 0 ? Double(stats.uncompressedBytes) / Double(stats.logBytes) : 0
            print("store       \(global.layout.root)")
            print("events      \(stats.events) in \(stats.streams) streams")
            print("log         \(stats.segments) segments, \(stats.frames) frames, \(stats.logBytes) bytes (\(String(format: "%.2f", ratio))x compression of \(stats.uncompressedBytes) bytes)")
            print("index       \(stats.indexBytes) bytes")
            print("head        position \(stats.headPosition), recorded \(stats.headRecordedAt ?? "-")")
            print("head hash   \(stats.headHash ?? "-")")
            if projections.isEmpty {
                print("projections none built yet (run `admin project`)")
            } else {
                print("projections")
                for p in projections { print("  " + p) }
            }
            if !audits.isEmpty {
                print("replay checks")
                for a in audits { print("  " + a) }
            }
        } catch { throw fail(error) }
    }
}

/// Each projection's latest replay check, for `admin stats`: its verdict, and whether a rebuild
/// since has made it old.
func auditLines(layout: StoreLayout) throws -> [String] {
    guard FileManager.default.fileExists(atPath: layout.projections) else { return [] }
    let (audits, generations) = try withProjections(layout) { store in (try store.audits(), try store.generations()) }
    return audits.map { a in
        let current = generations[a.projection] == a.generation
        let name = a.projection.padding(toLength: 12, withPad: " ", startingAt: 0)
        var text = "\(name) \(a.status.rawValue) at position \(a.position), checked \(a.checkedAt.rfc3339)"
        if a.status == .differs { text += " (\(a.differences) \(a.differences == 1 ? "difference" : "differences"))" }
        if !current { text += "; rebuilt since" }
        return text
    }
}
