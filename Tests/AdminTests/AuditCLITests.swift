import Foundation
import Testing
import TestSupport

/// The auditor's log commands (issue 12): `read --type/--actor`, `verify --deep`, and `verify
/// --receipt` as the same check as `receipt verify`.
@Suite struct AuditCLITests {
    func sampleStore(_ dir: URL) throws -> String {
        let store = dir.appendingPathComponent("store").path
        #expect(try runAdmin(["init", "--store", store]).status == 0)
        #expect(try runAdmin(["import", TestPaths.sampleHistory.path, "--store", store]).status == 0)
        return store
    }

    func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test func readFiltersByTypeAndActorExactly() throws {
        try withTemporaryDirectory { dir in
            let store = try sampleStore(dir)
            let all = try objects(try runAdmin(["read", "--store", store]).stdout)
            let scores = try objects(try runAdmin(["read", "--type", "JuryScoreAdded", "--store", store]).stdout)
            #expect(!scores.isEmpty)
            #expect(scores.map { $0["position"] as! Int } == all.filter { $0["type"] as? String == "JuryScoreAdded" }.map { $0["position"] as! Int })
            let two = try objects(
                try runAdmin(["read", "--type", "JuryScoreAdded", "--type", "SubmissionFiled", "--store", store]).stdout)
            #expect(two.count == all.filter { ["JuryScoreAdded", "SubmissionFiled"].contains($0["type"] as? String) }.count)
            func actor(_ e: [String: Any]) -> String { ((e["metadata"] as? [String: Any])?["actor"] as? String) ?? "-" }
            let someActor = try #require(all.map(actor).first { $0 != "-" })
            let byActor = try objects(try runAdmin(["read", "--actor", someActor, "--store", store]).stdout)
            #expect(!byActor.isEmpty)
            #expect(byActor.map { $0["position"] as! Int } == all.filter { actor($0) == someActor }.map { $0["position"] as! Int })
            let limited = try objects(try runAdmin(["read", "--type", "JuryScoreAdded", "--limit", "3", "--store", store]).stdout)
            #expect(limited.map { $0["position"] as! Int } == Array(scores.prefix(3)).map { $0["position"] as! Int })
        }
    }

    @Test func verifyDeepAndVerifyReceipt() throws {
        try withTemporaryDirectory { dir in
            let store = try sampleStore(dir)
            let deep = try runAdmin(["verify", "--deep", "--store", store])
            #expect(deep.status == 0, "\(deep.stderr)")
            let keys = dir.appendingPathComponent("keys").path
            #expect(try runAdmin(["keys", "create", "--out", keys]).status == 0)
            let receipt = dir.appendingPathComponent("r.json").path
            #expect(try runAdmin(["receipt", "--key", keys + "/receipt.key", "--out", receipt, "--store", store]).status == 0)
            let ok = try runAdmin(["verify", "--receipt", receipt, "--public-key", keys + "/receipt.pub", "--store", store])
            #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
            #expect(ok.stdout.contains("the receipt holds"))
            let other = dir.appendingPathComponent("other").path
            #expect(try runAdmin(["keys", "create", "--out", other]).status == 0)
            let wrong = try runAdmin(["verify", "--receipt", receipt, "--public-key", other + "/receipt.pub", "--store", store])
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("another key"), "\(wrong.stderr)")
            #expect(try runAdmin(["verify", "--receipt", receipt, "--store", store]).status == 64)
        }
    }
}
