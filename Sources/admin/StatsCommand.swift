import ArgumentParser
import Events
import Foundation

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Events, streams, segments, bytes on disk, compression ratio, head position and time, projection lags.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        do {
            let reader = try EventLogReader(layout: global.layout)
            let stats = try reader.stats()
            let projections = try projectionStatusLines(layout: global.layout, head: stats.headPosition, headTime: stats.headRecordedAt)
            if json {
                var object: [String: JSONValue] = [
                    "events": .int(stats.events), "streams": .int(stats.streams), "frames": .int(stats.frames),
                    "segments": .int(Int64(stats.segments)), "logBytes": .int(stats.logBytes),
                    "indexBytes": .int(stats.indexBytes), "uncompressedBytes": .int(stats.uncompressedBytes),
                    "headPosition": .int(stats.headPosition),
                    "headRecordedAt": stats.headRecordedAt.map(JSONValue.string) ?? .null,
                    "headHash": stats.headHash.map(JSONValue.string) ?? .null,
                ]
                object["projections"] = .array(projections.map(\.json))
                printJSON(JSONValue.object(object))
                return
            }
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
                for p in projections { print("  " + p.text) }
            }
        } catch { throw fail(error) }
    }
}
