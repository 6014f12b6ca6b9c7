import Events
import Projections
import Rendering

/// An answer other than 200: its status and the JSON body
/// `{"error": {"code", "message", "parameter"}}` (`parameter` null when no parameter is to blame).
public struct APIError: Error, Sendable {
    public var status: Int
    public var code: String
    public var message: String
    public var parameter: String?
    /// Headers the status needs (WWW-Authenticate for a 401, Retry-After for a 503, Allow for a 405).
    public var headers: [String: String]

    public init(status: Int, code: String, message: String, parameter: String? = nil, headers: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.parameter = parameter
        self.headers = headers
    }

    public var body: String {
        JSONOutput.encode(
            JSONValue.object([
                "error": .object([
                    "code": .string(code), "message": .string(message),
                    "parameter": parameter.map(JSONValue.string) ?? .null,
                ])
            ]))
    }

    static func unknownParameter(_ name: String, known: [String]) -> APIError {
        APIError(
            status: 400, code: "unknown-parameter",
            message: "unknown query parameter \"\(name)\" (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))",
            parameter: name)
    }

    static func invalid(_ name: String, _ message: String) -> APIError {
        APIError(status: 400, code: "invalid-parameter", message: message, parameter: name)
    }

    static func notFound(_ message: String, parameter: String? = nil) -> APIError {
        APIError(status: 404, code: "not-found", message: message, parameter: parameter)
    }

    /// The HTTP meaning of a library error: unknown competition/theme/stream 404, a bad argument
    /// 400, a read model found to differ from the log 503, anything else 500.
    static func from(_ error: any Error, parameter: String? = nil) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? ProjectionError {
            if e.code == .notFound { return APIError(status: 404, code: "not-found", message: e.message, parameter: parameter) }
            if e.code == .invalidArgument {
                return APIError(status: 400, code: "invalid-parameter", message: e.message, parameter: parameter)
            }
            if e.code == .differsFromLog {
                return APIError(
                    status: 503, code: "differs-from-log", message: "read model \(e.projection ?? "?"): \(e.message)")
            }
            return APIError(status: 500, code: e.code.name, message: e.message)
        }
        if let e = error as? EventStoreError {
            switch e.code {
            case .notFound: return APIError(status: 404, code: "not-found", message: e.message, parameter: parameter)
            case .wrongExpectedVersion: return APIError(status: 409, code: e.code.name, message: e.message, parameter: "expectedVersion")
            case .invalidEvent: return APIError(status: 400, code: e.code.name, message: e.message, parameter: parameter ?? "events")
            case .locked:
                return APIError(status: 503, code: e.code.name, message: e.message, headers: ["Retry-After": "1"])
            default: return APIError(status: 500, code: e.code.name, message: e.message)
            }
        }
        return APIError(status: 500, code: "internal", message: "\(error)")
    }
}
