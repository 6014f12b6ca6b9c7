import Foundation
import Testing
import TestSupport

/// `admin replay --check` end to end: exit 0 on an untouched store, exit 1 naming the table, the
/// key and the column of an altered value, with the live value and the one the log gives.
@Suite struct ReplayCommandTests {
    @Test func replayCheckPassesThenNamesAnAlteredScore() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["init", "--store", store]).status == 0)
            #expect(try runAdmin(["import", TestPaths.sampleHistory.path, "--store", store]).status == 0)
            #expect(try runAdmin(["project", "--store", store]).status == 0)
            let clean = try runAdmin(["replay", "--check", "--store", store])
            #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
            #expect(clean.stdout.contains("ok: every read model checked equals the log"))

            #expect(try runTool("/usr/bin/sqlite3", [store + "/projections.sqlite", tamperOneLeaderboardTotal]) == 0)

            let tampered = try runAdmin(["replay", "--check", "--store", store])
            #expect(tampered.status == 1)
            #expect(tampered.stdout.contains("DIFFERS  leaderboard"))
            #expect(tampered.stdout.contains("leaderboard_score [jurorId="))
            #expect(tampered.stdout.contains("total: live 999, the log gives"))
            let json = try runAdmin(["replay", "--check", "--json", "--projection", "leaderboard", "--store", store])
            #expect(json.status == 1)
            let doc = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(doc?["equal"] as? Bool == false)
            let findings = doc?["findings"] as? [[String: Any]]
            #expect(findings?.count == 1)
            #expect(findings?.first?["status"] as? String == "differs")

            // Found to differ: not served until rebuilt; stats says so; a rebuild clears it.
            let refused = try runAdmin(["query", "leaderboard", "--competition", "bp-2020", "--store", store])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("differs from the log"), "\(refused.stderr)")
            #expect(refused.stderr.contains("admin rebuild --projection leaderboard"))
            #expect(try runAdmin(["query", "regions", "--store", store]).status == 0, "the others are served")
            #expect(try runAdmin(["stats", "--store", store]).stdout.contains("leaderboard  differs at position"))
            #expect(try runAdmin(["rebuild", "--projection", "leaderboard", "--store", store]).status == 0)
            #expect(try runAdmin(["query", "leaderboard", "--competition", "bp-2020", "--store", store]).status == 0)
            #expect(try runAdmin(["stats", "--store", store]).stdout.contains("rebuilt since"))
            #expect(try runAdmin(["replay", "--check", "--store", store]).status == 0)
        }
    }
}

/// A snapshot altered after it was taken, with its manifest re-sealed to match (new checksums),
/// passes `snapshot verify` but not `replay --check --snapshot`, which folds the log afresh.
@Suite struct ReplaySnapshotTests {
    @Test func aResealedTamperedSnapshotIsFoundByReplay() throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            let snaps = dir.appendingPathComponent("snaps").path
            #expect(try runAdmin(["init", "--store", store]).status == 0)
            #expect(try runAdmin(["import", TestPaths.sampleHistory.path, "--store", store]).status == 0)
            #expect(try runAdmin(["snapshot", "create", "--store", store, "--snapshots", snaps]).status == 0)
            let name = try #require(try FileManager.default.contentsOfDirectory(atPath: snaps).first { !$0.hasPrefix(".") })
            let folder = snaps + "/" + name
            #expect(try runAdmin(["replay", "--check", "--snapshot", name, "--snapshots", snaps, "--store", store]).status == 0)

            // Decompress, change a score, compress, and re-seal the manifest's checksums.
            let raw = dir.appendingPathComponent("raw.sqlite").path
            #expect(try runTool("/usr/bin/zstd", ["-q", "-d", folder + "/projections.sqlite.zst", "-o", raw]) == 0)
            #expect(try runTool("/usr/bin/sqlite3", [raw, "UPDATE leaderboard_score SET total = total + 10"]) == 0)
            try FileManager.default.removeItem(atPath: folder + "/projections.sqlite.zst")
            #expect(try runTool("/usr/bin/zstd", ["-q", raw, "-o", folder + "/projections.sqlite.zst"]) == 0)
            let manifestURL = URL(fileURLWithPath: folder + "/manifest.json")
            var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
            var content = try #require(manifest["content"] as? [String: Any])
            func sha(_ path: String) throws -> String {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
                p.arguments = [path]
                let out = Pipe()
                p.standardOutput = out
                try p.run()
                let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                return String(text.prefix(64))
            }
            content["rawSHA256"] = try sha(raw)
            content["rawBytes"] = try FileManager.default.attributesOfItem(atPath: raw)[.size] as? Int
            content["compressedSHA256"] = try sha(folder + "/projections.sqlite.zst")
            content["compressedBytes"] =
                try FileManager.default.attributesOfItem(atPath: folder + "/projections.sqlite.zst")[.size] as? Int
            manifest["content"] = content
            try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: manifestURL)

            let verify = try runAdmin(["snapshot", "verify", name, "--snapshots", snaps, "--store", store])
            #expect(verify.status == 0, "the re-sealed snapshot should pass its own checksums: \(verify.stdout)\(verify.stderr)")
            let replay = try runAdmin(["replay", "--check", "--snapshot", name, "--snapshots", snaps, "--store", store])
            #expect(replay.status == 1)
            #expect(replay.stdout.contains("DIFFERS  leaderboard"))
            #expect(replay.stdout.contains("leaderboard_score"))
        }
    }
}
