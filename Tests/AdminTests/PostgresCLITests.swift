import Foundation
import Testing
import TestSupport

// The operator's commands on a PostgreSQL store (`--store postgres://…`), on the tests'
// throwaway server: the same lines as a folder store, migrate both ways, crashes mid-import.

@Suite("admin on a PostgreSQL store")
struct PostgresCLITests {
    @Test func importVerifyExportAndMigrateBothWays() throws {
        let server = try PostgresServer.shared()
        let dir = try TemporaryFolder()
        let folder = dir.url.appendingPathComponent("files").path
        let pg = server.newStoreURL()
        #expect(try runAdmin(["--store", folder, "init"]).status == 0)
        #expect(try runAdmin(["--store", folder, "import", TestPaths.sampleHistory.path]).status == 0)
        let initialized = try runAdmin(["--store", pg, "init"])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let imported = try runAdmin(["--store", pg, "import", TestPaths.sampleHistory.path])
        #expect(imported.status == 0, "\(imported.stderr)")
        let fileExport = try runAdmin(["--store", folder, "export"]).stdout
        let pgExport = try runAdmin(["--store", pg, "export"]).stdout
        #expect(!fileExport.isEmpty)
        #expect(fileExport == pgExport)
        let verified = try runAdmin(["--store", pg, "verify", "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        let fileVerified = try runAdmin(["--store", folder, "verify", "--json"])
        let headHash = { (text: String) -> String? in
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["headHash"] as? String
        }
        #expect(headHash(verified.stdout) != nil)
        #expect(headHash(verified.stdout) == headHash(fileVerified.stdout))
        // the same selection of events read from either store
        let streamName = try #require(
            (try JSONSerialization.jsonObject(with: Data(fileExport.split(separator: "\n")[0].utf8)) as? [String: Any])?["stream"] as? String)
        #expect(try runAdmin(["--store", pg, "read", "--stream", streamName]).stdout == (try runAdmin(["--store", folder, "read", "--stream", streamName]).stdout))
        #expect(try runAdmin(["--store", pg, "read", "--until", "2020-01-01", "--limit", "50"]).stdout == (try runAdmin(["--store", folder, "read", "--until", "2020-01-01", "--limit", "50"]).stdout))
        let stats = try runAdmin(["--store", pg, "stats"])
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("(PostgreSQL)"))

        // folder → PostgreSQL → folder: the same bytes at each step
        let migrated = server.newStoreURL()
        let toPG = try runAdmin(["migrate", "--from", folder, "--to", migrated])
        #expect(toPG.status == 0, "\(toPG.stderr)")
        #expect(toPG.stdout.contains("the same in both"))
        let back = dir.url.appendingPathComponent("back").path
        let toFolder = try runAdmin(["migrate", "--from", migrated, "--to", back])
        #expect(toFolder.status == 0, "\(toFolder.stderr)")
        #expect(try runAdmin(["--store", back, "export"]).stdout == fileExport)
        #expect(try runAdmin(["--store", back, "verify"]).status == 0)
        // into a store that holds events: refused, nothing changed
        let again = try runAdmin(["migrate", "--from", folder, "--to", migrated])
        #expect(again.status == 1)
        #expect(again.errorLine.contains("already holds"), "\(again.stderr)")
        #expect(try runAdmin(["--store", migrated, "export"]).stdout == fileExport)
    }

    @Test func badInputOnPostgresWritesNothingAndNamesTheLine() throws {
        let server = try PostgresServer.shared()
        let dir = try TemporaryFolder()
        let pg = server.newStoreURL()
        #expect(try runAdmin(["--store", pg, "init"]).status == 0)
        let lines = try Sample.lines(prefix: 40).map { String(decoding: $0, as: UTF8.self) }
        var broken = lines
        broken[24] = broken[24].replacingOccurrences(of: "\"stream\":", with: "\"strem\":")
        let file = dir.url.appendingPathComponent("bad.jsonl")
        try (broken.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let result = try runAdmin(["--store", pg, "import", file.path])
        #expect(result.status == 1)
        #expect(result.errorLine.contains("line 25"), "\(result.stderr)")
        #expect(try runAdmin(["--store", pg, "export"]).stdout.isEmpty)
        let append = try runAdmin(["--store", pg, "append", "--stream", "x", "--type", "NoteTaken", "--data", "{}"])
        #expect(append.status == 1)
        #expect(try runAdmin(["--store", pg, "export"]).stdout.isEmpty)
    }

    @Test func urlsThatWouldLeakOrMisleadAreRefused() throws {
        let server = try PostgresServer.shared()
        let dir = try TemporaryFolder()
        // a password on the command line is seen by every user in the process list
        let withPassword = "postgres://\(server.user):secret@\(server.host):\(server.port)/\(server.database)"
        let leaked = try runAdmin(["--store", withPassword, "read"])
        #expect(leaked.status == 64)
        #expect(leaked.stderr.contains("PGPASSWORD"))
        #expect(!leaked.stderr.contains("secret"))
        // no store in that schema yet
        let missing = try runAdmin(["--store", server.newStoreURL(), "read"])
        #expect(missing.status == 66, "\(missing.stderr)")
        // a folder-only command stops before it makes a folder named after the URL, and a
        // read-model command on a schema holding no store makes no read-models folder
        for (command, status) in [("repair", Int32(64)), ("project", Int32(66))] {
            let process = Process()
            process.executableURL = try TestPaths.adminBinary()
            process.arguments = ["--store", server.newStoreURL(), command]
            process.currentDirectoryURL = dir.url
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == status, "\(command)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "\(command)")
        }
    }

    /// kill -9 in the middle of an all-or-nothing import and of one committing every 500 lines:
    /// the store verifies, holds every acknowledged event, and takes the import again.
    @Test func killedImportLeavesAVerifiedStoreWithEveryAcknowledgedEvent() throws {
        let server = try PostgresServer.shared()
        let dir = try TemporaryFolder()
        let history = dir.url.appendingPathComponent("history.jsonl").path
        #expect(try runAdmin(["generate", "--events", "20000", "--out", history]).status == 0)
        for commitEvery in [0, 500] {
            let pg = server.newStoreURL()
            #expect(try runAdmin(["--store", pg, "init"]).status == 0)
            let child = try AdminChild(["--store", pg, "import", history, "--commit-every", "\(commitEvery)"])
            if commitEvery > 0 {
                _ = child.wait(upTo: 60) { $0.acknowledged.count >= 3 }
            } else {
                usleep(700_000)
            }
            child.kill()
            let killed = child.finish()
            let acknowledged = child.acknowledged.last ?? 0
            let verified = try runAdmin(["--store", pg, "verify", "--json"])
            #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
            let head = ((try? JSONSerialization.jsonObject(with: Data(verified.stdout.utf8)) as? [String: Any])?["headPosition"] as? Int).map(Int64.init) ?? -1
            #expect(head >= acknowledged)
            if commitEvery == 0 && killed.signalled {
                #expect(head == 0, "an all-or-nothing import killed before its end left \(head) events")
            }
            // the rest goes in by importing the file again (the stored ids are skipped)
            let rest = try runAdmin(["--store", pg, "import", history], timeout: 300)
            #expect(rest.status == 0, "\(rest.stderr)")
            #expect(try runAdmin(["--store", pg, "verify"]).status == 0)
            let lines = try runAdmin(["--store", pg, "export"], timeout: 120).stdout.split(separator: "\n").count
            #expect(lines == 20000)
        }
    }
}
