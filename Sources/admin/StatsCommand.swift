import ArgumentParser
import Events
import Foundation
import PostgresStore
import Rendering
import Projections

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Events, streams, segments, bytes on disk, compression ratio, head position and time, projection lags.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        do {
            let reader = try global.logReader()
            let postgres = try global.postgres()
            // a folder store's read models are beside its log; a PostgreSQL store's in the host's --read-models folder
            let access = try global.storeAccess()
            let hasProjections = FileManager.default.fileExists(atPath: access.projectionsPath)
            if json {
                let document =
                    hasProjections
                    ? try withProjections(access) { try ServiceDocuments.stats(reader: reader, projections: $0) }
                    : try ServiceDocuments.stats(reader: reader, projections: nil)
                printJSON(document)
                return
            }
            let stats = try reader.stats()
            var projections: [String] = []
            var audits: [String] = []
            if hasProjections {
                let headTime = stats.headRecordedAt.flatMap(Timestamp.init(rfc3339:))
                (projections, audits) = try withProjections(access) { store in
                    (
                        try Self.statusLines(store.status(), head: stats.headPosition, headTime: headTime),
                        try Self.auditLines(store.audits(), generations: store.generations())
                    )
                }
            }
            let ratio = stats.logBytes > 0 ? Double(stats.uncompressedBytes) / Double(stats.logBytes) : 0
            print("store       \(postgres.map { "\($0) (PostgreSQL)" } ?? access.name)")
            if postgres != nil { print("read models \(access.projectionsPath)") }
            print("events      \(stats.events) in \(stats.streams) streams")
            if postgres != nil {
                print("log         \(stats.frames) batches, \(stats.logBytes) bytes in table batches (\(String(format: "%.2f", ratio))x compression of \(stats.uncompressedBytes) bytes)")
                print("index       \(stats.indexBytes) bytes (tables events, head, store, domain_state, with their indexes)")
            } else {
                print("log         \(stats.segments) segments, \(stats.frames) frames, \(stats.logBytes) bytes (\(String(format: "%.2f", ratio))x compression of \(stats.uncompressedBytes) bytes)")
                print("index       \(stats.indexBytes) bytes")
            }
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

    /// Each projection's checkpoint, lag (events and seconds) and state, one line each (the
    /// `--json` form comes from ``ServiceDocuments/stats(reader:projections:)``).
    static func statusLines(_ statuses: [ProjectionStatus], head: Int64, headTime: Timestamp?) -> [String] {
        statuses.map { s in
            let (lag, seconds) = s.lag(behind: head, recordedAt: headTime)
            var state = s.state.rawValue
            if s.isStale { state += ", stale schema \(s.storedSchemaVersion) (code \(s.codeSchemaVersion))" }
            var text = "\(s.name.padding(toLength: 12, withPad: " ", startingAt: 0)) checkpoint \(s.checkpoint.position), lag \(lag) events / \(String(format: "%.0f", seconds)) s, \(state)"
            if let e = s.lastError { text += ", last error: \(e)" }
            return text
        }
    }

    /// Each projection's latest replay check: its verdict, and whether a rebuild since has made
    /// it old.
    static func auditLines(_ audits: [AuditRecord], generations: [String: Int]) -> [String] {
        audits.map { a in
            let name = a.projection.padding(toLength: 12, withPad: " ", startingAt: 0)
            var text = "\(name) \(a.status.rawValue) at position \(a.position), checked \(a.checkedAt.rfc3339)"
            if a.status == .differs { text += " (\(a.differences) \(a.differences == 1 ? "difference" : "differences"))" }
            if !a.isCurrent(in: generations) { text += "; rebuilt since" }
            return text
        }
    }
}
