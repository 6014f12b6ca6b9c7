import Crypto
import Foundation
import Projections
import Synchronization
import Testing

import Events
import Workers
import TestSupport

/// Signed receipts (issue 12): a round trip, the exact signed bytes, and each kind of bad
/// receipt refused with its reason.
@Suite struct ReceiptTests {
    let key = Curve25519.Signing.PrivateKey()

    @Test(arguments: LogBackend.allCases) func aReceiptRoundTripsAndHolds(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(prefix: 300, backend: backend)
        for position: Int64? in [nil, 1, 17, fixture.head] {
            let receipt = try Receipt.sign(reader: fixture.reader, position: position, key: key)
            let at = position ?? fixture.head
            #expect(receipt.position == at)
            #expect(receipt.hash == fixture.events[Int(at) - 1].hash)
            #expect(receipt.recordedAt == fixture.events[Int(at) - 1].recordedAt)
            #expect(receipt.store == fixture.events[0].hash)
            let read = try Receipt.parse(receipt.fileBytes)
            #expect(read == receipt)
            try read.verify(publicKey: key.publicKey)
            let verdict = try read.check(against: fixture.reader)
            #expect((try? verdict.get()) != nil)
        }
    }

    /// The signed bytes are exactly the canonical JSON of the document without "signature".
    @Test func theSignedBytesAreTheCanonicalDocumentWithoutItsSignature() throws {
        let receipt = Receipt(
            store: String(repeating: "a", count: 64), position: 42, hash: String(repeating: "b", count: 64),
            recordedAt: Timestamp(rfc3339: "2020-10-15T12:00:00Z")!, signedAt: Timestamp(rfc3339: "2026-12-04T19:00:00.250Z")!,
            publicKey: Array(repeating: 7, count: 32), signature: Array(repeating: 9, count: 64))
        let expected =
            #"{"algorithm":"Ed25519","format":"hromada-ledger-receipt 1","hash":"\#(receipt.hash)","position":42,"#
            + #""publicKey":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=","recordedAt":"\#(receipt.recordedAt.rfc3339)","#
            + #""signedAt":"\#(receipt.signedAt.rfc3339)","store":"\#(receipt.store)"}"#
        #expect(String(decoding: receipt.signedBytes, as: UTF8.self) == expected)
        var members = try #require(receipt.document.objectValue)
        members["signature"] = nil
        #expect(JSONValue.object(members).canonicalBytes == receipt.signedBytes)
    }

    @Test(arguments: LogBackend.allCases) func anAlteredReceiptIsRefused(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(prefix: 100, backend: backend)
        let receipt = try Receipt.sign(reader: fixture.reader, position: 50, key: key)
        for field in ["position", "hash", "recordedAt", "signedAt", "store"] {
            var members = try #require(receipt.document.objectValue)
            switch field {
            case "position": members[field] = .int(51)
            case "hash": members[field] = .string(fixture.events[50].hash)
            case "store": members[field] = .string(fixture.events[1].hash)
            default: members[field] = .string("2021-01-01T00:00:00Z")
            }
            let altered = try Receipt.parse(JSONValue.object(members).canonicalBytes)
            #expect(throws: Receipt.Refusal.self) { try altered.verify(publicKey: key.publicKey) }
            do {
                try altered.verify(publicKey: key.publicKey)
            } catch {
                #expect(error.kind == .badSignature, "\(field)")
                #expect(error.reason.contains("altered"))
            }
        }
    }

    @Test(arguments: LogBackend.allCases) func aForgedSignatureIsRefused(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(prefix: 100, backend: backend)
        var receipt = try Receipt.sign(reader: fixture.reader, key: key)
        receipt.signature[10] ^= 0x01
        #expect(refusal { try receipt.verify(publicKey: key.publicKey) } == .badSignature)
        receipt.signature = Array(repeating: 0, count: 64)
        #expect(refusal { try receipt.verify(publicKey: key.publicKey) } == .badSignature)
    }

