import Events

// Open-data exports of the read models (docs/OPEN-DATA.md): the `--json` document of a query,
// flattened into one row per entity with a fixed column order, written as CSV or JSON Lines.
// The flattening reads the JSON document (the published contract), not the Swift values, so
// that `admin export-model` and the API's `?format=` give the same bytes by construction.

/// What an export is written as.
public enum OpenDataFormat: String, CaseIterable, Sendable {
    case csv, json, jsonl

    public var contentType: String {
        switch self {
        case .csv: return "text/csv; charset=utf-8"
        case .json: return "application/json; charset=utf-8"
        case .jsonl: return "application/x-ndjson; charset=utf-8"
        }
    }
}

/// The read models an export can be made of; `competitions` is the list of competitions and
/// their themes (what the leaderboard can be asked for).
public enum OpenDataModel: String, CaseIterable, Sendable {
    case leaderboard, competitions, regions, catalog, network, seminars

    /// The projection whose checkpoint the export reflects.
    public var projection: String { self == .competitions ? "leaderboard" : rawValue }
}

/// A column's type: how its cells read in CSV and JSON Lines.
public enum OpenDataColumnType: String, Sendable {
    /// Text; an empty CSV field is `null`.
    case string
    case integer
    /// A decimal number with a `.` (the JSON notation); empty when `null`.
    case number
    /// `true` or `false`.
    case boolean
    /// A list of strings: in CSV joined with ``OpenDataTable/listSeparator``, in JSON Lines an array.
    case list
}

public struct OpenDataColumn: Sendable, Hashable {
    public var name: String
    public var type: OpenDataColumnType
}

/// The document's shape is not the one a model answers with (a bug, not bad input).
public struct OpenDataError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// One read model's answer as a table: columns in their documented order, one row per entity
/// (a board's submission, a theme, an oblast, a practice, a member, a seminar).
public struct OpenDataTable: Sendable {
    /// How list cells are joined in CSV (ids and slugs never hold it).
    public static let listSeparator = "; "

    public var model: OpenDataModel
    /// `{"position", "recordedAt"}` of the document, `null` for a competition without boards.
    public var asOf: JSONValue
    public var columns: [OpenDataColumn]
    public var rows: [[JSONValue]]
    /// The catalog's count of every match (the rows are the first `limit`), else `nil`.
    public var total: JSONValue?

    /// A column whose cell is read from the entity (`row`) or the object holding it (`parent`).
    struct Field {
        var column: OpenDataColumn
        var cell: (_ row: JSONValue, _ parent: JSONValue) -> JSONValue

        static func row(_ key: String, _ type: OpenDataColumnType, as name: String? = nil) -> Field {
            Field(column: OpenDataColumn(name: name ?? key, type: type)) { row, _ in row[key] ?? .null }
        }

        static func parent(_ key: String, _ type: OpenDataColumnType, as name: String? = nil) -> Field {
            Field(column: OpenDataColumn(name: name ?? key, type: type)) { _, parent in parent[key] ?? .null }
        }
    }

