import Foundation
import Testing

/// The repository and its shared test data (`Tests/Fixtures`), found from this file's path.
public enum TestPaths {
    /// Tests/TestSupport/Paths.swift -> the repository's root.
    public static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repo root
        .standardizedFileURL
    /// `Tests/Fixtures`.
    public static let data: URL = repoRoot.appendingPathComponent("Tests/Fixtures", isDirectory: true).standardizedFileURL
    /// `Tests/Fixtures/sample-history.jsonl`: the sample history, one interchange event a line.
    public static let sampleHistory: URL = data.appendingPathComponent("sample-history.jsonl")
    /// `Tests/Fixtures/invalid-after-sample.json`: events the catalog rejects after the sample.
    public static let invalidAfterSample: URL = data.appendingPathComponent("invalid-after-sample.json")

    /// The `admin` binary: `$HROMADA_ADMIN`, else `.build/debug/admin`, else `.build-tests/debug/admin`.
    public static func adminBinary() throws -> URL {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["HROMADA_ADMIN"], !path.isEmpty { candidates.append(path) }
        candidates.append(repoRoot.appendingPathComponent(".build/debug/admin").path)
        candidates.append(repoRoot.appendingPathComponent(".build-tests/debug/admin").path)
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(
            found,
            "the admin binary is not built: looked for \(candidates.joined(separator: ", ")); run `swift build` (or set HROMADA_ADMIN)")
        return URL(fileURLWithPath: path)
    }
}
