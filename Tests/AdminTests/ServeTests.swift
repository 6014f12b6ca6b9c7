import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `admin serve` as a dashboard uses it: the JSON API over HTTP, byte for byte the answers of
/// `admin query … --json`, its errors, its health endpoints, and a clean stop on SIGTERM.
@Suite(.serialized) struct ServeTests {
    static func get(port: Int, _ target: String, method: String = "GET") throws -> HTTPAnswer {
        try httpRequest(port: port, method, target)
    }

    /// The `--json` answer of the CLI, without its trailing newline.
    static func cli(_ store: String, _ arguments: [String]) throws -> String {
        let run = try runAdmin(["--store", store] + arguments)
        try #require(run.status == 0, "\(arguments): \(run.errorLine)")
        #expect(run.stdout.hasSuffix("\n"))
        return String(run.stdout.dropLast())
    }

    /// A port free now (the system picks it for a socket bound to port 0, closed again).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, length) == 0 else { return -1 }
                return getsockname(fd, p, &length)
            }
        }
        try #require(bound == 0, "bind: \(errno)")
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts `admin serve` on a free port and waits until it answers `/health/live`.
    static func serve(_ store: String, _ extra: [String] = []) throws -> (AdminChild, Int) {
        let port = try freePort()
        let child = try AdminChild(["--store", store, "serve", "--port", "\(port)", "--poll", "0.2"] + extra)
        let up = child.wait(upTo: 30) { child in
            !child.process.isRunning || ((try? get(port: port, "/health/live"))?.status == 200)
        }
        guard up, child.process.isRunning else {
            child.kill()
            let run = child.finish(timeout: 5)
            Issue.record("admin serve did not start on port \(port): \(run.stderr)")
            throw CancellationError()
        }
        return (child, port)
    }

    @Test func theAPIAnswersWhatTheCommandLinePrintsAndStopsCleanlyOnSIGTERM() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            let snapshots = dir.appendingPathComponent("snapshots").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            #expect(try runAdmin(["--store", store, "import", TestPaths.sampleHistory.path]).status == 0)
            #expect(try runAdmin(["--store", store, "project"]).status == 0)
            let (server, port) = try Self.serve(store, ["--snapshots", snapshots])
            defer { server.kill() }

            // Each endpoint, and a few parameter combinations: the same bytes as the CLI.
            let cases: [(String, [String])] = [
                ("/api/v1/leaderboard?competition=bp-2020&theme=1", ["query", "leaderboard", "--competition", "bp-2020", "--theme", "1"]),
                ("/api/v1/leaderboard?competition=bp-2021", ["query", "leaderboard", "--competition", "bp-2021"]),
                ("/api/v1/leaderboard?competition=bp-2021&theme=2&kind=rural", ["query", "leaderboard", "--competition", "bp-2021", "--theme", "2", "--kind", "rural"]),
                ("/api/v1/leaderboard?competition=bp-2020&theme=1&at=position:900", ["query", "leaderboard", "--competition", "bp-2020", "--theme", "1", "--at", "position:900"]),
                ("/api/v1/leaderboard?competition=bp-2020&at=2020-06-01", ["query", "leaderboard", "--competition", "bp-2020", "--at", "2020-06-01"]),
                // Pages of the boards: limit and offset, alone and together, past the end, none.
                ("/api/v1/leaderboard?competition=bp-2020&theme=1&limit=3", ["query", "leaderboard", "--competition", "bp-2020", "--theme", "1", "--limit", "3"]),
                ("/api/v1/leaderboard?competition=bp-2021&offset=2", ["query", "leaderboard", "--competition", "bp-2021", "--offset", "2"]),
                ("/api/v1/leaderboard?competition=bp-2021&limit=2&offset=1&kind=rural", ["query", "leaderboard", "--competition", "bp-2021", "--limit", "2", "--offset", "1", "--kind", "rural"]),
                ("/api/v1/leaderboard?competition=bp-2020&theme=1&limit=5&offset=100000", ["query", "leaderboard", "--competition", "bp-2020", "--theme", "1", "--limit", "5", "--offset", "100000"]),
                ("/api/v1/leaderboard?competition=bp-2020&theme=1&limit=0&at=position:900", ["query", "leaderboard", "--competition", "bp-2020", "--theme", "1", "--limit", "0", "--at", "position:900"]),
                ("/api/v1/regions", ["query", "regions"]),
                ("/api/v1/regions?at=2020-06-01", ["query", "regions", "--at", "2020-06-01"]),
                ("/api/v1/catalog", ["query", "catalog"]),
                ("/api/v1/catalog?q=%D0%B1%D1%8E%D0%B4%D0%B6%D0%B5%D1%82&limit=5", ["query", "catalog", "бюджет", "--limit", "5"]),
                ("/api/v1/catalog?q=%D0%B1%D1%8E%D0%B4%D0%B6%D0%B5%D1%82+%D0%B3%D1%80%D0%BE%D0%BC%D0%B0%D0%B4%D0%B0&sector=governance", ["query", "catalog", "бюджет", "громада", "--sector", "governance"]),
                ("/api/v1/catalog?at=position:100&limit=1000", ["query", "catalog", "--at", "position:100", "--limit", "1000"]),
                ("/api/v1/network", ["query", "network"]),
                ("/api/v1/network?at=2020-06-01", ["query", "network", "--at", "2020-06-01"]),
                ("/api/v1/seminars", ["query", "seminars"]),
                ("/api/v1/seminars?at=position:100", ["query", "seminars", "--at", "position:100"]),
                ("/api/v1/streams/submission-bp-2020-00039/history", ["history", "submission-bp-2020-00039", "--json"]),
                ("/api/v1/streams/submission-bp-2020-00039/history?at=2020-06-01", ["history", "submission-bp-2020-00039", "--json", "--until", "2020-06-01"]),
                ("/api/v1/stats", ["stats", "--json"]),
            ]
            for (target, arguments) in cases {
                let answer = try Self.get(port: port, target)
                #expect(answer.status == 200, "\(target): \(answer.body)")
                #expect(answer.headers["content-type"] == "application/json; charset=utf-8", "\(target)")
                let expected = try Self.cli(store, arguments + (arguments.contains("--json") ? [] : ["--json"]))
                #expect(answer.body == expected, "\(target) differs from admin \(arguments.joined(separator: " ")) --json")
            }

            // The competitions and their themes: what a client may ask the leaderboard for.
            let competitions = try Self.get(port: port, "/api/v1/competitions")
            #expect(competitions.status == 200)
            let list = try JSONSerialization.jsonObject(with: Data(competitions.body.utf8)) as? [String: Any]
            let ids = (list?["competitions"] as? [[String: Any]])?.compactMap { $0["competitionId"] as? String } ?? []
            #expect(ids.contains("bp-2020") && ids.contains("bp-2021"), "\(competitions.body)")
            #expect(try Self.get(port: port, "/api/v1/competitions?at=position:1").body.contains("\"competitions\":[]"))

            // Errors: 400 naming the parameter, 404 with the library's message.
            for (target, status, parameter) in [
                ("/api/v1/regions?colour=red", 400, "colour"),
                ("/api/v1/regions?at=yesterday", 400, "at"),
                ("/api/v1/regions?at=2020-13-45", 400, "at"),
                ("/api/v1/leaderboard?competition=bp-2020&kind=metropolis", 400, "kind"),
                ("/api/v1/leaderboard", 400, "competition"),
                ("/api/v1/catalog?limit=-1", 400, "limit"),
                ("/api/v1/leaderboard?competition=bp-2020&limit=-1", 400, "limit"),
                ("/api/v1/leaderboard?competition=bp-2020&offset=first", 400, "offset"),
                ("/api/v1/catalog?limit=ten", 400, "limit"),
                ("/api/v1/stats?at=position:1", 400, "at"),
                ("/api/v1/leaderboard?competition=bp-1999", 404, "competition"),
                ("/api/v1/leaderboard?competition=bp-2020&theme=1&at=position:100", 404, "competition"),
                ("/api/v1/leaderboard?competition=bp-2020&theme=99", 404, "theme"),
                ("/api/v1/streams/no-such-stream-1/history", 404, "stream"),
            ] {
                let answer = try Self.get(port: port, target)
                #expect(answer.status == status, "\(target): \(answer.status) \(answer.body)")
                #expect(answer.headers["content-type"] == "application/json; charset=utf-8")
                let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
                let error = object?["error"] as? [String: Any]
                #expect(error?["parameter"] as? String == parameter, "\(target): \(answer.body)")
                #expect((error?["message"] as? String)?.isEmpty == false)
            }
            let unknownCompetition = try Self.get(port: port, "/api/v1/leaderboard?competition=bp-1999")
            #expect(unknownCompetition.body.contains("bp-2020"), "the 404 lists the known competitions")
            let notYet = try Self.get(port: port, "/api/v1/leaderboard?competition=bp-2020&at=position:100")
            #expect(notYet.body.contains("no competition bp-2020 is announced (competitions: none yet)"), "\(notYet.body)")
            let unknownPath = try Self.get(port: port, "/api/v2/regions")
            #expect(unknownPath.status == 404)
            #expect(unknownPath.headers["content-type"] == "application/json; charset=utf-8")
            #expect(unknownPath.body.hasPrefix("{\"error\":"))
            #expect(try Self.get(port: port, "/api/v1/regions", method: "POST").status == 405)

            // Health.
            let live = try Self.get(port: port, "/health/live")
            #expect(live.status == 200)
            let ready = try Self.get(port: port, "/health/ready")
            #expect(ready.status == 200, "\(ready.body)")
            #expect(ready.body.contains("\"lagEvents\":0"))

            // SIGTERM: drains and exits 0 within a few seconds.
            let started = Date()
            _ = Glibc.kill(server.process.processIdentifier, SIGTERM)
            let run = server.finish(timeout: 10)
            #expect(run.status == 0 && !run.signalled, "\(run.stderr)")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(run.stderr.contains("serve stopped cleanly"))
            #expect(run.stderr.contains("on http://127.0.0.1:\(port)"), "it says where it listens: \(run.stderr)")
        }
    }

    @Test func readinessReportsEachProjectionsLagWhenTheReadModelsFallBehind() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            #expect(try runAdmin(["--store", store, "import", TestPaths.sampleHistory.path]).status == 0)
            // No workers and nothing projected: every read model lags the whole log.
            let (server, port) = try Self.serve(store, ["--no-workers", "--ready-lag", "10"])
            defer { server.kill() }
            let ready = try Self.get(port: port, "/health/ready")
            #expect(ready.status == 503, "\(ready.body)")
            let object = try JSONSerialization.jsonObject(with: Data(ready.body.utf8)) as? [String: Any]
            let projections = object?["projections"] as? [[String: Any]] ?? []
            #expect(projections.count == 5)
            #expect(projections.allSatisfy { ($0["lagEvents"] as? Int) == 1254 }, "\(ready.body)")
            #expect(try Self.get(port: port, "/health/live").status == 200)
            _ = Glibc.kill(server.process.processIdentifier, SIGINT)
            let run = server.finish(timeout: 10)
            #expect(run.status == 0, "\(run.stderr)")
        }
    }

    @Test func aReadModelFoundToDifferFromTheLogIsRefusedWith503() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            #expect(try runTool("/usr/bin/sqlite3", [store + "/projections.sqlite", tamperOneLeaderboardTotal]) == 0)
            let (server, port) = try Self.serve(store, ["--no-workers"])
            defer { server.kill() }
            #expect(try Self.get(port: port, "/api/v1/leaderboard?competition=bp-2020").status == 200, "not checked yet")
            // A replay check (another process) finds it different: the service refuses it from then on.
            #expect(try runAdmin(["--store", store, "replay", "--check", "--projection", "leaderboard"]).status == 1)
            let refused = try Self.get(port: port, "/api/v1/leaderboard?competition=bp-2020&theme=1")
            #expect(refused.status == 503, "\(refused.body)")
            #expect(refused.body.contains("differs from the log"), "\(refused.body)")
            #expect(refused.body.contains("admin rebuild --projection leaderboard"))
            #expect(try Self.get(port: port, "/api/v1/regions").status == 200, "the others are served")
            // The past is folded from the log afresh: still served.
            #expect(try Self.get(port: port, "/api/v1/leaderboard?competition=bp-2020&at=2020-06-01").status == 200)
            let stats = try Self.get(port: port, "/api/v1/stats")
            #expect(stats.body == (try Self.cli(store, ["stats", "--json"])), "stats lists the verdict as admin stats does")
            _ = Glibc.kill(server.process.processIdentifier, SIGTERM)
            #expect(server.finish(timeout: 10).status == 0)
        }
    }

    @Test func SIGTERMUnderLoadAnswersEveryAcceptedRequestInFull() throws {
        try withTemporaryDirectory { dir in
            let store = try projectedSampleStore(dir)
            let (server, port) = try Self.serve(store)
            defer { server.kill() }
            final class Tally: @unchecked Sendable {
                let lock = NSLock()
                var statuses: [Int] = []
                var refused = 0
            }
            let tally = Tally()
            let group = DispatchGroup()
            for n in 0..<6 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    let targets = ["/api/v1/catalog?limit=1000", "/api/v1/leaderboard?competition=bp-2021&at=position:1200", "/api/v1/regions"]
                    for i in 0..<400 {
                        do {
                            let answer = try Self.get(port: port, targets[(n + i) % targets.count])
                            tally.lock.lock()
                            tally.statuses.append(answer.status)
                            tally.lock.unlock()
                        } catch {
                            tally.lock.lock()
                            tally.refused += 1
                            tally.lock.unlock()
                            return  // the listener is closed: the server is stopping
                        }
                    }
                }.start()
            }
            usleep(700_000)
            _ = Glibc.kill(server.process.processIdentifier, SIGTERM)
            let run = server.finish(timeout: 15)
            #expect(group.wait(timeout: .now() + 30) == .success)
            #expect(run.status == 0, "\(run.stderr)")
            tally.lock.lock()
            defer { tally.lock.unlock() }
            #expect(tally.statuses.count > 6, "requests were answered before the stop")
            #expect(tally.statuses.allSatisfy { $0 == 200 }, "every answer in full and 200: \(Set(tally.statuses))")
        }
    }

    @Test func aPortTakenIsOneClearErrorAndExit1() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                    guard bind(fd, p, length) == 0, listen(fd, 1) == 0 else { return -1 }
                    return getsockname(fd, p, &length)
                }
            }
            try #require(bound == 0)
            let port = Int(UInt16(bigEndian: address.sin_port))
            let run = try runAdmin(["--store", store, "serve", "--port", "\(port)", "--no-workers"], timeout: 20)
            #expect(run.status == 1)
            #expect(run.errorLine == "error: cannot listen on 127.0.0.1:\(port): address already in use", "\(run.stderr)")
        }
    }
}