    @Test(arguments: LogBackend.allCases) func aReceiptOfAnotherKeyIsRefused(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(prefix: 100, backend: backend)
        let receipt = try Receipt.sign(reader: fixture.reader, key: key)
        let other = Curve25519.Signing.PrivateKey()
        #expect(refusal { try receipt.verify(publicKey: other.publicKey) } == .wrongKey)
        // Another key's receipt that claims the trusted key: the signature does not hold for it.
        var claimed = try Receipt.sign(reader: fixture.reader, key: other)
        claimed.publicKey = Array(key.publicKey.rawRepresentation)
        #expect(refusal { try claimed.verify(publicKey: key.publicKey) } == .badSignature)
    }

    @Test(arguments: LogBackend.allCases) func aReceiptBeyondTheHeadIsRefused(_ backend: LogBackend) throws {
        let longer = try HistoryFixture.sample(prefix: 200, backend: backend)
        let shorter = try HistoryFixture.sample(prefix: 120, backend: backend)
        let receipt = try Receipt.sign(reader: longer.reader, position: 150, key: key)
        try receipt.verify(publicKey: key.publicKey)
        let verdict = try receipt.check(against: shorter.reader)
        #expect(kind(verdict) == .beyondHead)
        #expect(reason(verdict).contains("beyond this log's head (position 120)"))
        // Within the shorter log's head, the same history holds.
        #expect(kind(try Receipt.sign(reader: longer.reader, position: 120, key: key).check(against: shorter.reader)) == nil)
    }

    @Test(arguments: LogBackend.allCases) func aReceiptOfAnotherStoreIsRefused(_ backend: LogBackend) throws {
        let lines = try Sample.lines()
        let one = try HistoryFixture(lines: Array(lines.prefix(60)), backend: backend)
        let other = try HistoryFixture(lines: Array(lines.dropFirst().prefix(60)), backend: backend)
        #expect(one.events[0].hash != other.events[0].hash)
        let receipt = try Receipt.sign(reader: one.reader, position: 10, key: key)
        let verdict = try receipt.check(against: other.reader)
        #expect(kind(verdict) == .otherStore)
        #expect(reason(verdict).contains("another store"))
    }

    @Test(arguments: LogBackend.allCases) func aReceiptOfARewrittenHistoryIsRefused(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(prefix: 80, backend: backend)
        // A validly signed receipt whose hash this log does not have at that position.
        var receipt = Receipt(
            store: fixture.events[0].hash, position: 40, hash: fixture.events[40].hash,
            recordedAt: fixture.events[39].recordedAt, signedAt: .now(), publicKey: Array(key.publicKey.rawRepresentation))
        receipt.signature = Array(try key.signature(for: receipt.signedBytes))
        try receipt.verify(publicKey: key.publicKey)
        #expect(kind(try receipt.check(against: fixture.reader)) == .rewritten)
    }

    @Test(arguments: LogBackend.allCases) func malformedDocumentsAreRefused(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(prefix: 30, backend: backend)
        let receipt = try Receipt.sign(reader: fixture.reader, key: key)
        var members = try #require(receipt.document.objectValue)
        members["extra"] = .string("x")
        for bytes in [Array("not json".utf8), Array("[]".utf8), JSONValue.object(members).canonicalBytes] {
            #expect(refusal { _ = try Receipt.parse(bytes) } == .malformed)
        }
    }

