import Events
import Projections

// The read models' answers as people read them in a terminal: a heading line, then a table.

/// A query answer that can show itself as text tables for a terminal.
public protocol TextRenderable {
    /// A heading line (what and as of when), then the table.
    func renderText() -> String
}

extension AsOf {
    /// `as of position P (recordedAt)`.
    var text: String {
        "as of position \(position)" + (recordedAt.map { " (\($0.rfc3339))" } ?? "")
    }
}

extension Optional where Wrapped == String {
    var orDash: String { self ?? "—" }
}

extension Leaderboard: TextRenderable {
    public func renderText() -> String {
        var heading = "\(competitionTitle ?? competitionId) — тема \(themeCode)"
        if let themeTitle { heading += ": \(themeTitle)" }
        if let kind { heading += " [\(kind)]" }
        heading += ", \(asOf.text)"
        if winnersAnnounced { heading += ", winners announced" }
        if let page {
            heading += rows.isEmpty
                ? ", no rows from \(page.offset + 1) (of \(page.total))"
                : ", rows \(page.offset + 1)–\(page.offset + rows.count) of \(page.total)"
        }
        let table = TextTable(
            columns: [
                .init("#", .right), .init("submission"), .init("title", maxWidth: 48), .init("community"),
                .init("oblast"), .init("score", .right), .init("jurors", .right), .init("provisional"),
                .init("place", .right),
            ],
            rows: rows.map {
                [
                    String($0.rank), $0.submissionId, $0.title.orDash, $0.communityId, $0.oblast.orDash,
                    $0.score.map { TextTable.fixed($0) } ?? "—", String($0.jurors), $0.provisional ? "yes" : "",
                    $0.place.map(String.init) ?? "",
                ]
            })
        return heading + "\n" + table.render()
    }
}

extension RegionalStatistics: TextRenderable {
    public func renderText() -> String {
        let table = TextTable(
            columns: [
                .init("oblast"), .init("communities", .right), .init("members", .right), .init("population", .right),
                .init("submissions", .right), .init("mean score", .right), .init("winners", .right),
                .init("seminars", .right), .init("participants", .right), .init("attended", .right),
                .init("practices", .right),
            ],
            rows: rows.map {
                [
                    $0.oblast, String($0.communities), String($0.networkMembers), String($0.networkPopulation),
                    String($0.submissions.values.reduce(0, +)), $0.meanScore.map { TextTable.fixed($0) } ?? "—",
                    String($0.winners), String($0.seminars), String($0.seminarParticipants),
                    String($0.seminarCommunities), String($0.practices),
                ]
            })
        return "Regional statistics, \(asOf.text)\n" + table.render()
    }
}

extension CatalogPage: TextRenderable {
    public func renderText() -> String {
        var heading = query.map { "Practices matching «\($0)»" } ?? "Practices"
        heading += ": \(total) found, \(asOf.text)"
        var out = heading + "\n"
        let table = TextTable(
            columns: [
                .init("#", .right), .init("practice"), .init("title", maxWidth: 56), .init("community"),
                .init("oblast"), .init("sector"),
            ],
            rows: rows.map {
                [String($0.rank), $0.practiceId, $0.title, $0.communityId, $0.oblast.orDash, $0.sector.orDash]
            })
        out += table.render()
        if !rows.isEmpty { out += "\n" }
        for hit in rows where !hit.snippet.isEmpty {
            out += "\(hit.rank). \(hit.practiceId): \(TextTable.cut(hit.snippet, 200))\n"
        }
        return out
    }
}

extension NetworkRegister: TextRenderable {
    public func renderText() -> String {
        let table = TextTable(
            columns: [
                .init("community"), .init("name", maxWidth: 40), .init("oblast"), .init("joined"),
                .init("sectors", maxWidth: 44), .init("directions", maxWidth: 44), .init("seminars", .right),
            ],
            rows: rows.map {
                [
                    $0.communityId, $0.name.orDash, $0.oblast.orDash, String($0.joinedAt.prefix(10)),
                    $0.sectors.joined(separator: ", "), $0.directions.joined(separator: ", "),
                    String($0.seminarsAttended),
                ]
            })
        return "Network register: \(rows.count) communities, \(asOf.text)\n" + table.render()
    }
}

extension SeminarList: TextRenderable {
    public func renderText() -> String {
        let table = TextTable(
            columns: [
                .init("date"), .init("seminar"), .init("title", maxWidth: 48), .init("city"), .init("oblast"),
                .init("direction"), .init("participants", .right), .init("communities", .right),
            ],
            rows: rows.map {
                [
                    $0.date.orDash, $0.seminarId, $0.title.orDash, $0.city.orDash, $0.oblast.orDash, $0.direction.orDash,
                    String($0.participants), String($0.communities),
                ]
            })
        return "Seminars: \(rows.count), \(asOf.text)\n" + table.render()
    }
}

extension ProjectionStatus {
    /// The status of projections as a table.
    public static func renderText(_ statuses: [ProjectionStatus], head: Int64? = nil) -> String {
        let table = TextTable(
            columns: [
                .init("projection"), .init("schema"), .init("checkpoint", .right), .init("lag", .right),
                .init("recordedAt"), .init("state"), .init("last error", maxWidth: 80),
            ],
            rows: statuses.map { statusCells($0, head: head) })
        return table.render()
    }

    static func statusCells(_ s: ProjectionStatus, head: Int64?) -> [String] {
        var schema = String(s.storedSchemaVersion)
        if s.isStale { schema += " (code \(s.codeSchemaVersion): stale)" }
        var lag = ""
        if let head { lag = String(max(0, head - s.checkpoint.position)) }
        var state = s.state.rawValue
        if let at = s.rebuildPosition { state += " (at \(at))" }
        let recorded = s.checkpoint.recordedAt?.rfc3339 ?? "—"
        return [s.name, schema, String(s.checkpoint.position), lag, recorded, state, s.lastError ?? ""]
    }
}
