import Foundation
import Testing
import TestSupport

/// A short run of the several-hosts campaign (`scripts/pg_hosts_campaign.py`; the long one is
/// `make pg-hosts-campaign`) with the binary these tests use: three appender hosts in network
/// namespaces share one PostgreSQL store; one host's link is cut while an import is in flight,
/// another's imports are killed with -9 mid-transaction. Afterwards verify passes, every
/// acknowledged batch is there exactly once and every other one whole or not at all, and every
/// batch sent again from another host adds only what was missing. The self-test first plants a
/// lost acknowledged batch, which the checks must flag.
@Suite struct PostgresHostsTests {
    @Test func appendersOnThreeHostsLoseNothingAcknowledgedThroughALinkCutAndKills() throws {
        let admin = try TestPaths.adminBinary()
        let script = TestPaths.repoRoot.appendingPathComponent("scripts/pg_hosts_campaign.py")
        let run = try withTemporaryDirectory { dir -> (Int32, String) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, "--admin", admin.path]
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "HROMADA_STORE")
            // names and addresses of their own, apart from a `make pg-hosts-campaign` running
            env["NETNS_PREFIX"] = "hlt\(getpid() % 10_000)"
            env["SUBNET"] = "79"
            env["SEED"] = "20261207"
            env["ROUNDS"] = "8"
            env["KILLS"] = "3"
            env["CUT"] = "1"
            env["SELFTEST"] = "1"
            process.environment = env
            let out = dir.appendingPathComponent("out.txt")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            let handle = try FileHandle(forWritingTo: out)
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try handle.close()
            return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
        }
        let (status, output) = run
        print(output)
        #expect(status == 0, "the campaign failed (exit \(status)):\n\(output)")
        #expect(output.contains("selftest: the planted lost batch was flagged"), "\(output)")
        #expect(output.contains("result: PASS"), "\(output)")
        // the faults happened: a kill landed, and the link was cut during an import of host 2
        let phase = output.split(separator: "\n").first { $0.hasPrefix("phase 1:") }.map(String.init) ?? ""
        #expect(!phase.contains("(0 killed"), "\(phase)")
        #expect(output.contains("after sending everything again: 600 events, 24 whole batches of 24"), "\(output)")
    }
}
