import Projections
import Rendering

/// Every theme's leaderboard of a competition (`--theme` omitted): one board alone is printed as
/// that board, several as an array. `admin query leaderboard` and `/api/v1/leaderboard` answer
/// with it.
public struct LeaderboardSet: Encodable, TextRenderable, Sendable {
    public var boards: [Leaderboard]
    /// One theme was asked for: encoded as that board alone.
    public var single: Bool
    public init(boards: [Leaderboard], single: Bool = false) {
        self.boards = boards
        self.single = single
    }
    public func encode(to encoder: any Encoder) throws {
        if single || boards.count == 1 {
            try boards[0].encode(to: encoder)
        } else {
            var c = encoder.unkeyedContainer()
            for b in boards { try c.encode(b) }
        }
    }
    public func renderText() -> String {
        boards.isEmpty ? "no such competition, or no submissions yet" : boards.map { $0.renderText() }.joined(separator: "\n")
    }
}

extension LeaderboardSet {
    /// The leaderboard's JSON as `admin query leaderboard … --json` prints it: one theme's board,
    /// or (no theme) every theme's. The command line, its export and the API answer with it.
    /// With `page` (limit, offset), each board keeps only those rows and says so in its `page`.
    public static func document(
        _ store: ProjectionStore, competitionId: String, themeCode: String?, kind: String?,
        page: (limit: Int?, offset: Int)? = nil
    ) throws -> String {
        try JSONOutput.encode(value(store, competitionId: competitionId, themeCode: themeCode, kind: kind, page: page))
    }

    /// The value behind ``document(_:competitionId:themeCode:kind:page:)``: one board when a
    /// theme is named, every theme's otherwise.
    public static func value(
        _ store: ProjectionStore, competitionId: String, themeCode: String?, kind: String?,
        page: (limit: Int?, offset: Int)? = nil
    ) throws -> LeaderboardSet {
        var boards = try themeCode.map { [try store.leaderboard(competitionId: competitionId, themeCode: $0, kind: kind)] }
            ?? store.leaderboards(competitionId: competitionId, kind: kind)
        if let page { boards = boards.map { $0.page(limit: page.limit, offset: page.offset) } }
        return LeaderboardSet(boards: boards, single: themeCode != nil)
    }
}
