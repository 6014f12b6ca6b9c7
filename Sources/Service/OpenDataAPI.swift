import Events
import Rendering

/// The open-data side of the API: `?format=csv|json|jsonl` on every read-model endpoint
/// (docs/OPEN-DATA.md) and the OpenAPI document at `/openapi.json`. The endpoint answers its
/// JSON document as usual (its parameters checked by ``API/route(path:_:)``); the export is
/// made from that document, the same way `admin export-model` makes it, so both give the same
/// bytes.
extension API {
    /// The answer when `path` is `/openapi.json` or the request asks for a `format`, else `nil`
    /// (the request is routed as usual; `format` on another endpoint is an unknown parameter).
    func openData(path: String, _ p: Parameters) async throws -> Answer? {
        if path == "/openapi.json" {
            try p.only([])
            return Answer(status: 200, body: OpenAPIDocument.json)
        }
        guard let text = p["format"] else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[0] == "api", parts[1] == "v1", let model = OpenDataModel(rawValue: String(parts[2]))
        else { return nil }
        guard let format = OpenDataFormat(rawValue: text) else {
            throw APIError.invalid("format", "format must be csv, json or jsonl, not \"\(text)\"")
        }
        var rest = p
        rest.values["format"] = nil
        if model == .catalog, rest["limit"] == nil { rest.values["limit"] = String(OpenDataExport.catalogLimit) }
        let document = try await route(path: path, rest)
        let export: OpenDataExport
        do { export = try OpenDataExport(model: model, format: format, document: document.text ?? "") } catch {
            throw APIError(status: 500, code: "internal", message: "cannot export \(model.rawValue): \(error)")
        }
        var answer = Answer(status: document.status, body: export.body)
        answer.contentType = format.contentType
        answer.headers = Dictionary(export.httpHeaders.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        return answer
    }
}