    /// Flattens `document` (as `admin query MODEL --json` prints it).
    public init(model: OpenDataModel, document: JSONValue) throws(OpenDataError) {
        self.model = model
        var entities: [(row: JSONValue, parent: JSONValue)] = []
        var fields: [Field]
        switch model {
        case .leaderboard:
            // One board, or (no theme asked) an array of boards.
            let boards = document.arrayValue ?? [document]
            asOf = boards.first?["asOf"] ?? .null
            for board in boards { entities += try Self.list(board, "rows").map { ($0, board) } }
            fields = [
                .parent("competitionId", .string), .parent("competitionTitle", .string), .parent("themeCode", .string),
                .parent("themeTitle", .string), .parent("minJurors", .integer), .parent("winnersAnnounced", .boolean),
                .row("rank", .integer), .row("submissionId", .string), .row("title", .string),
                .row("communityId", .string), .row("oblast", .string), .row("kind", .string), .row("score", .number),
                .row("jurors", .integer), .row("provisional", .boolean), .row("place", .integer),
                .row("award", .string),
            ]
        case .competitions:
            asOf = document["asOf"] ?? .null
            for competition in try Self.list(document, "competitions") {
                let themes = try Self.list(competition, "themes")
                // A competition announced without themes still gets its row.
                entities += (themes.isEmpty ? [.object([:])] : themes).map { ($0, competition) }
            }
            fields = [
                .parent("competitionId", .string), .parent("title", .string, as: "competitionTitle"),
                .parent("minJurors", .integer), .row("themeCode", .string), .row("title", .string, as: "themeTitle"),
                .row("winnersAnnounced", .boolean), .row("submissions", .integer),
            ]
        case .regions:
            asOf = document["asOf"] ?? .null
            entities = try Self.list(document, "rows").map { ($0, document) }
            fields = [
                .row("oblast", .string), .row("communities", .integer), .row("networkMembers", .integer),
                .row("networkPopulation", .integer),
                Field(column: OpenDataColumn(name: "submissions", type: .integer)) { row, _ in
                    .int(row["submissions"]?.objectValue?.values.compactMap(\.intValue).reduce(0, +) ?? 0)
                },
                .row("meanScore", .number), .row("winners", .integer), .row("seminars", .integer),
                .row("seminarParticipants", .integer), .row("seminarCommunities", .integer),
                .row("practices", .integer),
            ] + Self.perCompetition(entities.map(\.row))
        case .catalog:
            asOf = document["asOf"] ?? .null
            total = document["total"]
            entities = try Self.list(document, "rows").map { ($0, document) }
            fields = [
                .row("rank", .integer), .row("practiceId", .string), .row("title", .string),
                .row("communityId", .string), .row("oblast", .string), .row("sector", .string),
                .row("relevance", .number), .row("directions", .list), .row("participationForms", .list),
                .row("tags", .list), .row("snippet", .string),
            ]
        case .network:
            asOf = document["asOf"] ?? .null
            entities = try Self.list(document, "rows").map { ($0, document) }
            fields = [
                .row("communityId", .string), .row("name", .string), .row("oblast", .string),
                .row("joinedAt", .string), .row("sectors", .list), .row("directions", .list),
                .row("seminarsAttended", .integer),
            ]
        case .seminars:
            asOf = document["asOf"] ?? .null
            entities = try Self.list(document, "rows").map { ($0, document) }
            fields = [
                .row("seminarId", .string), .row("date", .string), .row("title", .string), .row("oblast", .string),
                .row("city", .string), .row("direction", .string), .row("participants", .integer),
                .row("communities", .integer), .row("communityIds", .list),
            ]
        }
        columns = fields.map(\.column)
        rows = entities.map { entity in fields.map { $0.cell(entity.row, entity.parent) } }
    }

    /// The array `key` of `object`.
    static func list(_ object: JSONValue, _ key: String) throws(OpenDataError) -> [JSONValue] {
        guard let items = object[key]?.arrayValue else {
            throw OpenDataError(description: "the document has no array \"\(key)\"")
        }
        return items
    }

    /// Regions' per-competition figures as columns `submissions.<id>` (0 when none), then
    /// `meanScore.<id>` (empty when none scored), for the competitions present, sorted by id.
    static func perCompetition(_ regions: [JSONValue]) -> [Field] {
        var ids = Set<String>()
        for region in regions {
            ids.formUnion(region["submissions"]?.objectValue?.keys ?? [:].keys)
            ids.formUnion(region["meanScores"]?.objectValue?.keys ?? [:].keys)
        }
        let sorted = ids.sorted()
        return sorted.map { id in
            Field(column: OpenDataColumn(name: "submissions.\(id)", type: .integer)) { row, _ in
                row["submissions"]?[id] ?? .int(0)
            }
        }
            + sorted.map { id in
                Field(column: OpenDataColumn(name: "meanScore.\(id)", type: .number)) { row, _ in
                    row["meanScores"]?[id] ?? .null
                }
            }
    }

