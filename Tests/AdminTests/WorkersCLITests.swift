import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `admin workers` as an operator runs it: a separate process following the log.
@Suite(.serialized) struct WorkersCLITests {
    /// Every read model's JSON answer, the way a dashboard sees them.
    static func answers(store: String) throws -> [String] {
        var out: [String] = []
        for args in [
            ["query", "leaderboard", "--competition", "bp-2020", "--theme", "1"], ["query", "leaderboard", "--competition", "bp-2021", "--theme", "2"],
            ["query", "regions"], ["query", "catalog", "--limit", "1000"], ["query", "catalog", "бюджет"], ["query", "network"], ["query", "seminars"],
        ] {
            let run = try runAdmin(["--store", store] + args + ["--json"])
            try #require(run.status == 0, "\(args): \(run.errorLine)")
            out.append(run.stdout)
        }
        return out
    }

    static func waitForCheckpoints(store: String, head: Int64, timeout: Double = 60) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let stats = try runAdmin(["--store", store, "stats", "--json"])
            if stats.status == 0, let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any],
                let projections = object["projections"] as? [[String: Any]], projections.count == 5,
                projections.allSatisfy({ ($0["checkpoint"] as? Int).map(Int64.init) == head })
            {
                return true
            }
            usleep(100_000)
        }
        return false
    }

    @Test func aWorkerKilledAtRandomMomentsEndsWhereOneThatNeverStoppedEnds() throws {
        try withTemporaryDirectory { dir in
            let lines = try Sample.lines()
            let killed = dir.appendingPathComponent("killed").path
            let steady = dir.appendingPathComponent("steady").path
            for store in [killed, steady] { #expect(try runAdmin(["--store", store, "init"]).status == 0) }
            // The history arrives in pieces while the worker runs and is killed with SIGKILL.
            var generator = SystemRandomNumberGenerator()
            let pieces = stride(from: 0, to: lines.count, by: 150).map { Array(lines[$0..<min($0 + 150, lines.count)]) }
            var kills = 0
            for (n, piece) in pieces.enumerated() {
                let file = dir.appendingPathComponent("piece-\(n).jsonl")
                try Data(piece.joined(separator: [0x0A]) + [0x0A]).write(to: file)
                let worker = try AdminChild(["--store", killed, "workers", "--poll", "0.2"])
                let imported = try runAdmin(["--store", killed, "import", file.path])
                #expect(imported.status == 0, "\(imported.errorLine)")
                usleep(UInt32.random(in: 0...150_000, using: &generator))
                worker.kill()
                _ = worker.finish(timeout: 10)
                kills += 1
            }
            #expect(kills >= 8)
            // Restarted, the worker resumes from its checkpoints and catches up.
            let worker = try AdminChild(["--store", killed, "workers", "--poll", "0.2"])
            let caughtUp = try Self.waitForCheckpoints(store: killed, head: Int64(lines.count))
            worker.kill()
            _ = worker.finish(timeout: 10)
            #expect(caughtUp, "the restarted worker did not catch up")

            #expect(try runAdmin(["--store", steady, "import", TestPaths.sampleHistory.path]).status == 0)
            #expect(try runAdmin(["--store", steady, "project"]).status == 0)
            let a = try Self.answers(store: killed)
            let b = try Self.answers(store: steady)
            #expect(a == b)
        }
    }

    @Test func aWorkerWakesOnAnAppendAndStopsCleanlyOnSIGTERM() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            #expect(try runAdmin(["--store", store, "import", TestPaths.sampleHistory.path]).status == 0)
            let worker = try AdminChild(["--store", store, "workers", "--poll", "30"])
            #expect(try Self.waitForCheckpoints(store: store, head: 1254))
            let appended = try runAdmin([
                "--store", store, "append", "--stream", "community-nova-hromada", "--type", "CommunityRegistered",
                "--data", #"{"communityId":"nova-hromada","name":"Нова громада","oblast":"UA-53","kind":"rural","settlements":4,"population":3100,"council":{"name":"Нова рада"}}"#,
            ])
            #expect(appended.status == 0, "\(appended.errorLine)")
            // the poll is 30 s: seeing it within 20 s means the worker woke on the change
            #expect(try Self.waitForCheckpoints(store: store, head: 1255, timeout: 20))
            kill(worker.process.processIdentifier, SIGTERM)
            let run = worker.finish(timeout: 10)
            #expect(run.status == 0)
            #expect(!run.signalled)
            #expect(run.stderr.contains("workers stopped cleanly"))
        }
    }
}
