import ArgumentParser
import Events
import Foundation
import Projections
import Rendering

/// `admin export-model NAME --format csv|json|jsonl [--output FILE]`: a read model as open data
/// (docs/OPEN-DATA.md). The same bytes as the API's `?format=`: both flatten the `--json`
/// document with ``OpenDataExport``.
struct ExportModel: ParsableCommand, StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-model",
        abstract: "Export a read model as open data: CSV (UTF-8 with BOM, RFC 4180), JSON or JSON Lines.",
        discussion: """
            Models: leaderboard, competitions, regions, catalog, network, seminars. Columns and \
            encoding: docs/OPEN-DATA.md. With --output FILE the as-of record (position, recordedAt, \
            parameters, columns) goes to FILE.meta.json; without it, the as-of line goes to stderr.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The read model: \(OpenDataModel.allCases.map(\.rawValue).joined(separator: ", ")).")
    var name: String
    @Option(help: "csv, json or jsonl.") var format: String
    @Option(help: "Write to FILE (and the as-of record to FILE.meta.json) instead of stdout.") var output: String?
    @Option(help: "Answer as of recorded time T: a date (its end, UTC), a date-time, or position:N.") var at: String?
    @Option(help: "Where snapshots are looked for (time travel).") var snapshots: String = "./snapshots"
    @Option(help: "leaderboard: the competition's id, e.g. bp-2020 (required).") var competition: String?
    @Option(help: "leaderboard: one theme's code (default: every theme).") var theme: String?
    @Option(help: "leaderboard: only communities of this kind: urban, settlement, rural.") var kind: String?
    @Option(help: "catalog: words to search for (default: every practice).") var text: String?
    @Option(help: "catalog: only practices of this sector.") var sector: String?
    @Option(help: "catalog: only practices of this direction.") var direction: String?
    @Option(help: "catalog: only practices with this participation form.") var form: String?
    @Option(help: "catalog: only practices of communities in this oblast (e.g. UA-53).") var oblast: String?
    @Option(help: "catalog: only practices of this community.") var community: String?
    @Option(help: "catalog: how many hits (1...10000, default \(OpenDataExport.catalogLimit)).") var limit: Int?

    /// The filters given, by the name the API gives them, for the as-of record.
    var parameters: [String: String] {
        let given: [(String, String?)] = [
            ("competition", competition), ("theme", theme), ("kind", kind), ("q", text), ("sector", sector),
            ("direction", direction), ("form", form), ("oblast", oblast), ("community", community),
            ("limit", limit.map(String.init)), ("at", at),
        ]
        return Dictionary(uniqueKeysWithValues: given.compactMap { name, value in value.map { (name, $0) } })
    }

    func validate() throws {
        guard let model = OpenDataModel(rawValue: name) else {
            throw ValidationError(
                "unknown model \"\(name)\" (models: \(OpenDataModel.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard OpenDataFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be csv, json or jsonl, not \"\(format)\"")
        }
        if let at, TimePoint(at) == nil {
            throw ValidationError("--at must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N")
        }
        let filters: [(String, Any?, OpenDataModel)] = [
            ("--competition", competition, .leaderboard), ("--theme", theme, .leaderboard), ("--kind", kind, .leaderboard),
            ("--text", text, .catalog), ("--sector", sector, .catalog), ("--direction", direction, .catalog),
            ("--form", form, .catalog), ("--oblast", oblast, .catalog), ("--community", community, .catalog),
            ("--limit", limit, .catalog),
        ]
        for (option, value, owner) in filters where value != nil && owner != model {
            throw ValidationError("\(option) applies to the \(owner.rawValue) model only, not to \(model.rawValue)")
        }
        if model == .leaderboard, competition == nil {
            throw ValidationError("the leaderboard needs --competition (see admin export-model competitions)")
        }
        if let kind, !Vocabulary.communityKinds.contains(kind) {
            throw ValidationError("--kind must be \(Vocabulary.communityKinds.joined(separator: ", ")), not \"\(kind)\"")
        }
        if let limit, !(1...10_000).contains(limit) { throw ValidationError("--limit must be 1...10000") }
    }

    func run() throws {
        global.bootstrapLogging()
        do {
            let model = OpenDataModel(rawValue: name)!
            let (document, note) = try queryResult(
                global: global, at: at, snapshots: snapshots, projections: [model.projection], self.document(model))
            let export = try OpenDataExport(model: model, format: OpenDataFormat(rawValue: format)!, document: document)
            if let note { printError(note) }
            guard let output else {
                FileHandle.standardOutput.write(Data(export.body.utf8))
                printError(
                    "\(export.table.rows.count) rows, as of position \(export.asOfPosition ?? 0)"
                        + (export.asOfRecordedAt.map { " (\($0))" } ?? ""))
                return
            }
            let file = URL(fileURLWithPath: output)
            let meta = export.metadata(file: file.lastPathComponent, parameters: parameters)
            try Data(export.body.utf8).write(to: file, options: .atomic)
            try Data((JSONOutput.encode(meta) + "\n").utf8).write(
                to: URL(fileURLWithPath: output + ".meta.json"), options: .atomic)
            print("wrote \(export.table.rows.count) rows to \(output) and the as-of record to \(output).meta.json")
        } catch { throw fail(error) }
    }

    /// The model's document as `admin query … --json` prints it (the API answers the same).
    func document(_ model: OpenDataModel) -> (ProjectionStore) throws -> String {
        let (competition, theme, kind) = (competition ?? "", theme, kind)
        switch model {
        case .leaderboard:
            return { try LeaderboardSet.document($0, competitionId: competition, themeCode: theme, kind: kind) }
        case .competitions: return { try JSONOutput.encode(ServiceDocuments.competitions($0)) }
        case .regions: return { try JSONOutput.encode($0.regions()) }
        case .network: return { try JSONOutput.encode($0.network()) }
        case .seminars: return { try JSONOutput.encode($0.seminars()) }
        case .catalog:
            let filters = CatalogFilters(sector: sector, direction: direction, form: form, oblast: oblast, community: community)
            let (query, limit) = (text.flatMap { $0.isEmpty ? nil : $0 }, limit ?? OpenDataExport.catalogLimit)
            return { try JSONOutput.encode($0.catalog(query: query, filters: filters, limit: limit)) }
        }
    }
}
