import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

// The read-model commands, the workers and the service on a PostgreSQL store: each host folds
// the shared log into read models of its own (`--read-models DIR`), and every answer is the
// one the same history gives on a folder store.

@Suite("read models of a PostgreSQL store", .serialized)
struct PostgresReadModelTests {
    /// What an operator or a dashboard asks, each as `--json` (and time travel with `--at`).
    static let questions: [[String]] = [
        ["query", "leaderboard", "--competition", "bp-2020", "--theme", "1"],
        ["query", "leaderboard", "--competition", "bp-2021", "--theme", "2", "--kind", "rural"],
        ["query", "regions"], ["query", "catalog", "--limit", "1000"], ["query", "catalog", "громадський бюджет"],
        ["query", "network"], ["query", "seminars"],
        ["query", "regions", "--at", "2019-06-30"], ["query", "leaderboard", "--competition", "bp-2020", "--at", "2020-09-01"],
        ["query", "catalog", "бюджет", "--at", "position:700"],
        ["history", "submission-bp-2020-00001"],
    ]

    static func answers(_ base: [String]) throws -> [String] {
        try questions.map { question in
            let run = try runAdmin(base + question + ["--json"])
            try #require(run.status == 0, "\(question): \(run.stderr)")
            return run.stdout
        }
    }