    /// RFC 4180 CSV with a header record (see ``CSVWriter``).
    public var csv: String {
        var writer = CSVWriter()
        writer.append(columns.map(\.name))
        for row in rows { writer.append(row.map(Self.text)) }
        return writer.text
    }

    /// A cell as CSV text: `null` empty, numbers in JSON notation, lists joined.
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: return ""
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .array(let items): return items.map(text).joined(separator: listSeparator)
        case .int, .double, .object: return value.canonicalString
        }
    }

    /// JSON Lines: one object per row, its keys the columns in their order.
    public var jsonLines: String {
        var out = ""
        for row in rows {
            let members = zip(columns, row).map { JSONValue.string($0.name).canonicalString + ":" + $1.canonicalString }
            out += "{" + members.joined(separator: ",") + "}\n"
        }
        return out
    }
}

/// One export: the model's `--json` document and what is written for the chosen format.
public struct OpenDataExport: Sendable {
    /// An export lists every catalog match unless a limit is given (the query's maximum).
    public static let catalogLimit = 10_000

    public var format: OpenDataFormat
    public var table: OpenDataTable

    /// What is written: the CSV, the JSON Lines, or the JSON document as `query --json` prints it.
    public let body: String

    /// - Parameter document: the model's JSON as `admin query … --json` prints it (no newline).
    public init(model: OpenDataModel, format: OpenDataFormat, document: String) throws(OpenDataError) {
        let parsed: JSONValue
        do { parsed = try JSONParser.parse(document) } catch {
            throw OpenDataError(description: "the \(model.rawValue) document is not JSON: \(error)")
        }
        self.format = format
        table = try OpenDataTable(model: model, document: parsed)
        switch format {
        case .csv: body = table.csv
        case .jsonl: body = table.jsonLines
        case .json: body = document + "\n"
        }
    }

    public var asOfPosition: Int64? { table.asOf["position"]?.intValue }
    public var asOfRecordedAt: String? { table.asOf["recordedAt"]?.stringValue }

    /// `regions-12000.csv`: the model and the position it reflects.
    public var fileName: String {
        "\(table.model.rawValue)-\(asOfPosition.map(String.init) ?? "0").\(format.rawValue)"
    }

    /// The as-of record written beside an exported file as `FILE.meta.json`: what was
    /// exported, with which parameters, as of which position and time, and the columns.
    public func metadata(file: String, parameters: [String: String]) -> JSONValue {
        var record: [String: JSONValue] = [
            "model": .string(table.model.rawValue), "format": .string(format.rawValue), "file": .string(file),
            "asOf": table.asOf, "parameters": .object(parameters.mapValues(JSONValue.string)),
            "rows": .int(Int64(table.rows.count)),
            "columns": .array(
                table.columns.map { ["name": .string($0.name), "type": .string($0.type.rawValue)] }),
            "encoding": .string(
                format == .csv ? "UTF-8 with a byte order mark, RFC 4180, CRLF line ends" : "UTF-8"),
            "listSeparator": .string(OpenDataTable.listSeparator),
        ]
        record["total"] = table.total
        return .object(record)
    }

    /// The HTTP headers of an export answer: a file name to save it under and its as-of.
    public var httpHeaders: [(name: String, value: String)] {
        var headers = [(name: "Content-Disposition", value: "attachment; filename=\"\(fileName)\"")]
        if let asOfPosition { headers.append((name: "X-As-Of-Position", value: String(asOfPosition))) }
        if let asOfRecordedAt { headers.append((name: "X-As-Of-Recorded-At", value: asOfRecordedAt)) }
        return headers
    }
}
