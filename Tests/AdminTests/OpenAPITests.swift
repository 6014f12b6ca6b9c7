import Foundation
import Testing
import TestSupport

/// Runs one of the Python checkers of `Tests/OpenAPI/` to its end.
func runChecker(_ script: String, _ arguments: [String]) throws -> ChildResult {
    try runPython([TestPaths.repoRoot.appendingPathComponent("Tests/OpenAPI/\(script)").path] + arguments)
}

/// `/openapi.json` against the service's real answers: the document is a valid OpenAPI 3.1
/// document (openapi-spec-validator), and every GET endpoint's answers, successes and errors,
/// validate against the schemas it declares (jsonschema, JSON Schema 2020-12). The checker is
/// `Tests/OpenAPI/validate_api.py`; a missing validator fails the test (scripts/deps.sh
/// installs both).
@Suite(.serialized) struct OpenAPITests {
    @Test func theServedDocumentIsValidAndTheAnswersMatchIt() throws {
        try withTemporaryDirectory { dir in
            let (store, tokenFile) = try ServeLiveTests.store(dir)
            let (server, port) = try ServeTests.serve(
                store, ["--snapshots", dir.appendingPathComponent("snapshots").path, "--token-file", tokenFile])
            defer { server.kill() }

            let document = try ServeTests.get(port: port, "/openapi.json")
            #expect(document.status == 200)
            #expect(document.headers["content-type"] == "application/json; charset=utf-8")
            let object = try JSONSerialization.jsonObject(with: Data(document.body.utf8)) as? [String: Any]
            #expect(object?["openapi"] as? String == "3.1.0")
            let paths = (object?["paths"] as? [String: Any])?.keys.sorted() ?? []
            for path in [
                "/api/v1/leaderboard", "/api/v1/competitions", "/api/v1/regions", "/api/v1/catalog", "/api/v1/network",
                "/api/v1/seminars", "/api/v1/streams/{stream}/history", "/api/v1/stats", "/health/live", "/health/ready",
                "/api/v1/live", "/api/v1/events", "/metrics", "/api/v1/streams/{stream}", "/openapi.json",
            ] {
                #expect(paths.contains(path), "\(path) is documented")
            }

            let check = try runChecker("validate_api.py", ["http://127.0.0.1:\(port)", ServeLiveTests.token])
            #expect(check.status == 0, "validate_api.py: \(check.stdout)\(check.stderr)")
            #expect(check.stdout.contains("0 failures"), "\(check.stdout)")
        }
    }
}
