import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The read models are derived from the log, so nothing that happens to them may stop the
/// product: a damaged `projections.sqlite` is moved aside and rebuilt, an interrupted rebuild
/// leaves no debris (Ctrl-C cleans up at once, kill -9 at the next start), and time travel
/// leaves no scratch folders. Issue 7, items 7, 8 and 12, and the smaller `--at` and
/// competition messages.
@Suite(.serialized) struct ReadModelRecoveryTests {
    /// A larger generated store (rebuilds long enough to interrupt).
    private func generatedStore(_ dir: URL, events: Int = 20_000) throws -> String {
        let file = dir.appendingPathComponent("history.jsonl").path
        #expect(try runAdmin(["generate", "--events", "\(events)", "--out", file]).status == 0)
        let store = dir.appendingPathComponent("big").path
        #expect(try runAdmin(["init", "--store", store]).status == 0)
        #expect(try runAdmin(["import", file, "--store", store], timeout: 300).status == 0)
        #expect(try runAdmin(["project", "--store", store], timeout: 300).status == 0)
        return store
    }

    private func sqlite(_ file: String, _ sql: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [file, sql]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func answers(_ store: String) throws -> [String] {
        try [["regions"], ["network"], ["seminars"], ["catalog", "бюджет"], ["leaderboard", "--competition", "bp-2020"]]
            .map { q in
                let r = try runAdmin(["query"] + q + ["--json", "--store", store])
                #expect(r.status == 0, "query \(q): \(r.stderr)")
                return r.stdout
            }
    }

    private func movedAside(_ store: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasPrefix("projections.sqlite.damaged-") }
    }

    @Test(arguments: ["random", "truncated", "pages"])
    func aDamagedProjectionsFileIsMovedAsideAndRebuilt(_ damage: String) throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let expected = try answers(store)
            let file = store + "/projections.sqlite"
            _ = try sqlite(file, "PRAGMA wal_checkpoint(TRUNCATE)")
            let original = try Data(contentsOf: URL(fileURLWithPath: file))
            var bytes = [UInt8](original)
            switch damage {
            case "random": bytes = (0..<8192).map { _ in UInt8.random(in: 0...255) }
            case "truncated": bytes = Array(bytes.prefix(bytes.count / 2))
            default:
                // Every page but the first overwritten: SQLite finds it malformed part-way.
                for page in stride(from: 4096, to: bytes.count, by: 4096) {
                    for i in page..<min(page + 4096, bytes.count) { bytes[i] = UInt8.random(in: 0...255) }
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file + suffix) }

