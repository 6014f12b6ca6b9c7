import Foundation
import Testing

/// `admin replay --check` end to end: exit 0 on an untouched store, exit 1 naming the table, the
/// key and the column of an altered value, with the live value and the one the log gives.
@Suite struct ReplayCommandTests {
    @Test func replayCheckPassesThenNamesAnAlteredScore() throws {
        try inTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try CLI.run(["init", "--store", store]).status == 0)
            #expect(try CLI.run(["import", CLI.sampleHistory.path, "--store", store]).status == 0)
            #expect(try CLI.run(["project", "--store", store]).status == 0)
            let clean = try CLI.run(["replay", "--check", "--store", store])
            #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
            #expect(clean.stdout.contains("ok: every read model checked equals the log"))

            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            p.arguments = [
                store + "/projections.sqlite",
                "UPDATE leaderboard_score SET total = 999 WHERE submissionId = (SELECT min(submissionId) FROM leaderboard_score)",
            ]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)

            let tampered = try CLI.run(["replay", "--check", "--store", store])
            #expect(tampered.status == 1)
            #expect(tampered.stdout.contains("DIFFERS  leaderboard"))
            #expect(tampered.stdout.contains("leaderboard_score [jurorId="))
            #expect(tampered.stdout.contains("total: live 999, the log gives"))
            let json = try CLI.run(["replay", "--check", "--json", "--projection", "leaderboard", "--store", store])
            #expect(json.status == 1)
            let doc = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(doc?["equal"] as? Bool == false)
            let findings = doc?["findings"] as? [[String: Any]]
            #expect(findings?.count == 1)
            #expect(findings?.first?["status"] as? String == "differs")
        }
    }
}
