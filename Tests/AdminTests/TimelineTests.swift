import Foundation
import Testing
import TestSupport

/// `admin replay --timeline`: event for event what the log holds (as `admin read` prints it),
/// with the before/after values `admin history` gives, and filters that select exactly the
/// matching events.
@Suite struct TimelineTests {
    struct Row: Equatable, CustomStringConvertible {
        var position: Int
        var stream: String
        var type: String
        var actor: String?
        var recordedAt: String
        var description: String { "#\(position) \(stream) \(type) \(actor ?? "-") \(recordedAt)" }
    }

    /// The sample with other actors on some events (every 5th: juror-5; every 7th: none), in a new store.
    func store(_ dir: URL) throws -> String {
        var lines: [[UInt8]] = []
        for (n, line) in try Sample.lines().enumerated() {
            var text = String(decoding: line, as: UTF8.self)
            if (n + 1) % 7 == 0 {
                text = text.replacingOccurrences(of: #""metadata":{"actor":"operator","#, with: #""metadata":{"#)
            } else if (n + 1) % 5 == 0 {
                text = text.replacingOccurrences(of: #""actor":"operator""#, with: #""actor":"juror-5""#)
            }
            lines.append(Array(text.utf8))
        }
        let file = dir.appendingPathComponent("history.jsonl")
        try Data(lines.joinedLines()).write(to: file)
        let store = dir.appendingPathComponent("store").path
        #expect(try runAdmin(["init", "--store", store]).status == 0)
        let imported = try runAdmin(["import", file.path, "--store", store])
        #expect(imported.status == 0, "\(imported.stderr)")
        return store
    }

    func objects(_ run: ChildResult) throws -> [[String: Any]] {
        try run.stdoutLines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// What `admin read` prints, as rows.
    func logRows(_ store: String) throws -> [Row] {
        let read = try runAdmin(["read", "--store", store])
        #expect(read.status == 0)
        return try objects(read).map { e in
            Row(
                position: e["position"] as? Int ?? -1, stream: e["stream"] as? String ?? "", type: e["type"] as? String ?? "",
                actor: (e["metadata"] as? [String: Any])?["actor"] as? String, recordedAt: e["recordedAt"] as? String ?? "")
        }
    }

    func timelineRows(_ store: String, _ arguments: [String] = []) throws -> [Row] {
        let run = try runAdmin(["replay", "--timeline", "--json", "--store", store] + arguments)
        #expect(run.status == 0, "\(arguments): \(run.stderr)")
        return try objects(run).map { e in
            Row(
                position: e["position"] as? Int ?? -1, stream: e["stream"] as? String ?? "", type: e["type"] as? String ?? "",
                actor: e["actor"] as? String, recordedAt: e["recordedAt"] as? String ?? "")
        }
    }

    /// The same instant, whatever the notation (`...Z` or `....000Z`).
    static func instant(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = formatter.date(from: text) { return d }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    @Test func theTimelineIsTheLogEventForEvent() throws {
        try withTemporaryDirectory { dir in
            let store = try store(dir)
            let log = try logRows(store)
            let sampleCount = try Sample.lines().count
            #expect(log.count == sampleCount)
            let timeline = try timelineRows(store)
            #expect(timeline.count == log.count)
            for (t, l) in zip(timeline, log) {
                #expect(t.position == l.position && t.stream == l.stream && t.type == l.type && t.actor == l.actor, "\(t) vs \(l)")
                #expect(Self.instant(t.recordedAt) == Self.instant(l.recordedAt), "\(t) vs \(l)")
            }
            #expect(timeline.contains { $0.actor == nil } && timeline.contains { $0.actor == "juror-5" })

            // The human form: one line per event, position, recordedAt, actor (- when none), stream, type.
            let text = try runAdmin(["replay", "--timeline", "--store", store])
            #expect(text.status == 0)
            #expect(text.stdoutLines.count == log.count)
            let json = try objects(try runAdmin(["replay", "--timeline", "--json", "--store", store]))
            for (line, e) in zip(text.stdoutLines, json) {
                let prefix = "#\(e["position"]!)  \(e["recordedAt"]!)  \(e["actor"] as? String ?? "-")  \(e["stream"]!)  \(e["type"]!)"
                #expect(line.hasPrefix(prefix), "\(line)")
            }
        }
    }

    @Test func amendmentsShowTheirChangesAsHistoryDoes() throws {
        try withTemporaryDirectory { dir in
            let store = try store(dir)
            let amendments = try objects(
                try runAdmin(["replay", "--timeline", "--json", "--type", "SubmissionAmended", "--type", "PracticeRevised", "--store", store]))
            #expect(amendments.count == 21)
            for e in amendments.prefix(6) {
                let changes = try #require(e["changes"] as? [[String: Any]])
                #expect(!changes.isEmpty)
                let stream = try #require(e["stream"] as? String)
                let history = try runAdmin(["history", stream, "--json", "--store", store])
                let doc = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])
                let entry = try #require((doc["events"] as? [[String: Any]])?.first { $0["position"] as? Int == e["position"] as? Int })
                let expected = try #require(entry["changes"] as? [[String: Any]])
                #expect(NSArray(array: changes).isEqual(to: expected), "\(stream) #\(e["position"]!)")
            }
            let text = try runAdmin(["replay", "--timeline", "--type", "SubmissionAmended", "--store", store])
            #expect(text.stdoutLines.count == 12)
            #expect(text.stdoutLines.allSatisfy { $0.contains(" → ") || $0.contains("unchanged") })
            // A stream cut by --from keeps the before values its earlier events give.
            let first = try #require(amendments.first)
            let position = try #require(first["position"] as? Int)
            let cut = try objects(try runAdmin(["replay", "--timeline", "--json", "--from", "position:\(position)", "--to", "position:\(position)", "--store", store]))
            #expect(cut.count == 1)
            #expect(NSArray(array: cut[0]["changes"] as? [Any] ?? []).isEqual(to: first["changes"] as? [Any] ?? [1]))
        }
    }

    @Test func theFiltersSelectExactlyTheMatchingEvents() throws {
        try withTemporaryDirectory { dir in
            let store = try store(dir)
            let log = try logRows(store)
            func day(_ row: Row) -> String { String(row.recordedAt.prefix(10)) }
            let streams = ["submission-bp-2018-00037", "submission-bp-2020-00039", "community-slavutytska"]
            let cases: [([String], (Row) -> Bool)] = [
                (["--type", "JuryScoreRetracted"], { $0.type == "JuryScoreRetracted" }),
                (["--type", "SeminarHeld", "--type", "WinnersAnnounced"], { ["SeminarHeld", "WinnersAnnounced"].contains($0.type) }),
                (["--stream", streams[0]], { $0.stream == streams[0] }),
                (streams.flatMap { ["--stream", $0] }, { streams.contains($0.stream) }),
                (["--actor", "juror-5"], { $0.actor == "juror-5" }),
                (["--actor", "-"], { $0.actor == nil }),
                (["--actor", "nobody"], { _ in false }),
                (["--from", "position:100", "--to", "position:250"], { (100...250).contains($0.position) }),
                (["--from", "position:1200"], { $0.position >= 1200 }),
                (["--to", "position:0"], { _ in false }),
                (["--from", "2019-09-22", "--to", "2020-03-01"], { day($0) >= "2019-09-22" && day($0) <= "2020-03-01" }),
                (["--to", "2018-06-30"], { day($0) <= "2018-06-30" }),
                (
                    ["--from", "2019-01-01T00:00:00Z", "--type", "JuryScoreAdded", "--actor", "operator"],
                    { day($0) >= "2019-01-01" && $0.type == "JuryScoreAdded" && $0.actor == "operator" }
                ),
                (["--stream", streams[1], "--type", "SubmissionFiled"], { $0.stream == streams[1] && $0.type == "SubmissionFiled" }),
            ]
            for (arguments, matches) in cases {
                let expected = log.filter(matches).map(\.position)
                let got = try timelineRows(store, arguments).map(\.position)
                #expect(got == expected, "\(arguments)")
                if !["--to", "--actor"].contains(arguments.first ?? "") || arguments.count > 2 {
                    #expect(!expected.isEmpty, "\(arguments) selects something")
                }
            }
        }
    }

    @Test func replayTakesExactlyOneOfCheckAndTimeline() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["init", "--store", store]).status == 0)
            #expect(try runAdmin(["replay", "--store", store]).status == 64)
            #expect(try runAdmin(["replay", "--check", "--timeline", "--store", store]).status == 64)
            #expect(try runAdmin(["replay", "--check", "--type", "SeminarHeld", "--store", store]).status == 64)
            #expect(try runAdmin(["replay", "--timeline", "--from", "soon", "--store", store]).status == 64)
            let empty = try runAdmin(["replay", "--timeline", "--store", store])
            #expect(empty.status == 0)
            #expect(empty.stdout.isEmpty)
        }
    }
}
