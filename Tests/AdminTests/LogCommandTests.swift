import Events
import Foundation
import Testing
import TestSupport

/// The log's commands end to end, through the built `admin` binary: init, import, export, read,
/// append, verify; exit codes and error messages as in docs CLI.md.
@Suite struct LogCommandTests {

    @Test func theSampleRoundTripsThroughImportAndExportWithIdenticalHashes() throws {
        try withTemporaryDirectory { dir in
            let sample = try Sample.lines()
            let first = dir.appendingPathComponent("first")
            let second = dir.appendingPathComponent("second")
            // global options before and after the subcommand
            #expect(try runAdmin(["--store", first.path, "init"]).status == 0)
            #expect(try runAdmin(["init", "--store", second.path]).status == 0)
            #expect(try runAdmin(["init", "--store", second.path]).status == 0, "init is idempotent")

            let imported = try runAdmin(["--store", first.path, "import", TestPaths.sampleHistory.path])
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdout.contains("imported \(sample.count) events (0 already in the log, 0 rejected); head position \(sample.count)"))

            let exportFile = dir.appendingPathComponent("export.jsonl")
            let exported = try runAdmin(["export", exportFile.path, "--store", first.path])
            #expect(exported.status == 0, "\(exported.stderr)")
            let exportBytes = try Data(contentsOf: exportFile)
            let exportLines = String(decoding: exportBytes, as: UTF8.self).split(separator: "\n")
            try #require(exportLines.count == sample.count)
            #expect(try runAdmin(["--store", first.path, "export"]).stdout == String(decoding: exportBytes, as: UTF8.self))
            for (n, line) in exportLines.enumerated() {
                #expect(line.hasPrefix("{\"position\":\(n + 1),"))
            }

            // into an empty store: the same positions, versions, recordedAt and hashes
            let reimported = try runAdmin(["--store", second.path, "import", exportFile.path])
            #expect(reimported.status == 0, "\(reimported.stderr)")
            let again = try runAdmin(["--store", second.path, "export"])
            #expect(again.status == 0)
            #expect(Data(again.stdout.utf8) == exportBytes, "the second store's export differs from the first's")

            let verify = try runAdmin(["--store", second.path, "verify"])
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(verify.stdout.contains("ok: \(sample.count) events"))
            #expect(verify.stdout.contains("head position \(sample.count), hash \(hashField(exportLines.last!))"))

            // zstd reads a segment as plain zstd: the exported lines without their hash field
            // (docs/FORMAT.md), whose SHA-256 chain gives the exported hashes
            let zstd = Process()
            zstd.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            zstd.arguments = ["zstd", "-dc"] + (try segments(of: first)).map(\.path)
            let pipe = Pipe()
            zstd.standardOutput = pipe
            zstd.standardError = FileHandle.nullDevice
            try zstd.run()
            let printed = pipe.fileHandleForReading.readDataToEndOfFile()
            zstd.waitUntilExit()
            #expect(zstd.terminationStatus == 0, "zstd -dc failed (is zstd installed?)")
            let storedLines = exportLines.map { line in
                String(line.utf8.dropLast(EventCodec.hashTailCount))! + "}"
            }
            #expect(String(decoding: printed, as: UTF8.self) == storedLines.map { $0 + "\n" }.joined(), "zstd -dc printed \(printed.count) bytes")
            var previous: [UInt8]? = nil
            var chainOK = true
            for (stored, exported) in zip(storedLines, exportLines) {
                previous = Array(stored.utf8).withUnsafeBufferPointer { EventCodec.chainHash(previous: previous, content: $0) }
                if EventCodec.hex(previous!) != hashField(exported) { chainOK = false }
            }
            #expect(chainOK, "the SHA-256 chain over zstd's lines does not give the exported hashes")

            // importing the same history again changes nothing
            let files = try logFiles(of: first)
            for file in [TestPaths.sampleHistory] {  // (re-importing an export: LogTests)
                let repeated = try runAdmin(["--store", first.path, "import", file.path])
                #expect(repeated.status == 0, "\(repeated.stderr)")
                #expect(repeated.stdout.contains("imported 0 events (\(sample.count) already in the log, 0 rejected); head position \(sample.count)"))
            }
            #expect(try logFiles(of: first) == files, "a re-import changed the log")
            #expect(try runAdmin(["--store", first.path, "export"]).stdout == String(decoding: exportBytes, as: UTF8.self))
        }
    }

    @Test func everyInvalidEventAfterTheSampleIsRejectedNamingLineAndFieldAndChangesNothing() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store")
            #expect(try runAdmin(["--store", store.path, "init"]).status == 0)
            let imported = try runAdmin(["--store", store.path, "import", TestPaths.sampleHistory.path])
            try #require(imported.status == 0, "\(imported.stderr)")
            let files = try logFiles(of: store)
            let export = try runAdmin(["--store", store.path, "export"]).stdout

            let entries = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.invalidAfterSample)) as? [[String: Any]])
            try #require(entries.count >= 10)
            // where the rule that is broken is plain, the field that must be named
            let fields: [String: String] = [
                "no occurredAt": "occurredAt",
                "an event type the catalog does not know": "type",
                "points above the criterion's maximum": "data.scores",
                "a problem statement over 1500 characters": "data.problem",
                "a theme the competition does not have": "data.themeCode",
                "a submission from an unregistered community": "data.communityId",
            ]
            for (n, entry) in entries.enumerated() {
                let why = entry["why"] as? String ?? "entry \(n)"
                var line: Data
                if let raw = entry["line"] as? String {
                    line = Data(raw.utf8)
                } else {
                    let event = try #require(entry["event"], "entry \(n) has neither event nor line")
                    line = try JSONSerialization.data(withJSONObject: event, options: [.withoutEscapingSlashes])
                }
                line.append(0x0A)
                let file = dir.appendingPathComponent("invalid-\(n).jsonl")
                try line.write(to: file)

                let result = try runAdmin(["--store", store.path, "import", file.path])
                #expect(result.status == 1, "\(why): exit status \(result.status)")
                #expect(!result.signalled, "\(why): admin crashed: \(result.stderr)")
                let error = result.errorLine
                #expect(error.hasPrefix("error: line 1 is rejected: field "), "\(why): \(error)")
                let field = error.dropFirst("error: line 1 is rejected: field ".count).prefix { $0 != ":" }
                #expect(!field.isEmpty, "\(why): no field named: \(error)")
                if let expected = fields[why] {
                    #expect(field.hasPrefix(expected), "\(why): names field \(field), expected \(expected)")
                }
                #expect(!result.stdout.contains("imported"), "\(why): \(result.stdout)")
                #expect(try logFiles(of: store) == files, "\(why): the log changed")
                #expect(try runAdmin(["--store", store.path, "export"]).stdout == export, "\(why): the export changed")
            }
            let verify = try runAdmin(["--store", store.path, "verify"])
            #expect(verify.status == 0, "\(verify.stderr)")

            // with --skip-invalid: the valid line goes in, each rejected one is written with its reason
            var mixed = Data()
            for n in 0..<entries.count { mixed.append(try Data(contentsOf: dir.appendingPathComponent("invalid-\(n).jsonl"))) }
            let fresh = #"{"stream":"community-skip-1","type":"CommunityRegistered","occurredAt":"2021-03-01T10:00:00Z","data":{"communityId":"skip-1","name":"Тестова громада","oblast":"UA-05","kind":"rural","settlements":2,"population":900,"council":{"name":"Тестова рада"}}}"#
            mixed.append(Data((fresh + "\n").utf8))
            let mixedFile = dir.appendingPathComponent("mixed.jsonl")
            try mixed.write(to: mixedFile)
            let rejects = dir.appendingPathComponent("rejects.jsonl")
            let skipping = try runAdmin(["--store", store.path, "import", "--skip-invalid", rejects.path, mixedFile.path])
            #expect(skipping.status == 1, "rejected lines must give exit status 1")
            #expect(skipping.stdout.contains("imported 1 events (0 already in the log, \(entries.count) rejected)"), "\(skipping.stdout)")
            let rejected = String(decoding: try Data(contentsOf: rejects), as: UTF8.self).split(separator: "\n")
            #expect(rejected.count == entries.count)
            for (n, record) in rejected.enumerated() {
                let object = try JSONSerialization.jsonObject(with: Data(record.utf8)) as? [String: Any]
                #expect(object?["line"] as? Int == n + 1)
                #expect((object?["field"] as? String)?.isEmpty == false)
                #expect((object?["reason"] as? String)?.isEmpty == false)
            }
            let head = try runAdmin(["--store", store.path, "read", "--from", "\(try Sample.lines().count + 1)"])
            #expect(head.stdoutLines.count == 1)
            #expect(head.stdoutLines.first?.contains("community-skip-1") == true)
        }
    }

    @Test func appendConflictsOnExpectedVersionAndRetriesByID() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            let id = UUID().uuidString.lowercased()
            func append(_ extra: [String], n: Int) throws -> ChildResult {
                try runAdmin(
                    ["--store", store, "append", "--stream", "note-a", "--type", "NoteTaken", "--data", #"{"n":\#(n)}"#, "--no-validate",
                     "--occurred-at", "2021-01-01T10:00:00Z"] + extra)
            }
            let first = try append(["--expected-version=-1", "--id", id], n: 1)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("appended at position 1"))
            let files = try logFiles(of: URL(fileURLWithPath: store))

            let exists = try append(["--expected-version=-1"], n: 2)
            #expect(exists.status == 1)
            #expect(exists.errorLine.contains("expectedVersion") && exists.errorLine.contains("note-a"), "\(exists.stderr)")
            let behind = try append(["--expected-version", "4"], n: 2)
            #expect(behind.status == 1)
            #expect(behind.errorLine.contains("is at version 0, not 4"), "\(behind.stderr)")
            #expect(try logFiles(of: URL(fileURLWithPath: store)) == files, "a rejected append changed the log")

            let retry = try append(["--expected-version=-1", "--id", id], n: 1)
            #expect(retry.status == 0, "\(retry.stderr)")
            #expect(retry.stdout.contains("already in the log at position 1"))

            let second = try append(["--expected-version", "0"], n: 2)
            #expect(second.stdout.contains("appended at position 2"), "\(second.stderr)")
            let read = try runAdmin(["--store", store, "read", "--stream", "note-a"])
            #expect(read.stdoutLines.count == 2)
            #expect(read.stdoutLines.last?.contains(#""version":1"#) == true)
        }
    }

    /// CLI.md documents `--expected-version N` and EVENTS.md `-1` = "the stream must not exist":
    /// `--expected-version -1`, as two arguments, must be accepted.
    @Test func appendAcceptsExpectedVersionMinusOneAsItsOwnArgument() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            let result = try runAdmin(
                ["--store", store, "append", "--stream", "note-a", "--type", "NoteTaken", "--data", #"{"n":1}"#, "--no-validate",
                 "--expected-version", "-1"])
            #expect(result.status == 0, "exit \(result.status): \(result.stderr.split(separator: "\n").first ?? "")")
            #expect(result.stdout.contains("appended at position 1"))
        }
    }

    @Test func verifyNamesTheSegmentOffsetAndPositionOfDamage() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store")
            let input = dir.appendingPathComponent("first-63.jsonl")
            try Data(try Sample.lines().prefix(63).joinedLines()).write(to: input)
            #expect(try runAdmin(["--store", store.path, "init"]).status == 0)
            let imported = try runAdmin(["--store", store.path, "import", "--commit-every", "7", input.path])
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdoutLines.filter { $0.hasPrefix("committed ") }.count == 10)
            #expect(try runAdmin(["--store", store.path, "verify"]).status == 0)

            let segment = try #require(try segments(of: store).first)
            let bytes = [UInt8](try Data(contentsOf: segment))
            let all = frames(ofSegment: bytes)
            try #require(all.count == 9, "expected a frame per commit, found \(all.count)")
            let frame = all[4]
            var damaged = bytes
            damaged[frame.offset + 92 + 20] ^= 0x04
            try Data(damaged).write(to: segment)

            let verify = try runAdmin(["--store", store.path, "verify"])
            #expect(verify.status == 1)
            let error = verify.errorLine
            #expect(error.contains(segment.lastPathComponent), "\(error)")
            #expect(error.contains("offset \(frame.offset)"), "\(error)")
            #expect(error.contains("position \(frame.firstPosition)"), "\(error)")

            let json = try runAdmin(["--store", store.path, "verify", "--json"])
            #expect(json.status == 1)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(report["ok"] as? Bool == false)
            let problem = try #require(report["problem"] as? [String: Any])
            #expect(problem["offset"] as? Int == frame.offset)
            #expect(problem["position"] as? Int == Int(frame.firstPosition))
            #expect((problem["segment"] as? String)?.hasSuffix(segment.lastPathComponent) == true)

            // damage at the log's end is a torn write: verify passes, noting the bytes
            try Data(bytes + [0x5E, 0x2A, 0x4D, 0x18, 0x54, 0x00]).write(to: segment)
            let torn = try runAdmin(["--store", store.path, "verify"])
            #expect(torn.status == 0, "\(torn.stderr)")
            #expect(torn.stdout.contains("6 bytes after the last committed frame"), "\(torn.stdout)")
        }
    }

    @Test func badUsageExitsWith64AndDataErrorsWith1() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            #expect(try runAdmin(["--store", store, "import"]).status == 64)
            #expect(try runAdmin(["--store", store, "import", "--commit-every", "-3", "x.jsonl"]).status == 64)
            #expect(try runAdmin(["--store", store, "verify", "--expect", "abc"]).status == 64)
            #expect(try runAdmin(["--store", store, "read", "--limit", "-1"]).status == 64)

            // a named input that does not exist: 66 (EX_NOINPUT), not the data error 1
            let missing = try runAdmin(["--store", store, "import", dir.appendingPathComponent("missing.jsonl").path])
            #expect(missing.status == 66)
            #expect(missing.errorLine.contains("missing.jsonl"), "\(missing.stderr)")
            let nowhere = try runAdmin(["--store", dir.appendingPathComponent("nowhere").path, "verify"])
            #expect(nowhere.status == 66)
            #expect(nowhere.errorLine.contains("there is no store at"), "\(nowhere.stderr)")
            // a folder that is there but is not a store: 1
            let notAStore = try runAdmin(["--store", dir.path, "verify"])
            #expect(notAStore.status == 1)
            #expect(notAStore.errorLine.contains("not a store"), "\(notAStore.stderr)")
        }
    }

    /// `import -` from a producer that sends events as they happen: each `--commit-every N`
    /// commit is acknowledged once its N lines have arrived, without waiting for more input.
    @Test func anImportFromAPipeAcknowledgesEachCommitAsItsLinesArrive() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            let sample = try Sample.lines()
            let child = try AdminChild(["--store", store, "import", "--commit-every", "10", "-"], stdin: true)
            defer { child.kill() }
            try child.write(sample.prefix(25).joinedLines())
            let acknowledged = child.wait(upTo: 5) { $0.stdoutSoFar.contains("committed 20\n") }
            #expect(acknowledged, "after 25 lines from a pipe the importer acknowledged: \(child.stdoutSoFar.split(separator: "\n"))")
            try child.write(sample[25..<30].joinedLines())
            try child.closeInput()
            let done = child.finish(timeout: 30)
            #expect(done.status == 0, "\(done.stderr)")
            #expect(done.stdout.contains("head position 30"))
        }
    }

    /// `import -`: a rejected line ends the import at once (exit 1, nothing written), even while
    /// the producer keeps its end of the pipe open.
    @Test func anImportFromAPipeStopsAtARejectedLineWithoutWaitingForMoreInput() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store")
            #expect(try runAdmin(["--store", store.path, "init"]).status == 0)
            let sample = try Sample.lines()
            let child = try AdminChild(["--store", store.path, "import", "-"], stdin: true)
            defer { child.kill() }
            try child.write(sample.prefix(3).joinedLines() + Array("{\"stream\":\"note-a\"}\n".utf8))
            let ended = child.wait(upTo: 5) { !$0.process.isRunning }
            #expect(ended, "the importer still waits for input after a rejected line")
            try? child.closeInput()
            let done = child.finish(timeout: 30)
            #expect(done.status == 1)
            #expect(done.errorLine.contains("line 4") && done.errorLine.contains("field type"), "\(done.stderr)")
            #expect(try logFiles(of: store).values.allSatisfy { $0.count <= 60 }, "a rejected import left events in the log")
        }
    }
}
