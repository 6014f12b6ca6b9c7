import Foundation
import Testing
import TestSupport

/// A short run of the kill -9 campaign (`scripts/crash_campaign.py`, the full one is
/// `make crash-campaign`) against the binary these tests use: import, appends, project, rebuild,
/// workers and snapshot create killed at random moments (a fixed seed), each followed by the
/// checks; first the self-test, in which a lost acknowledged event, a prefix violation, a damaged
/// frame and a changed read-model row are planted and must each be flagged.
@Suite struct CrashCampaignTests {
    static let script = TestPaths.repoRoot.appendingPathComponent("scripts/crash_campaign.py")

    struct Outcome {
        var status: Int32
        var output: String
        func figure(_ label: String) -> Int? {
            guard let line = output.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }) else {
                return nil
            }
            return Int(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
    }

    static func campaign(runs: Int, seed: String, extra: [String: String] = [:]) throws -> Outcome {
        let admin = try TestPaths.adminBinary()
        return try withTemporaryDirectory { dir in
            var env: [String: String?] = [
                "HROMADA_STORE": nil, "ADMIN": admin.path, "RUNS": String(runs), "SEED": seed, "EVENTS": "900", "QUIET": "1",
                "WORK": dir.appendingPathComponent("work").path,
            ]
            for (k, v) in extra { env[k] = v }
            let run = try runPython([script.path], environment: env)
            return Outcome(status: run.status, output: run.stdout + run.stderr)
        }
    }

    @Test func killedAtRandomMomentsNothingAcknowledgedIsLostAndTheReadModelsMatchAFreshBuild() throws {
        let started = Date()
        let r = try Self.campaign(runs: 22, seed: "4242", extra: ["SELFTEST": "1", "STRICT_DEBRIS": "1"])
        let tail = r.output.split(separator: "\n").suffix(25).joined(separator: "\n")
        #expect(r.status == 0, "the campaign failed (exit \(r.status)):\n\(tail)")
        #expect(r.output.contains("selftest: every planted fault was flagged"), "the self-test did not pass:\n\(tail)")
        #expect(r.output.contains("result: PASS"), "\(tail)")
        #expect(r.figure("lost:") == 0, "\(tail)")
        #expect(r.figure("prefix violations:") == 0, "\(tail)")
        #expect(r.figure("verify failures:") == 0, "\(tail)")
        #expect(r.figure("read-model mismatches:") == 0, "\(tail)")
        #expect(r.figure("signals/crashes seen:") == 0, "\(tail)")
        // the runs were real: most killed mid-run, events acknowledged
        let killedLine = r.output.split(separator: "\n").first { $0.contains("killed mid-run:") }.map(String.init) ?? ""
        let killed = Int(killedLine.split(separator: "total ").last?.split(separator: ")").first ?? "") ?? 0
        #expect(killed >= 10, "only \(killed) of 22 runs were killed mid-run:\n\(tail)")
        #expect((r.figure("acknowledged events:") ?? 0) > 0, "\(tail)")
        print("crash campaign (22 runs) in \(Int(Date().timeIntervalSince(started))) s:\n\(tail)")
    }
}