    @Test func keyFilesHaveRestrictiveModesAndAreNeverOverwritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hromada-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let created = try ReceiptKeys.create(privatePath: dir + "/k.key", publicPath: dir + "/k.pub")
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        #expect(try mode(dir + "/k.key") == 0o600)
        #expect(try mode(dir + "/k.pub") == 0o644)
        #expect(try ReceiptKeys.loadPrivate(dir + "/k.key").rawRepresentation == created.rawRepresentation)
        #expect(try ReceiptKeys.loadPublic(dir + "/k.pub").rawRepresentation == created.publicKey.rawRepresentation)
        let text = try String(contentsOfFile: dir + "/k.pub", encoding: .utf8)
        #expect(text.hasPrefix(ReceiptKeys.publicHeader + "\n"))
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/k.key"))
        #expect(throws: EventStoreError.self) { try ReceiptKeys.create(privatePath: dir + "/k.key", publicPath: dir + "/k2.pub") }
        #expect(throws: EventStoreError.self) { try ReceiptKeys.create(privatePath: dir + "/k2.key", publicPath: dir + "/k.pub") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/k.key")) == before)
        #expect(!FileManager.default.fileExists(atPath: dir + "/k2.key"))
        #expect(throws: EventStoreError.self) { _ = try ReceiptKeys.loadPublic(dir + "/k.key") }
    }

    // MARK: - helpers

    func refusal(_ body: () throws -> Void) -> Receipt.Refusal.Kind? {
        do {
            try body()
            return nil
        } catch let r as Receipt.Refusal {
            return r.kind
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    func kind(_ verdict: Result<Void, Receipt.Refusal>) -> Receipt.Refusal.Kind? {
        if case .failure(let r) = verdict { return r.kind }
        return nil
    }

    func reason(_ verdict: Result<Void, Receipt.Refusal>) -> String {
        if case .failure(let r) = verdict { return r.reason }
        return ""
    }
}

/// Workers publishing receipts on a schedule, and a folder of them checked as a whole.
@Suite struct ReceiptPolicyTests {
    @Test func receiptsArePublishedEveryNEventsAndTheFolderShowsAHistoryThatOnlyGrew() throws {
        let lines = try Sample.lines()
        let fixture = try HistoryFixture(lines: Array(lines.prefix(600)))
        let key = Curve25519.Signing.PrivateKey()
        let folder = fixture.root + "/receipts"
        let clock = Mutex(Timestamp(milliseconds: 1_800_000_000_000))
        let policy = ReceiptPolicy(
            reader: fixture.reader, key: key, directory: folder, everyEvents: 300, now: { clock.withLock { $0 } })
        let projections = try fixture.freshProjections()
        defer { try? projections.close() }
        let source = LogEventSource(reader: fixture.reader)
        try policy.caughtUp(projections: projections, source: source)
        try policy.caughtUp(projections: projections, source: source)  // nothing new: no second receipt
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["receipt-00000000000000000600.json"])

        // 200 more events: not due; 400 more: due.
        func append(_ range: Range<Int>) throws {
            let store = try EventStore(layout: fixture.layout)
            defer { store.close() }
            var iterator = lines[range].makeIterator()
            _ = try store.importLines(options: EventStore.ImportOptions(), next: { iterator.next() })
        }
        try append(600..<800)
        clock.withLock { $0 = Timestamp(milliseconds: $0.milliseconds + 60_000) }
        try policy.caughtUp(projections: projections, source: source)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 1)
        try append(800..<1000)
        clock.withLock { $0 = Timestamp(milliseconds: $0.milliseconds + 60_000) }
        try policy.caughtUp(projections: projections, source: source)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
                == ["receipt-00000000000000000600.json", "receipt-00000000000000001000.json"])

        let entries = try ReceiptFolder.check(folder, publicKey: key.publicKey, reader: fixture.reader)
        #expect(entries.map(\.position) == [600, 1000])
        #expect(entries.allSatisfy { $0.refusal == nil }, "\(entries)")

        // Another key's receipt in the folder is refused, the others still hold.
        let other = try Receipt.sign(reader: fixture.reader, position: 700, key: Curve25519.Signing.PrivateKey())
        try Data(other.fileBytes).write(to: URL(fileURLWithPath: folder + "/receipt-00000000000000000700.json"))
        let mixed = try ReceiptFolder.check(folder, publicKey: key.publicKey, reader: fixture.reader)
        #expect(mixed.map(\.position) == [600, 700, 1000])
        #expect(mixed.filter { $0.refusal != nil }.map(\.position) == [700])
    }
}
