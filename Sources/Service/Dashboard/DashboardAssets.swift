import Hummingbird
import NIOCore

/// The web dashboard (`/` and `/assets/...`): a page, its style sheet, its script and its icon,
/// compiled into the binary as string literals. Nothing is read from the file system, so a
/// path can only ever name one of these four: there is no path to traverse.
public enum DashboardAssets {
    /// One embedded file: what it is and its text.
    public struct Asset: Sendable {
        public var contentType: String
        public var body: String
    }

    /// The embedded files by the exact request path (not decoded, not normalised: `/assets/%2E%2E/x`
    /// or `/assets/../x` name nothing).
    public static let files: [String: Asset] = [
        "/": Asset(contentType: "text/html; charset=utf-8", body: DashboardPage.html),
        "/assets/dashboard.css": Asset(contentType: "text/css; charset=utf-8", body: DashboardStyle.css),
        "/assets/dashboard.js": Asset(contentType: "text/javascript; charset=utf-8", body: DashboardScript.js),
        "/assets/favicon.svg": Asset(contentType: "image/svg+xml; charset=utf-8", body: DashboardPage.favicon),
    ]

    /// Paths that belong to the service, not to the dashboard (the API, health, metrics, its description).
    static let servicePaths = ["/api", "/health", "/metrics", "/openapi.json"]

    /// Whether `path` is the dashboard's to answer: anything outside ``servicePaths``.
    /// The route label of a dashboard request in the metrics: the asset's path, or "other" (so
    /// that probing paths makes no series of their own).
    static func routeName(_ path: String) -> String {
        files[path] != nil ? path : "other"
    }

    public static func claims(_ path: String) -> Bool {
        !servicePaths.contains { path == $0 || path.hasPrefix($0 + "/") }
    }

    /// The page only talks to this service, runs no inline code or styles and cannot be framed.
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// The status, headers and body of a request for a dashboard path: 200 and the file, 404 JSON
    /// for a name not embedded, 405 JSON for anything but GET and HEAD. Every answer carries the
    /// content security policy, so that even an error page cannot be used to run a script.
    public static func answer(method: String, path: String) -> (status: Int, headers: [(String, String)], body: String) {
        var headers: [(String, String)] = [
            ("Content-Security-Policy", contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ]
        let error: APIError
        if method != "GET" && method != "HEAD" {
            headers.append(("Allow", "GET, HEAD"))
            error = APIError(status: 405, code: "method-not-allowed", message: "\(method) is not allowed: the dashboard is read-only (GET)")
        } else if let asset = files[path] {
            // Revalidated on each load: the names are not versioned, and a new binary may serve new files.
            headers += [("Content-Type", asset.contentType), ("Cache-Control", "no-cache")]
            return (200, headers, asset.body)
        } else {
            error = APIError.notFound(
                "no such page: \(path) (the dashboard is at /, its files under /assets/; the API under /api/v1/)")
        }
        headers += [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")]
        return (error.status, headers, error.body)
    }

    /// The Hummingbird response for a dashboard path, or `nil` when the path is the API's.
    static func response(to request: Request) -> Response? {
        guard claims(request.uri.path) else { return nil }
        let answer = answer(method: request.method.rawValue, path: request.uri.path)
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPFields.Element.Name(name) { fields[field] = value }
        }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: fields,
            body: request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }
}
