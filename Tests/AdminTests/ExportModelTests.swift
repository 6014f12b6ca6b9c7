import Foundation
import Testing
import TestSupport

/// `admin export-model`: the CSV read back (Python's csv module) holds the JSON document's rows
/// as docs/OPEN-DATA.md flattens them, Cyrillic intact; JSON Lines the same; `--at` exports the
/// past; bad input is refused with exit 64 or 1 and writes nothing; the API's `?format=` gives
/// the command line's bytes.
@Suite(.serialized) struct ExportModelTests {
    /// Runs admin and requires success.
    static func admin(_ store: String, _ arguments: [String]) throws -> ChildResult {
        let run = try runAdmin(["--store", store] + arguments)
        try #require(run.status == 0, "\(arguments): \(run.stderr)")
        return run
    }

    /// Exports `model` as CSV and JSON Lines into `dir`, writes `document` beside them, and has
    /// csv_roundtrip.py compare the three.
    static func roundTrip(
        _ store: String, _ dir: URL, model: String, filters: [String], document: String, tag: String
    ) throws {
        let csv = dir.appendingPathComponent("\(tag).csv").path
        let jsonl = dir.appendingPathComponent("\(tag).jsonl").path
        let json = dir.appendingPathComponent("\(tag).json").path
        _ = try admin(store, ["export-model", model, "--format", "csv", "--output", csv] + filters)
        _ = try admin(store, ["export-model", model, "--format", "jsonl", "--output", jsonl] + filters)
        try Data(document.utf8).write(to: URL(fileURLWithPath: json))
        let check = try runChecker("csv_roundtrip.py", [model, csv, json, jsonl])
        #expect(check.status == 0, "\(tag): \(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("0 differences"), "\(tag): \(check.stdout)")
        #expect(!check.stdout.contains(": 0 rows"), "\(tag): the export has rows")
        if model == "catalog" {
            // the count of every match is kept in the as-of record (the CSV holds the rows only)
            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: csv + ".meta.json"))) as? [String: Any]
            let page = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any]
            #expect(meta?["total"] as? Int == page?["total"] as? Int && page?["total"] != nil, "\(tag)")
        }
    }

    @Test func theCSVReadBackHoldsTheDocumentsRowsForEveryModel() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let cases: [(String, [String], [String])] = [
                ("leaderboard", ["--competition", "bp-2020"], ["query", "leaderboard", "--competition", "bp-2020"]),
                ("leaderboard", ["--competition", "bp-2021", "--theme", "2", "--kind", "rural"],
                 ["query", "leaderboard", "--competition", "bp-2021", "--theme", "2", "--kind", "rural"]),
                ("regions", [], ["query", "regions"]),
                ("catalog", [], ["query", "catalog", "--limit", "10000"]),
                ("catalog", ["--text", "бюджет", "--sector", "governance"], ["query", "catalog", "бюджет", "--sector", "governance", "--limit", "10000"]),
                ("network", [], ["query", "network"]),
                ("seminars", [], ["query", "seminars"]),
            ]
            for (n, (model, filters, query)) in cases.enumerated() {
                let document = try Self.admin(store, query + ["--json"]).stdout
                try Self.roundTrip(store, dir, model: model, filters: filters, document: document, tag: "\(model)-\(n)")
            }
            // competitions has no query command: its document is the JSON export (and the API's answer).
            let competitions = try Self.admin(store, ["export-model", "competitions", "--format", "json"]).stdout
            #expect(competitions.contains("\"competitions\":[{"))
            try Self.roundTrip(store, dir, model: "competitions", filters: [], document: competitions, tag: "competitions")

            // json is the query's document byte for byte.
            let json = try Self.admin(store, ["export-model", "regions", "--format", "json"]).stdout
            #expect(json == (try Self.admin(store, ["query", "regions", "--json"]).stdout))
        }
    }

    @Test func cyrillicAndQuotingSurviveAndTheAsOfRecordIsWritten() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let file = dir.appendingPathComponent("leaderboard.csv")
            _ = try Self.admin(store, ["export-model", "leaderboard", "--competition", "bp-2020", "--format", "csv", "--output", file.path])
            let bytes = try Data(contentsOf: file)
            #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF], "UTF-8 byte order mark")
            let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
            // A theme title holding commas is quoted; the competition's Ukrainian title intact.
            #expect(text.contains(",\"Влада та громада: інформування, діалог, участь\","), "\(text.prefix(400))")
            #expect(text.contains("Кращі практики місцевого самоврядування 2020"))
            #expect(text.hasPrefix("competitionId,competitionTitle,themeCode,themeTitle,"))

            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file.path + ".meta.json"))) as? [String: Any]
            let asOf = meta?["asOf"] as? [String: Any]
            #expect(asOf?["position"] as? Int == 1254)
            #expect(asOf?["recordedAt"] as? String == "2021-10-14T00:30:11Z")
            #expect(meta?["model"] as? String == "leaderboard")
            #expect((meta?["parameters"] as? [String: String]) == ["competition": "bp-2020"])
            let columns = (meta?["columns"] as? [[String: String]])?.compactMap { $0["name"] } ?? []
            #expect(text.hasPrefix(columns.joined(separator: ",") + "\r\n"), "the record lists the header's columns")
        }
    }

    @Test func atExportsThePast() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let snapshots = dir.appendingPathComponent("snapshots").path
            let past = try Self.admin(store, ["query", "regions", "--at", "position:600", "--json", "--snapshots", snapshots]).stdout
            try Self.roundTrip(
                store, dir, model: "regions", filters: ["--at", "position:600", "--snapshots", snapshots], document: past, tag: "past")
            let now = try String(contentsOf: dir.appendingPathComponent("past.csv"), encoding: .utf8)
            let head = try Self.admin(store, ["export-model", "regions", "--format", "csv"]).stdout
            #expect(now != head, "the past differs from the head")
            let meta = try JSONSerialization.jsonObject(
                with: Data(contentsOf: dir.appendingPathComponent("past.csv.meta.json"))) as? [String: Any]
            #expect((meta?["asOf"] as? [String: Any])?["position"] as? Int == 600)
        }
    }

    @Test func badInputIsRefusedClearlyAndWritesNothing() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let output = dir.appendingPathComponent("out.csv").path
            for (arguments, status, words) in [
                (["export-model", "regionz", "--format", "csv"], Int32(64), "unknown model \"regionz\""),
                (["export-model", "regions", "--format", "xlsx"], 64, "--format must be csv, json or jsonl"),
                (["export-model", "regions"], 64, "--format"),
                (["export-model", "regions", "--format", "csv", "--theme", "1"], 64, "--theme applies to the leaderboard model only"),
                (["export-model", "leaderboard", "--format", "csv"], 64, "needs --competition"),
                (["export-model", "leaderboard", "--competition", "bp-2020", "--kind", "metropolis", "--format", "csv"], 64, "--kind"),
                (["export-model", "catalog", "--limit", "0", "--format", "csv"], 64, "--limit"),
                (["export-model", "regions", "--at", "yesterday", "--format", "csv"], 64, "--at"),
                (["export-model", "leaderboard", "--competition", "bp-1999", "--format", "csv"], 1, "no competition bp-1999"),
                (["export-model", "leaderboard", "--competition", "bp-2020", "--theme", "99", "--format", "csv"], 1, "99"),
            ] {
                let run = try runAdmin(["--store", store] + arguments + ["--output", output])
                #expect(run.status == status, "\(arguments): \(run.status) \(run.stderr)")
                #expect(run.stderr.contains(words), "\(arguments): \(run.stderr)")
                #expect(!FileManager.default.fileExists(atPath: output), "\(arguments) wrote nothing")
                #expect(!FileManager.default.fileExists(atPath: output + ".meta.json"))
            }
        }
    }

    @Test func theAPIsFormatGivesTheCommandLinesBytes() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let snapshots = dir.appendingPathComponent("snapshots").path
            let (server, port) = try ServeTests.serve(store, ["--snapshots", snapshots])
            defer { server.kill() }
            let cases: [(String, [String])] = [
                ("/api/v1/leaderboard?competition=bp-2020&format=csv", ["leaderboard", "--competition", "bp-2020", "--format", "csv"]),
                ("/api/v1/leaderboard?competition=bp-2021&theme=2&kind=rural&format=jsonl",
                 ["leaderboard", "--competition", "bp-2021", "--theme", "2", "--kind", "rural", "--format", "jsonl"]),
                ("/api/v1/competitions?format=csv", ["competitions", "--format", "csv"]),
                ("/api/v1/regions?format=csv", ["regions", "--format", "csv"]),
                ("/api/v1/regions?format=csv&at=position:600", ["regions", "--format", "csv", "--at", "position:600", "--snapshots", snapshots]),
                ("/api/v1/catalog?format=csv", ["catalog", "--format", "csv"]),
                ("/api/v1/catalog?q=%D0%B1%D1%8E%D0%B4%D0%B6%D0%B5%D1%82&limit=5&format=jsonl", ["catalog", "--text", "бюджет", "--limit", "5", "--format", "jsonl"]),
                ("/api/v1/network?format=json", ["network", "--format", "json"]),
                ("/api/v1/seminars?format=csv", ["seminars", "--format", "csv"]),
            ]
            for (target, arguments) in cases {
                let answer = try ServeTests.get(port: port, target)
                #expect(answer.status == 200, "\(target): \(answer.body)")
                let cli = try Self.admin(store, ["export-model"] + arguments).stdout
                #expect(answer.body == cli, "\(target) differs from admin export-model \(arguments.joined(separator: " "))")
                let format = arguments[arguments.firstIndex(of: "--format")! + 1]
                let type = ["csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8", "json": "application/json; charset=utf-8"][format]
                #expect(answer.headers["content-type"] == type, "\(target)")
                let position = arguments.contains("position:600") ? "600" : "1254"
                #expect(answer.headers["x-as-of-position"] == position, "\(target)")
                #expect(answer.headers["x-as-of-recorded-at"]?.hasPrefix("20") == true, "\(target)")
                #expect(answer.headers["content-disposition"] == "attachment; filename=\"\(arguments[0])-\(position).\(format)\"", "\(target)")
            }
            let bad = try ServeTests.get(port: port, "/api/v1/regions?format=xml")
            #expect(bad.status == 400 && bad.body.contains("\"parameter\":\"format\""), "\(bad.body)")
            let elsewhere = try ServeTests.get(port: port, "/api/v1/stats?format=csv")
            #expect(elsewhere.status == 400 && elsewhere.body.contains("\"parameter\":\"format\""), "\(elsewhere.body)")
        }
    }
}
