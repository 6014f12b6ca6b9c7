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
        // names and addresses of their own, apart from a `make pg-hosts-campaign` running
        let run = try runPython(
            [script.path, "--admin", admin.path],
            environment: [
                "HROMADA_STORE": nil, "NETNS_PREFIX": "hlt\(getpid() % 10_000)", "SUBNET": "79", "SEED": "20261207",
                "ROUNDS": "8", "KILLS": "3", "CUT": "1", "SELFTEST": "1",
            ])
        let (status, output) = (run.status, run.stdout + run.stderr)
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
