import Foundation
import Testing
import TestSupport

/// What an operator meets first: folders that are not stores, exit codes, the version, shell
/// completions, global options anywhere, values at the edges refused at the door, and the
/// messages of an import that stops. Each case here was reported from outside.
@Suite struct CLISurfaceTests {
    /// Every file under `dir` with its bytes: "writes nothing there" is checked byte for byte.
    private func snapshot(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: dir.path) else { return out }
        for case let name as String in walker {
            let path = dir.appendingPathComponent(name).path
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
                out[name] = try Data(contentsOf: URL(fileURLWithPath: path))
            } else {
                out[name + "/"] = Data()
            }
        }
        return out
    }

    private static let storeCommands: [[String]] = [
        ["query", "regions"], ["query", "catalog", "бюджет", "--json"], ["query", "network"],
        ["query", "leaderboard", "--competition", "bp-2020", "--theme", "1"], ["stats"], ["stats", "--json"],
        ["read"], ["export"], ["verify"], ["project"], ["rebuild"], ["history", "submission-bp-2020-00001"],
        ["append", "--stream", "note-a", "--type", "NoteTaken", "--data", "{}", "--no-validate"],
        ["snapshot", "list"], ["snapshot", "create"], ["state", "--at", "2020-01-01", "--out", "/tmp/never-written"],
    ]

    @Test func aFolderThatIsNotAStoreIsRefusedAndLeftUntouched() throws {
        try withTemporaryDirectory { dir in
            let plain = dir.appendingPathComponent("snapshots")
            try FileManager.default.createDirectory(at: plain, withIntermediateDirectories: true)
            try Data("a file of the user's\n".utf8).write(to: plain.appendingPathComponent("notes.txt"))
            let foreign = dir.appendingPathComponent("foreign")
            try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
            try Data("something else entirely\n".utf8).write(to: foreign.appendingPathComponent("STORE"))
            let newer = dir.appendingPathComponent("newer")
            try FileManager.default.createDirectory(at: newer, withIntermediateDirectories: true)
            try Data("hromada-ledger store 2\n".utf8).write(to: newer.appendingPathComponent("STORE"))

            for (folder, expected) in [(plain, "has no STORE file"), (foreign, "not a Hromada Ledger store marker"), (newer, "format version 2")] {
                let before = try snapshot(folder)
                for command in Self.storeCommands {
                    let run = try runAdmin(command + ["--store", folder.path])
                    #expect(run.status == 1, "\(command) on \(folder.lastPathComponent): \(run.status) \(run.stderr)")
                    #expect(run.stderr.contains(expected), "\(command): \(run.stderr)")
                    #expect(run.stderr.split(separator: "\n").count == 1, "one clear sentence: \(run.stderr)")
                    #expect(try snapshot(folder) == before, "\(command) wrote into \(folder.lastPathComponent)")
                }
            }
            // init refuses the foreign marker and the newer store too
            for folder in [foreign, newer] {
                let before = try snapshot(folder)
                let run = try runAdmin(["init", "--store", folder.path])
                #expect(run.status == 1, "\(run.stderr)")
                #expect(try snapshot(folder) == before)
            }
        }
    }

    @Test func aStoreOrInputThatDoesNotExistExits66() throws {
        try withTemporaryDirectory { dir in
            let missing = dir.appendingPathComponent("nothing-here")
            for command in Self.storeCommands {
                let run = try runAdmin(command + ["--store", missing.path])
                #expect(run.status == 66, "\(command): \(run.status) \(run.stderr)")
                #expect(run.stderr.contains("there is no store at"), "\(command): \(run.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: missing.path))
            let store = dir.appendingPathComponent("store")
            #expect(try runAdmin(["init", "--store", store.path]).status == 0)
            let run = try runAdmin(["import", dir.appendingPathComponent("absent.jsonl").path, "--store", store.path])
            #expect(run.status == 66, "\(run.stderr)")
            #expect(run.stderr.contains("absent.jsonl"))
        }
    }

    @Test func versionCompletionsAndGlobalOptionsAnywhere() throws {
        let version = try runAdmin(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains("store format 1"))
        for shell in ["bash", "zsh", "fish"] {
            let script = try runAdmin(["completions", shell])
            #expect(script.status == 0)
            #expect(script.stdout.contains("admin"))
            #expect(script.stdout.contains("snapshot"), "\(shell) completes subcommands")
        }
        #expect(try runAdmin(["completions", "tcsh"]).status == 64)
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store")
            #expect(try runAdmin(["init", "--store", store.path]).status == 0)
            #expect(try runAdmin(["import", TestPaths.sampleHistory.path, "--store", store.path]).status == 0)
            #expect(try runAdmin(["project", "--store", store.path]).status == 0)
            let after = try runAdmin(["query", "regions", "--json", "--store", store.path])
            #expect(after.status == 0, "\(after.stderr)")
            for arrangement in [
                ["--store", store.path, "query", "regions", "--json"], ["query", "--store", store.path, "regions", "--json"],
                ["query", "--store=\(store.path)", "regions", "--json"], ["query", "regions", "--store", store.path, "--json"],
            ] {
                let run = try runAdmin(arrangement)
                #expect(run.status == 0, "\(arrangement): \(run.stderr)")
                #expect(run.stdout == after.stdout, "\(arrangement)")
            }
            let snapshots = try runAdmin(["snapshot", "--store", store.path, "list", "--snapshots", dir.appendingPathComponent("snaps").path])
            #expect(snapshots.status == 0, "\(snapshots.stderr)")
        }
    }

    @Test func valuesAtTheEdgesAreRefusedAtTheDoorAndTheExportReimports() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store")
            #expect(try runAdmin(["init", "--store", store.path]).status == 0)
            func append(_ extra: [String], data: String = #"{"n":1}"#) throws -> ChildResult {
                try runAdmin(["append", "--store", store.path, "--stream", "note-edge", "--type", "NoteTaken", "--no-validate", "--data", data] + extra)
            }
            // a fraction beyond milliseconds is a valid time (it used to trap)
            let micro = try append(["--occurred-at", "2020-05-01T10:00:00.123456Z"])
            #expect(micro.status == 0, "\(micro.stderr)")
            // years outside 0001-9999 after conversion to UTC
            for time in ["9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00"] {
                let run = try append(["--occurred-at", time])
                #expect(run.status != 0 && !run.signalled, "\(time): \(run.stderr)")
            }
            // an integer beyond 64 bits is refused naming the field; nothing is written
            let big = try append([], data: #"{"big":12345678901234567890}"#)
            #expect(big.status != 0 && !big.signalled, "\(big.stderr)")
            #expect(big.stderr.contains("big"), "\(big.stderr)")
            let fine = try append([], data: #"{"x":9007199254740992.0,"y":-0.0,"z":1.5e300}"#)
            #expect(fine.status == 0, "\(fine.stderr)")
            let read = try runAdmin(["read", "--store", store.path])
            #expect(read.stdoutLines.count == 2)
            #expect(read.stdout.contains(#""data":{"x":9.007199254740992e+15,"y":0,"z":1.5e+300}"#), "\(read.stdout)")
            #expect(read.stdout.contains(#""occurredAt":"2020-05-01T10:00:00.123Z""#))

            // the export imports into an empty store with the same hashes
            let exportFile = dir.appendingPathComponent("export.jsonl")
            #expect(try runAdmin(["export", exportFile.path, "--store", store.path]).status == 0)
            let second = dir.appendingPathComponent("second")
            #expect(try runAdmin(["init", "--store", second.path]).status == 0)
            let reimport = try runAdmin(["import", exportFile.path, "--store", second.path, "--no-validate"])
            #expect(reimport.status == 0, "\(reimport.stderr)")
            #expect(try runAdmin(["export", "--store", second.path]).stdout == String(decoding: try Data(contentsOf: exportFile), as: UTF8.self))

            // a far-future recordedAt in an import is refused, and the clock is not frozen
            let future = dir.appendingPathComponent("future.jsonl")
            try Data(#"{"stream":"note-edge","type":"NoteTaken","occurredAt":"2021-01-01T00:00:00Z","recordedAt":"9999-12-31T00:00:00Z","data":{}}"#.utf8 + [0x0A])
                .write(to: future)
            let refused = try runAdmin(["import", future.path, "--store", store.path, "--no-validate"])
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("recordedAt"), "\(refused.stderr)")
            #expect(try runAdmin(["read", "--store", store.path]).stdoutLines.count == 2)
        }
    }

    @Test func anImportThatStopsSaysWhatWasNotCheckedAndRejectsAreSummarised() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store")
            #expect(try runAdmin(["init", "--store", store.path]).status == 0)
            let sample = try Sample.lines()
            // every line of the sample after the first 10 refers to things the first 10 did not create
            var lines = Array(sample.prefix(10))
            lines.append(Array(#"{"stream":"note-x","type":"NoSuchType","occurredAt":"2020-01-01T00:00:00Z","data":{}}"#.utf8))
            lines.append(contentsOf: sample.suffix(40))
            let file = dir.appendingPathComponent("mixed.jsonl")
            try Data(lines.joinedLines()).write(to: file)
            let stopped = try runAdmin(["import", file.path, "--store", store.path])
            #expect(stopped.status == 1)
            #expect(stopped.stderr.contains("line 11 is rejected"), "\(stopped.stderr)")
            #expect(stopped.stderr.contains("the 40 lines after it were not checked"), "\(stopped.stderr)")
            #expect(try runAdmin(["read", "--store", store.path]).stdout.isEmpty, "all or nothing")

            let rejects = dir.appendingPathComponent("rejects.jsonl")
            let skipped = try runAdmin(["import", file.path, "--store", store.path, "--skip-invalid", rejects.path])
            #expect(skipped.status == 1)
            let rejected = String(decoding: try Data(contentsOf: rejects), as: UTF8.self).split(separator: "\n")
            #expect(rejected.count >= 2)
            #expect(skipped.stderr.contains("rejected \(rejected.count) lines, by reason:"), "\(skipped.stderr)")
            // one summary, not a line per reject
            #expect(skipped.stderr.split(separator: "\n").count < rejected.count + 3, "\(skipped.stderr)")
        }
    }

    @Test func historySpeaksEnglishAndItsJSONCarriesIdsAndHashes() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store")
            #expect(try runAdmin(["init", "--store", store.path]).status == 0)
            #expect(try runAdmin(["import", TestPaths.sampleHistory.path, "--store", store.path]).status == 0)
            let stream = "submission-bp-2020-00007"
            let events = try runAdmin(["read", "--stream", stream, "--store", store.path]).stdoutLines
            try #require(!events.isEmpty)
            let text = try runAdmin(["history", stream, "--store", store.path])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.hasPrefix("History of stream \(stream): \(events.count) events"), "\(text.stdout.prefix(200))")
            #expect(text.stdout.contains("submission «"), "\(text.stdout.prefix(400))")
            let json = try runAdmin(["history", stream, "--json", "--store", store.path])
            let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            let entries = try #require(document?["events"] as? [[String: Any]])
            #expect(entries.count == events.count)
            for (entry, line) in zip(entries, events) {
                let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(entry["id"] as? String == event?["id"] as? String)
                #expect(entry["hash"] as? String == event?["hash"] as? String)
            }
        }
    }
}
