import Foundation
import Testing
import TestSupport

/// The web dashboard served by `admin serve`: the embedded page and assets with their content
/// types and security headers, and nothing else under `/` (no file is ever read, so no path,
/// however spelt, reaches the file system). What the page shows is checked in a real browser by
/// `scripts/browser-test.sh`.
@Suite(.serialized) struct DashboardTests {
    static let assets: [(path: String, contentType: String, contains: String)] = [
        ("/", "text/html; charset=utf-8", "<html lang=\"uk\">"),
        ("/assets/dashboard.css", "text/css; charset=utf-8", ".tile-map"),
        ("/assets/dashboard.js", "text/javascript; charset=utf-8", "new EventSource('/api/v1/live')"),
        ("/assets/favicon.svg", "image/svg+xml; charset=utf-8", "<svg"),
    ]

    /// Every spelling of a path outside the embedded names: traversal, percent-encoded dots and
    /// slashes, a NUL, the repository's own files, near misses of the real names.
    static let notServed = [
        "/../../etc/passwd", "/assets/../Package.swift", "/assets/../../Package.swift", "/%2e%2e/%2e%2e/etc/passwd",
        "/assets/%2e%2e/Package.swift", "/assets/%2E%2E%2FPackage.swift", "/assets/..%2fPackage.swift",
        "/..%2f..%2fetc%2fpasswd", "/assets/dashboard.js%00", "/assets/dashboard.js/", "/assets/", "/assets",
        "/index.html", "//etc/passwd", "/Package.swift", "/Sources/Service/API.swift", "/assets/dashboard.JS",
        "/%61ssets/dashboard.js", "/etc/passwd",
    ]

    /// `admin serve` on an empty store (the dashboard needs no data to be served).
    func withServer(_ body: (_ port: Int) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            #expect(try runAdmin(["--store", store, "init"]).status == 0)
            let (server, port) = try ServeTests.serve(store, ["--no-workers"])
            defer { server.kill() }
            try body(port)
        }
    }

    @Test func thePageAndItsAssetsAreServedWithTheirTypesAndAStrictContentSecurityPolicy() throws {
        try withServer { port in
            for asset in Self.assets {
                let answer = try ServeTests.get(port: port, asset.path)
                #expect(answer.status == 200, "\(asset.path): \(answer.body)")
                #expect(answer.headers["content-type"] == asset.contentType, "\(asset.path)")
                #expect(answer.body.contains(asset.contains), "\(asset.path) is the embedded file")
                #expect(answer.headers["cache-control"] == "no-cache", "\(asset.path)")
                #expect(answer.headers["x-content-type-options"] == "nosniff", "\(asset.path)")
                let policy = answer.headers["content-security-policy"] ?? ""
                #expect(policy.hasPrefix("default-src 'self';"), "\(asset.path): \(policy)")
                #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval") && !policy.contains("*"))
                #expect(policy.contains("frame-ancestors 'none'") && policy.contains("object-src 'none'"))
                let head = try ServeTests.get(port: port, asset.path, method: "HEAD")
                #expect(head.status == 200 && head.body.isEmpty, "HEAD \(asset.path)")
                #expect(head.headers["content-type"] == asset.contentType)
            }
            // The page loads only its own assets (the policy would block anything else anyway).
            let page = try ServeTests.get(port: port, "/").body
            for reference in ["/assets/dashboard.css", "/assets/dashboard.js", "/assets/favicon.svg"] {
                #expect(page.contains("\"\(reference)\""), "the page links \(reference)")
            }
            #expect(!page.contains("<script>") && !page.contains("style="), "no inline script or style")
            #expect(!page.contains("http://") && !page.contains("https://"), "nothing from another origin")
            #expect(try ServeTests.get(port: port, "/?at=2020-10-15").status == 200, "a query string is the page's own")
        }
    }

    @Test func anyOtherPathIsA404JSONErrorAndNothingIsReadFromDisk() throws {
        try withServer { port in
            let package = try String(contentsOf: TestPaths.repoRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
            for target in Self.notServed {
                let answer = try ServeTests.get(port: port, target)
                #expect(answer.status == 404, "\(target): \(answer.status) \(answer.body)")
                #expect(answer.headers["content-type"] == "application/json; charset=utf-8", "\(target)")
                #expect(answer.headers["content-security-policy"]?.hasPrefix("default-src 'self'") == true, "\(target)")
                #expect(answer.headers["cache-control"] == "no-store", "\(target)")
                let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
                let error = object?["error"] as? [String: Any]
                #expect(error?["code"] as? String == "not-found", "\(target): \(answer.body)")
                #expect((error?["message"] as? String)?.contains("the dashboard is at /") == true, "\(target): \(answer.body)")
                #expect(!answer.body.contains("root:") && !answer.body.contains(String(package.prefix(40))), "\(target) leaks no file")
            }
            // Writes are refused with 405 (the dashboard is read-only), naming what is allowed.
            for method in ["POST", "PUT", "DELETE"] {
                let refused = try ServeTests.get(port: port, "/", method: method)
                #expect(refused.status == 405, "\(method) /: \(refused.status)")
                #expect(refused.headers["allow"] == "GET, HEAD")
                #expect(refused.body.hasPrefix("{\"error\":"))
            }
            // The service's own paths are still the API's.
            let regions = try ServeTests.get(port: port, "/api/v1/regions")
            #expect(regions.status == 200 && regions.headers["content-type"] == "application/json; charset=utf-8")
            let unknown = try ServeTests.get(port: port, "/api/v1/nothing")
            #expect(unknown.status == 404 && unknown.body.contains("no such endpoint"), "\(unknown.body)")
            #expect(try ServeTests.get(port: port, "/health/live").status == 200)
        }
    }
}
