import Events
import Foundation
import Projections
import Rendering

/// The documents of the service that are not one read model's answer: the store's statistics
/// (as `admin stats --json` prints them), the competitions and their themes, readiness.
public enum ServiceDocuments {
    /// `admin stats --json` and `/api/v1/stats` (the one builder of both): the log's figures,
    /// each projection's checkpoint and lag, each replay check's verdict; without read models
    /// (`nil`: none built yet) both lists are empty.
    public static func stats(reader: any LogReading, projections store: ProjectionStore?) throws -> JSONValue {
        let stats = try reader.stats()
        let statuses = try store?.status() ?? []
        let headTime = stats.headRecordedAt.flatMap(Timestamp.init(rfc3339:))
        let projections: [JSONValue] = statuses.map { s in
            let (lag, lagSeconds) = s.lag(behind: stats.headPosition, recordedAt: headTime)
            return [
                "name": .string(s.name), "checkpoint": .int(s.checkpoint.position),
                "checkpointRecordedAt": s.checkpoint.recordedAt.map { .string($0.rfc3339) } ?? .null,
                "lagEvents": .int(lag), "lagSeconds": .double(lagSeconds), "state": .string(s.state.rawValue),
                "schemaVersion": .int(Int64(s.storedSchemaVersion)), "codeSchemaVersion": .int(Int64(s.codeSchemaVersion)),
                "lastError": s.lastError.map(JSONValue.string) ?? .null,
            ]
        }
        let audits = try store?.audits() ?? []
        let generations = try store?.generations() ?? [:]
        let auditLines: [JSONValue] = audits.map { a in
            [
                "projection": .string(a.projection), "status": .string(a.status.rawValue), "position": .int(a.position),
                "checkedAt": .string(a.checkedAt.rfc3339), "differences": .int(Int64(a.differences)),
                "current": .bool(a.isCurrent(in: generations)),
            ]
        }
        var object: [String: JSONValue] = [
            "events": .int(stats.events), "streams": .int(stats.streams), "frames": .int(stats.frames),
            "segments": .int(Int64(stats.segments)), "logBytes": .int(stats.logBytes),
            "indexBytes": .int(stats.indexBytes), "uncompressedBytes": .int(stats.uncompressedBytes),
            "headPosition": .int(stats.headPosition),
            "headRecordedAt": stats.headRecordedAt.map(JSONValue.string) ?? .null,
            "headHash": stats.headHash.map(JSONValue.string) ?? .null,
        ]
        object["projections"] = .array(projections)
        object["audits"] = .array(auditLines)
        return .object(object)
    }

    /// The competitions the leaderboard knows, in the order announced, each with its title, the
    /// jurors a score needs, and its themes (code, title, whether winners are announced, how
    /// many submissions are on the board): what a client may ask `/api/v1/leaderboard` for.
    public static func competitions(_ store: ProjectionStore) throws -> CompetitionList {
        var asOf = try store.status().first { $0.name == "leaderboard" }?.checkpoint ?? .start
        var out: [CompetitionList.Competition] = []
        for id in try store.competitions() {
            let boards = try store.leaderboards(competitionId: id)
            if let first = boards.first { asOf = first.asOf }
            out.append(
                CompetitionList.Competition(
                    competitionId: id, title: boards.first?.competitionTitle, minJurors: boards.first?.minJurors,
                    themes: boards.map {
                        CompetitionList.Theme(
                            themeCode: $0.themeCode, title: $0.themeTitle, winnersAnnounced: $0.winnersAnnounced,
                            submissions: $0.rows.count)
                    }))
        }
        return CompetitionList(asOf: asOf, competitions: out)
    }

    /// Whether every read model is within `maxLag` events of the log's head.
    public static func readiness(reader: any LogReading, projections store: ProjectionStore, maxLag: Int64) throws -> (
        ready: Bool, document: JSONValue
    ) {
        let head = try reader.head().position
        var ready = true
        let lines: [JSONValue] = try store.status().map { s in
            let lag = s.lag(behind: head, recordedAt: nil).events
            let ok = lag <= maxLag && !s.isStale
            if !ok { ready = false }
            return [
                "name": .string(s.name), "checkpoint": .int(s.checkpoint.position), "lagEvents": .int(lag),
                "state": .string(s.state.rawValue), "ready": .bool(ok),
            ]
        }
        let document: JSONValue = [
            "status": .string(ready ? "ready" : "lagging"), "headPosition": .int(head), "readyLag": .int(maxLag),
            "projections": .array(lines),
        ]
        return (ready, document)
    }
}

/// `/api/v1/competitions`: `{"asOf", "competitions": [{"competitionId", "title", "minJurors",
/// "themes": [{"themeCode", "title", "winnersAnnounced", "submissions"}]}]}`.
public struct CompetitionList: Encodable, Sendable {
    public struct Theme: Encodable, Sendable {
        public var themeCode: String
        public var title: String?
        public var winnersAnnounced: Bool
        public var submissions: Int
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(themeCode, forKey: .themeCode)
            try c.encode(title, forKey: .title)
            try c.encode(winnersAnnounced, forKey: .winnersAnnounced)
            try c.encode(submissions, forKey: .submissions)
        }
        enum K: String, CodingKey { case themeCode, title, winnersAnnounced, submissions }
    }
    public struct Competition: Encodable, Sendable {
        public var competitionId: String
        public var title: String?
        public var minJurors: Int?
        public var themes: [Theme]
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(competitionId, forKey: .competitionId)
            try c.encode(title, forKey: .title)
            try c.encode(minJurors, forKey: .minJurors)
            try c.encode(themes, forKey: .themes)
        }
        enum K: String, CodingKey { case competitionId, title, minJurors, themes }
    }
    public var asOf: AsOf
    public var competitions: [Competition]
}