            let first = try runAdmin(["query", "regions", "--json", "--store", store])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("damaged") && first.stderr.contains("rebuilt them from the log"), "\(first.stderr)")
            let aside = try movedAside(store)
            #expect(aside.count == 1)
            // Nothing deleted: the damaged bytes are kept as they were.
            if let name = aside.first {
                #expect(try Data(contentsOf: URL(fileURLWithPath: store + "/" + name)) == Data(bytes))
            }
            #expect(try answers(store) == expected)
            #expect(try movedAside(store).count == 1, "rebuilt once, then used")
        }
    }

    @Test func ctrlCDuringARebuildKeepsTheLiveTablesAndLeavesNoDebris() throws {
        try withTemporaryDirectory { dir in
            let store = try generatedStore(dir)
            let before = try answers(store)
            let file = store + "/projections.sqlite"
            let child = try AdminChild(["rebuild", "--store", store])
            // Interrupted once the rebuild is under way (its tables exist, its marks are set).
            let started = child.wait(upTo: 60) { _ in
                (try? self.sqlite(file, "SELECT count(*) FROM projections WHERE state = 'rebuilding'")) == "5"
            }
            #expect(started, "the rebuild never started")
            kill(child.process.processIdentifier, SIGINT)
            let run = child.finish(timeout: 120)
            #expect(run.status == 130, "stdout: \(run.stdout) stderr: \(run.stderr)")
            #expect(run.stderr.contains("interrupted"))
            #expect(try sqlite(file, "SELECT count(*) FROM sqlite_master WHERE instr(name, '__rebuild') > 0") == "0")
            #expect(try sqlite(file, "SELECT count(*) FROM projections WHERE state <> 'running' OR rebuildPosition IS NOT NULL") == "0")
            #expect(try answers(store) == before)
        }
    }

    @Test func aRebuildKilledMidWayIsClearedAtTheNextStart() throws {
        try withTemporaryDirectory { dir in
            let store = try generatedStore(dir)
            let before = try answers(store)
            let file = store + "/projections.sqlite"
            let child = try AdminChild(["rebuild", "--store", store])
            // Killed once the rebuild tables exist, while the first batch (all 20,000 events) is
            // being fed: the swap cannot have started.
            let marked = child.wait(upTo: 60) { _ in
                (try? self.sqlite(file, "SELECT count(*) FROM projections WHERE state = 'rebuilding'")) == "5"
            }
            child.kill()
            _ = child.finish()
            #expect(marked, "the rebuild never started")
            #expect(try sqlite(file, "SELECT count(*) FROM sqlite_master WHERE instr(name, '__rebuild') > 0") != "0")
            let stats = try runAdmin(["stats", "--store", store])
            #expect(stats.status == 0)
            #expect(stats.stderr.contains("cleared an interrupted rebuild"), "\(stats.stderr)")
            #expect(!stats.stdout.contains("rebuilding"))
            #expect(try sqlite(file, "SELECT count(*) FROM sqlite_master WHERE instr(name, '__rebuild') > 0") == "0")
            #expect(try answers(store) == before)
        }
    }

    @Test func timeTravelRemovesItsScratchFolderAndWhatAKilledOneLeft() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let tmp = dir.appendingPathComponent("tmp").path
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            // What a process killed with -9 left: a folder named after a process that is gone.
            let dead = tmp + "/hromada-state-999999999-0F0F0F0F"
            try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
            let mine = tmp + "/hromada-state-notapid"
            try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
            let p = Process()
            p.executableURL = try TestPaths.adminBinary()
            p.arguments = ["query", "regions", "--at", "2020-06-01", "--store", store, "--snapshots", dir.path + "/none"]
            var env = ProcessInfo.processInfo.environment
            env["TMPDIR"] = tmp
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            let left = try FileManager.default.contentsOfDirectory(atPath: tmp).sorted()
            #expect(left == ["hromada-state-notapid"], "left: \(left)")
        }
    }

    @Test func anAnswerBeyondTheHeadSaysSo() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let future = try runAdmin(["query", "regions", "--at", "2999-01-01", "--store", store])
            #expect(future.status == 0)
            #expect(future.stderr.contains("in the future; answering as of the head"))
            let beyond = try runAdmin(["query", "regions", "--at", "position:999999", "--store", store])
            #expect(beyond.stderr.contains("beyond the head"))
            let past = try runAdmin(["query", "regions", "--at", "position:10", "--store", store])
            #expect(!past.stderr.contains("warning"))
        }
    }

    @Test func anUnknownCompetitionListsTheKnownOnes() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let run = try runAdmin(["query", "leaderboard", "--competition", "bp-1999", "--store", store])
            #expect(run.status == 1)
            #expect(run.stderr.contains("no competition bp-1999 is announced (competitions: bp-2018, bp-2019, bp-2020"), "\(run.stderr)")
        }
    }

    /// A snapshot into a folder on a full disk (a 1 MiB tmpfs, mounted in a private mount
    /// namespace so that nothing outlives the test): a clear error, exit 1, nothing left in the
    /// folder, the store untouched; with space back the same snapshot is taken.
    @Test func aSnapshotOnAFullDiskFailsClearlyAndKeepsNothing() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let small = dir.appendingPathComponent("small").path
            try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
            let before = try logFiles(of: URL(fileURLWithPath: store))
            let script = """
                mount -t tmpfs -o size=1m tmpfs "$1" || exit 97
                head -c 900000 /dev/zero > "$1/filler"
                "$2" snapshot create --store "$3" --snapshots "$1/snaps"
                rc=$?
                rm -f "$1/filler"
                echo "left: $(ls -A "$1/snaps" 2>/dev/null | tr '\n' ' ')"
                exit $rc
                """
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            p.arguments = ["-rm", "/bin/sh", "-c", script, "sh", small, try TestPaths.adminBinary().path, store]
            let out = Pipe()
            let err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            try #require(p.terminationStatus != 97, "cannot mount a tmpfs here: \(stderr)")
            #expect(p.terminationStatus == 1, "stdout: \(stdout) stderr: \(stderr)")
            #expect(stderr.contains("is full"), "\(stderr)")
            let left = stdout.split(separator: "\n").first { $0.hasPrefix("left:") }
            #expect(left?.trimmingCharacters(in: .whitespaces) == "left:", "a partial snapshot was left: \(stdout)")
            #expect(try logFiles(of: URL(fileURLWithPath: store)) == before)
            #expect(try runAdmin(["verify", "--store", store]).status == 0)
            let retry = try runAdmin(["snapshot", "create", "--store", store, "--snapshots", dir.path + "/snaps"])
            #expect(retry.status == 0, "\(retry.stderr)")
        }
    }
}
