import Foundation
import Testing
import TestSupport

/// `admin keys create`, `admin receipt` and `admin receipt verify` end to end, and a receipt
/// checked by an independent Ed25519 verifier in Python (scripts/verify_receipt.py: the
/// `cryptography` package, and a plain RFC 8032 verification).
@Suite struct ReceiptCommandTests {
    /// A store holding the first `count` lines of the sample (all of them when nil), or those after the first.
    func makeStore(_ dir: URL, _ name: String, lines: [[UInt8]]) throws -> String {
        let store = dir.appendingPathComponent(name).path
        let file = dir.appendingPathComponent(name + ".jsonl")
        try Data(lines.joinedLines()).write(to: file)
        #expect(try runAdmin(["init", "--store", store]).status == 0)
        let imported = try runAdmin(["import", file.path, "--store", store])
        #expect(imported.status == 0, "\(imported.stderr)")
        return store
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func keysReceiptAndVerifyEndToEnd() throws {
        try withTemporaryDirectory { dir in
            let lines = try Sample.lines()
            let store = try makeStore(dir, "store", lines: lines)
            let keys = dir.appendingPathComponent("keys").path

            let created = try runAdmin(["keys", "create", "--out", keys])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(try mode(keys + "/receipt.key") == 0o600)
            #expect(try mode(keys + "/receipt.pub") == 0o644)
            let privateBefore = try Data(contentsOf: URL(fileURLWithPath: keys + "/receipt.key"))
            let again = try runAdmin(["keys", "create", "--out", keys])
            #expect(again.status == 1)
            #expect(again.stderr.contains("refusing to overwrite"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: keys + "/receipt.key")) == privateBefore)

            // At the head, to a file; at a position, to standard output.
            let receiptFile = dir.appendingPathComponent("receipt.json").path
            let signed = try runAdmin(["receipt", "--key", keys + "/receipt.key", "--out", receiptFile, "--store", store])
            #expect(signed.status == 0, "\(signed.stderr)")
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: receiptFile))) as? [String: Any])
            #expect(doc["position"] as? Int == lines.count)
            #expect(doc["format"] as? String == "hromada-ledger-receipt 1")
            let head = try runAdmin(["read", "--from", String(lines.count), "--store", store])
            #expect(head.stdout.contains(doc["hash"] as? String ?? "?"))
            let overwrite = try runAdmin(["receipt", "--key", keys + "/receipt.key", "--out", receiptFile, "--store", store])
            #expect(overwrite.status == 1)

            let atPosition = try runAdmin(["receipt", "--at", "position:7", "--key", keys + "/receipt.key", "--store", store])
            #expect(atPosition.status == 0)
            let seven = try #require(try JSONSerialization.jsonObject(with: Data(atPosition.stdout.utf8)) as? [String: Any])
            #expect(seven["position"] as? Int == 7)
            let first = try runAdmin(["read", "--from", "1", "--limit", "1", "--store", store])
            #expect(first.stdout.contains(seven["store"] as? String ?? "?"))

            let ok = try runAdmin(["receipt", "verify", receiptFile, "--public-key", keys + "/receipt.pub", "--store", store])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdoutLines.count == 1)
            #expect(ok.stdout.hasPrefix("ok: the receipt holds"))
            // Global options before the command, and --json.
            let json = try runAdmin(["--store", store, "receipt", "verify", receiptFile, "--public-key", keys + "/receipt.pub", "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            let verdict = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(verdict["ok"] as? Bool == true)
            #expect(verdict["position"] as? Int == lines.count)

            // An independent verifier: Python's `cryptography`, then plain RFC 8032.
            // (When pip cannot install `cryptography`, the script's own RFC 8032 check is the verifier.)
            let library = try installCryptography()
            let python = try runPython([script, receiptFile, keys + "/receipt.pub"])
            #expect(python.status == 0, "\(python.stderr)")
            #expect(python.stdout.hasPrefix(library ? "ok: signature holds (cryptography)" : "ok: signature holds (pure-python RFC 8032)"))
            let pure = try runPython([script, receiptFile, keys + "/receipt.pub", "--pure"])
            #expect(pure.status == 0, "\(pure.stderr)")
            #expect(pure.stdout.hasPrefix("ok: signature holds (pure-python RFC 8032)"))
            // ... which refuses an altered receipt too.
            let altered = dir.appendingPathComponent("altered.json").path
            let text = try String(contentsOfFile: receiptFile, encoding: .utf8)
            try text.replacingOccurrences(of: "\"position\":\(lines.count)", with: "\"position\":\(lines.count - 1)")
                .write(toFile: altered, atomically: true, encoding: .utf8)
            for extra in [[], ["--pure"]] {
                let refused = try runPython([script, altered, keys + "/receipt.pub"] + extra)
                #expect(refused.status == 1, "\(extra)")
                #expect(refused.stderr.contains("does not hold"))
            }
        }
    }

    @Test func eachKindOfBadReceiptIsRefusedWithItsReason() throws {
        try withTemporaryDirectory { dir in
            let lines = try Sample.lines()
            let store = try makeStore(dir, "store", lines: lines)
            let shorter = try makeStore(dir, "shorter", lines: Array(lines.prefix(200)))
            let other = try makeStore(dir, "other", lines: Array(lines.dropFirst().prefix(200)))
            let keys = dir.appendingPathComponent("keys").path
            let otherKeys = dir.appendingPathComponent("other-keys").path
            #expect(try runAdmin(["keys", "create", "--private", keys + ".key", "--public", keys + ".pub"]).status == 0)
            #expect(try runAdmin(["keys", "create", "--out", otherKeys]).status == 0)
            let receipt = dir.appendingPathComponent("r.json").path
            #expect(try runAdmin(["receipt", "--at", "position:300", "--key", keys + ".key", "--out", receipt, "--store", store]).status == 0)
            #expect(try verify(receipt, keys + ".pub", store).status == 0)

            func refused(_ file: String, _ publicKey: String, _ store: String, _ reason: String, _ kind: String) throws {
                let run = try verify(file, publicKey, store)
                #expect(run.status == 1, "\(reason): \(run.stdout)")
                #expect(run.stderr.contains("error: receipt refused: "), "\(run.stderr)")
                #expect(run.stderr.contains(reason), "\(run.stderr)")
                let json = try verify(file, publicKey, store, json: true)
                #expect(json.status == 1)
                let doc = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
                #expect(doc?["ok"] as? Bool == false)
                #expect(doc?["refusal"] as? String == kind, "\(json.stdout)")
            }
            try refused(receipt, keys + ".pub", shorter, "beyond this log's head (position 200)", "beyond-head")
            try refused(receipt, keys + ".pub", other, "the receipt is of another store", "other-store")
            try refused(receipt, otherKeys + "/receipt.pub", store, "signed by another key", "wrong-key")

            let text = try String(contentsOfFile: receipt, encoding: .utf8)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let altered = dir.appendingPathComponent("altered.json").path
            try text.replacingOccurrences(of: "\"position\":300", with: "\"position\":301").write(toFile: altered, atomically: true, encoding: .utf8)
            try refused(altered, keys + ".pub", store, "altered after it was signed, or forged", "bad-signature")
            let timeAltered = dir.appendingPathComponent("time.json").path
            let signedAt = try #require(doc["signedAt"] as? String)
            try text.replacingOccurrences(of: signedAt, with: "2020-01-01T00:00:00Z").write(toFile: timeAltered, atomically: true, encoding: .utf8)
            try refused(timeAltered, keys + ".pub", store, "altered after it was signed, or forged", "bad-signature")

            let forged = dir.appendingPathComponent("forged.json").path
            let signature = try #require(doc["signature"] as? String)
            var bytes = try #require(Data(base64Encoded: signature))
            bytes[0] ^= 0x55
            try text.replacingOccurrences(of: signature, with: bytes.base64EncodedString()).write(toFile: forged, atomically: true, encoding: .utf8)
            try refused(forged, keys + ".pub", store, "the signature does not hold", "bad-signature")

            let missing = try verify(dir.appendingPathComponent("none.json").path, keys + ".pub", store)
            #expect(missing.status == 66)
        }
    }

    /// The Python snippet of docs/AUDIT.md, run as it is written, accepts a receipt and refuses an altered one.
    @Test func theAuditDocsPythonSnippetVerifiesAReceipt() throws {
        let docs = try String(contentsOf: TestPaths.repoRoot.appendingPathComponent("docs/AUDIT.md"), encoding: .utf8)
        let start = try #require(docs.range(of: "```python\n"))
        let end = try #require(docs.range(of: "\n```", range: start.upperBound..<docs.endIndex))
        let snippet = String(docs[start.upperBound..<end.lowerBound])
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir, "store", lines: Array(try Sample.lines().prefix(150)))
            let keys = dir.appendingPathComponent("keys").path
            #expect(try runAdmin(["keys", "create", "--out", keys]).status == 0)
            let receipt = dir.appendingPathComponent("r.json").path
            #expect(try runAdmin(["receipt", "--at", "position:99", "--key", keys + "/receipt.key", "--out", receipt, "--store", store]).status == 0)
            let file = dir.appendingPathComponent("check.py").path
            try snippet.write(toFile: file, atomically: true, encoding: .utf8)
            try #require(try installCryptography(), "the docs' snippet needs Python's cryptography package")
            let ok = try runPython([file], in: dir)
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout.contains("signature holds: store"))
            #expect(ok.stdout.contains("at position 99"))
            let text = try String(contentsOfFile: receipt, encoding: .utf8)
            try text.replacingOccurrences(of: "\"position\":99", with: "\"position\":98").write(toFile: receipt, atomically: true, encoding: .utf8)
            let altered = try runPython([file], in: dir)
            #expect(altered.status != 0)
            #expect(altered.stderr.contains("InvalidSignature"))
        }
    }

    @Test func usageErrors() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir, "store", lines: Array(try Sample.lines().prefix(20)))
            #expect(try runAdmin(["receipt", "--store", store]).status == 64)
            #expect(try runAdmin(["keys", "create"]).status == 64)
            #expect(try runAdmin(["receipt", "--at", "yesterday", "--key", "k", "--store", store]).status == 64)
            #expect(try runAdmin(["receipt", "--key", dir.appendingPathComponent("none").path, "--store", store]).status == 66)
        }
    }

    // MARK: - helpers

    var script: String { TestPaths.repoRoot.appendingPathComponent("scripts/verify_receipt.py").path }

    func verify(_ file: String, _ publicKey: String, _ store: String, json: Bool = false) throws -> ChildResult {
        try runAdmin(["receipt", "verify", file, "--public-key", publicKey, "--store", store] + (json ? ["--json"] : []))
    }

    /// Whether Python's `cryptography` package is importable, installing it with pip when missing.
    func installCryptography() throws -> Bool {
        if try runPython(["-c", "import cryptography"]).status == 0 { return true }
        _ = try runPython(["-m", "pip", "install", "--quiet", "cryptography"])
        return try runPython(["-c", "import cryptography"]).status == 0
    }
}
