import Foundation
import Testing
import TestSupport

@testable import Events

/// Every input the fuzzers kept (`Tests/Fuzz/corpus-*`) and every crash they found
/// (`Tests/Fuzz/crashes/`), run in-process through the code the libFuzzer harnesses drive
/// (`FuzzTargets`, `scripts/fuzz.sh`): each must be handled as the format promises, and a crash
/// that comes back crashes this test.
@Suite struct FuzzCorpusTests {
    static let fuzz = TestPaths.repoRoot.appendingPathComponent("Tests/Fuzz", isDirectory: true)

    /// The files of `Tests/Fuzz/<folder>` whose names start with `prefix` (all when empty).
    static func inputs(_ folder: String, prefix: String = "") throws -> [(name: String, bytes: [UInt8])] {
        let dir = fuzz.appendingPathComponent(folder, isDirectory: true)
        guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            .filter { $0.hasPrefix(prefix) && !$0.hasPrefix(".") && $0 != "README.md" }
            .map { ($0, [UInt8](try Data(contentsOf: dir.appendingPathComponent($0)))) }
    }

    @Test func theImportCorpusAndItsCrashesRoundTrip() throws {
        let corpus = try Self.inputs("corpus-import")
        try #require(corpus.count >= 20, "the import corpus is missing (Tests/Fuzz/corpus-import); run scripts/fuzz_seed.py")
        let all = corpus + (try Self.inputs("crashes", prefix: "import-"))
        var broken: [String] = []
        for input in all {
            if let why = FuzzTargets.importLine(input.bytes) { broken.append("\(input.name): \(why)") }
        }
        #expect(broken.isEmpty, "\(broken.count) of \(all.count) inputs break the import path; first: \(broken.prefix(3))")
    }

    @Test func theFrameCorpusAndItsCrashesReadWithoutCrashing() throws {
        let corpus = try Self.inputs("corpus-frames")
        try #require(corpus.count >= 5, "the frame corpus is missing (Tests/Fuzz/corpus-frames); run scripts/fuzz_seed.py")
        let all = corpus + (try Self.inputs("crashes", prefix: "frames-"))
        var broken: [String] = []
        // every input, the ones declaring gigabytes included (frames are capped before any
        // allocation), and verify may pass only what the reader decodes
        for input in all {
            if let why = FuzzTargets.segment(input.bytes) { broken.append("\(input.name): \(why)") }
        }
        FuzzTargets.cleanUp()
        #expect(broken.isEmpty, "\(broken.count) of \(all.count) inputs break the frame reader; first: \(broken.prefix(3))")
    }

    /// The harness reaches past the CRCs: some input of the corpus, with its checksums fixed or
    /// framed by the harness (modes 1 and 2), is a segment that verifies with events in it.
    @Test func theFrameHarnessReachesTheLinesBehindTheChecksums() throws {
        let corpus = try Self.inputs("corpus-frames")
        var reached = false
        for input in corpus where input.bytes.count > 200 {
            var bytes = Array(input.bytes.dropFirst())
            if input.bytes[0] & 2 == 2 {
                guard let framed = FuzzTargets.segment(ofBody: bytes) else { continue }
                bytes = framed
            } else {
                FuzzTargets.fixChecksums(&bytes)
            }
            let seg = try withTemporaryDirectory { dir -> Int64 in
                let layout = StoreLayout(root: dir.appendingPathComponent("s").path)
                try layout.initialize()
                try Data(bytes).write(to: URL(fileURLWithPath: layout.segmentPath(firstPosition: 1)))
                let report = try LogVerifier(layout: layout).verify()
                return report.ok ? report.events : 0
            }
            if seg > 0 {
                reached = true
                break
            }
        }
        #expect(reached, "no segment of the frame corpus verifies after its checksums are fixed")
    }

    /// Found by the import fuzzer: `decodeRecorded` took any string as the hash, and
    /// `exportLine` wrote it back unescaped (`\b` became a raw backspace): a line that is not
    /// JSON. The hash must be 64 lowercase hex digits.
    @Test func decodeRecordedRefusesAHashThatIsNotLowercaseHex() throws {
        let good = #"{"position":1,"id":"acf5e81e-7131-4269-b118-e36477097749","stream":"community-x","version":0,"type":"T","occurredAt":"2018-01-10T09:42:00Z","recordedAt":"2018-01-10T10:25:47Z","data":{},"metadata":{},"hash":"HASH"}"#
        func decode(_ hash: String) -> RecordedEvent? {
            let line = Array(good.replacingOccurrences(of: "HASH", with: hash).utf8)
            return try? line.withUnsafeBufferPointer { try EventCodec.decodeRecorded(line: $0) }
        }
        let hex = String(repeating: "0123456789abcdef", count: 4)
        let event = try #require(decode(hex))
        #expect(EventCodec.exportLine(event) == good.replacingOccurrences(of: "HASH", with: hex))
        for bad in [#"3581a7834b62be4d6e18babba2\b3375e77ebc835c51d9fe.d408e35d0359bef8"#, hex.uppercased(), String(hex.dropLast()), hex + "0", #"""# + hex.dropFirst(2), ""] {
            #expect(decode(bad) == nil, "decodeRecorded accepted the hash \(bad)")
        }
    }

    /// Every input kept under pending/ (a crash in code another change owns) is described.
    @Test func everyPendingInputIsDescribed() throws {
        let pending = try Self.inputs("pending")
        let readme = (try? String(contentsOf: Self.fuzz.appendingPathComponent("pending/README.md"), encoding: .utf8)) ?? ""
        for input in pending {
            #expect(readme.contains(input.name), "Tests/Fuzz/pending/README.md does not describe \(input.name)")
        }
    }
}