    static func checkpoints(_ base: [String]) throws -> [Int64] {
        let stats = try runAdmin(base + ["stats", "--json"])
        guard stats.status == 0,
            let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any],
            let projections = object["projections"] as? [[String: Any]]
        else { return [] }
        return projections.compactMap { ($0["checkpoint"] as? Int).map(Int64.init) }
    }

    static func waitForCheckpoints(_ base: [String], head: Int64, timeout: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found = try checkpoints(base)
            if found.count == 5, found.allSatisfy({ $0 == head }) { return true }
            usleep(100_000)
        }
        return false
    }

    /// The sample history split at `at` lines, as two files.
    static func halves(_ dir: URL, at: Int) throws -> (String, String) {
        let lines = try Sample.lines(prefix: 1_000_000).map { String(decoding: $0, as: UTF8.self) }
        let first = dir.appendingPathComponent("first.jsonl")
        let second = dir.appendingPathComponent("second.jsonl")
        try (lines[..<at].joined(separator: "\n") + "\n").write(to: first, atomically: true, encoding: .utf8)
        try (lines[at...].joined(separator: "\n") + "\n").write(to: second, atomically: true, encoding: .utf8)
        return (first.path, second.path)
    }

    @Test func everyAnswerEqualsTheFolderStoresAndTheReplayCheckPasses() throws {
        let server = try PostgresServer.shared()
        try withTemporaryDirectory { dir in
            let folder = try projectedSampleStore(dir)
            let pg = server.newStoreURL()
            let here = ["--store", pg, "--read-models", dir.appendingPathComponent("rm").path]
            #expect(try runAdmin(["--store", pg, "init"]).status == 0)
            #expect(try runAdmin(["--store", pg, "import", TestPaths.sampleHistory.path]).status == 0)
            let projected = try runAdmin(here + ["project"])
            #expect(projected.status == 0, "\(projected.stderr)")
            #expect(projected.stdout.contains("head position 1254"), "\(projected.stdout)")
            let onPostgres = try Self.answers(here)
            let onFolder = try Self.answers(["--store", folder])
            for (i, question) in Self.questions.enumerated() {
                #expect(onPostgres[i] == onFolder[i], "\(question) differs")
            }
            #expect(onPostgres[0].contains("\"rank\""), "a real leaderboard was compared")
            // the read models proved equal to a fresh fold of the PostgreSQL log, table by table
            let replay = try runAdmin(here + ["replay", "--check"])
            #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
            // the state at a past date: the same digest on both stores
            let digest = { (base: [String], out: String) throws -> String? in
                let run = try runAdmin(base + ["state", "--at", "2020-06-30", "--out", dir.appendingPathComponent(out).path])
                try #require(run.status == 0, "\(run.stderr)")
                return run.stdout.split(separator: "\n").first { $0.contains("digest") }.map(String.init)
            }
            let pgDigest = try digest(here, "state-pg")
            #expect(pgDigest != nil)
            #expect(pgDigest == (try digest(["--store", folder], "state-folder")))
            // a rebuild on PostgreSQL ends where it started
            #expect(try runAdmin(here + ["rebuild"]).status == 0)
            #expect(try Self.answers(here) == onPostgres)
            // the marker names the log the folder folds
            let marker = try String(contentsOf: dir.appendingPathComponent("rm/READ-MODELS"), encoding: .utf8)
            #expect(marker.hasPrefix("hromada-ledger read models 1\nstore postgres://"))
            #expect(!marker.contains("first -"), "\(marker)")
        }
    }

    @Test func aWorkerIsWokenByTheServersNotificationAndSurvivesReconnecting() throws {
        let server = try PostgresServer.shared()
        try withTemporaryDirectory { dir in
            let pg = server.newStoreURL()
            let here = ["--store", pg, "--read-models", dir.appendingPathComponent("rm").path]
            let (first, second) = try Self.halves(dir, at: 600)
            #expect(try runAdmin(["--store", pg, "init"]).status == 0)
            #expect(try runAdmin(["--store", pg, "import", first]).status == 0)
            // a poll of 60 s: only a notification can wake it sooner
            // a name of its own, so that the server ends this worker's connections, not those of
            // the tests that run beside this one
            let name = "hromada worker test \(getpid()) \(UUID().uuidString.prefix(8))"
            let worker = try AdminChild(
                here + ["workers", "--poll", "60", "--log-level", "info"], environment: ["HROMADA_PG_APPLICATION_NAME": name])
            #expect(try Self.waitForCheckpoints(here, head: 600, timeout: 30))
            #expect(try runAdmin(["--store", pg, "import", second]).status == 0)
            #expect(try Self.waitForCheckpoints(here, head: 1254, timeout: 20), "woken by NOTIFY, not by its poll")
            // the server ends the worker's connections (its reader and its LISTEN): the worker
            // connects again and follows the next append
            try server.psql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\(name)'")
            usleep(500_000)
            let appended = try runAdmin([
                "--store", pg, "append", "--stream", "community-nova-hromada", "--type", "CommunityRegistered",
                "--data", #"{"communityId":"nova-hromada","name":"Нова громада","oblast":"UA-53","kind":"rural","settlements":4,"population":3100,"council":{"name":"Нова рада"}}"#,
            ])
            #expect(appended.status == 0, "\(appended.stderr)")
            #expect(try Self.waitForCheckpoints(here, head: 1255, timeout: 20), "followed after its connections were cut")
            kill(worker.process.processIdentifier, SIGTERM)
            let run = worker.finish(timeout: 15)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("the LISTEN connection ended"), "the server did not end the worker's connections: \(run.stderr)")
            #expect(run.stderr.contains("workers stopped cleanly"))
            #expect(try runAdmin(here + ["replay", "--check"]).status == 0)
        }
    }

    @Test func readModelsOfAnotherLogAreRefusedAndLeftAlone() throws {
        let server = try PostgresServer.shared()
        try withTemporaryDirectory { dir in
            let rm = dir.appendingPathComponent("rm")
            let (first, _) = try Self.halves(dir, at: 600)
            let a = server.newStoreURL()
            let b = server.newStoreURL()
            #expect(try runAdmin(["--store", a, "init"]).status == 0)
            #expect(try runAdmin(["--store", a, "import", first]).status == 0)
            // another log: one event, not the first of the other
            #expect(try runAdmin(["--store", b, "init"]).status == 0)
            #expect(
                try runAdmin([
                    "--store", b, "append", "--stream", "community-nova-hromada", "--type", "CommunityRegistered",
                    "--data", #"{"communityId":"nova-hromada","name":"Нова громада","oblast":"UA-53","kind":"rural","settlements":4,"population":3100,"council":{"name":"Нова рада"}}"#,
                ]).status == 0)
            #expect(try runAdmin(["--store", a, "--read-models", rm.path, "project"]).status == 0)
            let before = try Data(contentsOf: rm.appendingPathComponent("projections.sqlite"))
            for command in [["project"], ["query", "regions"], ["stats"]] {
                let refused = try runAdmin(["--store", b, "--read-models", rm.path] + command)
                #expect(refused.status == 1, "\(command)")
                #expect(refused.stderr.contains("are of another log"), "\(command): \(refused.stderr)")
            }
            #expect(try Data(contentsOf: rm.appendingPathComponent("projections.sqlite")) == before)
            // the same log under another name of the server is the same log
            let other = a.replacingOccurrences(of: "127.0.0.1", with: "localhost")
            #expect(other != a)
            #expect(try runAdmin(["--store", other, "--read-models", rm.path, "query", "regions"]).status == 0)
        }
    }

    @Test func theServiceOnPostgresAnswersAppendsAndFollowsOtherWriters() throws {
        let server = try PostgresServer.shared()
        try withTemporaryDirectory { dir in
            let pg = server.newStoreURL()
            let rm = dir.appendingPathComponent("rm").path
            let token = dir.appendingPathComponent("token")
            try "pg-service-token-0123456789\n".write(to: token, atomically: true, encoding: .utf8)
            chmod(token.path, 0o600)
            #expect(try runAdmin(["--store", pg, "init"]).status == 0)
            #expect(try runAdmin(["--store", pg, "import", TestPaths.sampleHistory.path]).status == 0)
            let (service, port) = try ServeTests.serve(pg, ["--read-models", rm, "--token-file", token.path])
            defer { service.kill() }
            #expect(try Self.waitForCheckpoints(["--store", pg, "--read-models", rm], head: 1254, timeout: 30))
            let regions = try ServeTests.get(port: port, "/api/v1/regions")
            #expect(regions.status == 200)
            #expect(regions.body + "\n" == (try runAdmin(["--store", pg, "--read-models", rm, "query", "regions", "--json"]).stdout))
            // an append over HTTP goes into the PostgreSQL log (the service keeps its writer)
            let body = #"{"expectedVersion":"no-stream","events":[{"id":"6f1d7a0e-2b8c-4c51-9d3e-0a1b2c3d4e5f","type":"CommunityRegistered","data":{"communityId":"http-hromada","name":"Громада з мережі","oblast":"UA-46","kind":"urban","settlements":2,"population":12000,"council":{"name":"Рада"}}}]}"#
            for expected in [201, 200] {  // the second time: the same id, nothing appended
                let posted = try httpRequest(
                    port: port, "POST", "/api/v1/streams/community-http-hromada",
                    headers: ["Authorization": "Bearer pg-service-token-0123456789", "Content-Type": "application/json"],
                    body: Array(body.utf8))
                #expect(posted.status == expected, "\(posted.body)")
            }
            // another writer (the command line) appends; the service's worker follows both
            let appended = try runAdmin([
                "--store", pg, "append", "--stream", "community-nova-hromada", "--type", "CommunityRegistered",
                "--data", #"{"communityId":"nova-hromada","name":"Нова громада","oblast":"UA-53","kind":"rural","settlements":4,"population":3100,"council":{"name":"Нова рада"}}"#,
            ])
            #expect(appended.status == 0, "\(appended.stderr)")
            #expect(try runAdmin(["--store", pg, "verify"]).status == 0)
            let deadline = Date().addingTimeInterval(20)
            var network = ""
            while Date() < deadline {
                network = (try? ServeTests.get(port: port, "/api/v1/stats"))?.body ?? ""
                if network.contains("\"headPosition\":1256"), try Self.checkpoints(["--store", pg, "--read-models", rm]) == Array(repeating: 1256, count: 5) { break }
                usleep(100_000)
            }
            #expect(try Self.checkpoints(["--store", pg, "--read-models", rm]) == Array(repeating: 1256, count: 5), "\(network)")
            _ = Glibc.kill(service.process.processIdentifier, SIGTERM)
            #expect(service.finish(timeout: 15).status == 0)
        }
    }

    /// A worker whose read waits on a link that stopped passing bytes (no reset: a cut network)
    /// still stops on SIGTERM, within the grace period, with exit 0; its read models stay
    /// whole (the batch it was reading is not applied half).
    @Test func aWorkerStopsOnSIGTERMWhileItsReadWaitsOnACutLink() throws {
        let server = try PostgresServer.shared()
        try withTemporaryDirectory { dir in
            let proxy = Process()
            proxy.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            proxy.arguments = [TestPaths.repoRoot.appendingPathComponent("Tests/Network/freeze_proxy.py").path, "\(server.port)"]
            let out = Pipe()
            proxy.standardOutput = out
            proxy.standardError = FileHandle.nullDevice
            try proxy.run()
            defer { kill(proxy.processIdentifier, SIGKILL) }
            let portLine = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            let port = try #require(Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)), "\(portLine)")
            let direct = server.newStoreURL()
            let throughProxy = direct.replacingOccurrences(of: ":\(server.port)/", with: ":\(port)/")
            #expect(throughProxy != direct)
            #expect(try runAdmin(["--store", direct, "init"]).status == 0)
            #expect(try runAdmin(["--store", direct, "import", TestPaths.sampleHistory.path]).status == 0)
            let rm = dir.appendingPathComponent("rm").path
            // a short poll: the worker reads the log every 0.2 s, so a read is under way when the link stops
            let worker = try AdminChild(["--store", throughProxy, "--read-models", rm, "workers", "--poll", "0.2"])
            #expect(try Self.waitForCheckpoints(["--store", direct, "--read-models", rm], head: 1254, timeout: 30))
            kill(proxy.processIdentifier, SIGUSR1)  // the link stops passing bytes
            usleep(1_000_000)
            let asked = Date()
            kill(worker.process.processIdentifier, SIGTERM)
            let run = worker.finish(timeout: 20)
            let took = Date().timeIntervalSince(asked)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(!run.signalled, "it had to be killed: \(run.stderr)")
            #expect(run.stderr.contains("workers stopped cleanly"), "\(run.stderr)")
            #expect(took < 15, "stopped after \(took) s")
            kill(proxy.processIdentifier, SIGUSR2)
            #expect(try runAdmin(["--store", direct, "--read-models", rm, "replay", "--check"]).status == 0)
            // a reader does not wait for ever on a cut link: no answer within its timeout
            // (HROMADA_PG_READ_TIMEOUT, 1 s here) is one clear error and exit 1
            kill(proxy.processIdentifier, SIGUSR1)
            let started = Date()
            let cut = try runAdmin(
                ["--store", throughProxy, "--read-models", rm, "stats"], environment: ["HROMADA_PG_READ_TIMEOUT": "1"])
            #expect(cut.status == 1, "\(cut.stderr)")
            #expect(cut.stderr.contains("gave no answer within 1 s"), "\(cut.stderr)")
            #expect(Date().timeIntervalSince(started) < 10)
            kill(proxy.processIdentifier, SIGUSR2)
            #expect(try runAdmin(["--store", throughProxy, "--read-models", rm, "stats"], environment: ["HROMADA_PG_READ_TIMEOUT": "1"]).status == 0)
        }
    }
}
