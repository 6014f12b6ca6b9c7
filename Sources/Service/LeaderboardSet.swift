import Projections
import Rendering

/// Every theme's leaderboard of a competition (`--theme` omitted): one board alone is printed as
/// that board, several as an array. `admin query leaderboard` and `/api/v1/leaderboard` answer
/// with it.
public struct LeaderboardSet: Encodable, TextRenderable, Sendable {
    public var boards: [Leaderboard]
    public init(boards: [Leaderboard]) { self.boards = boards }
    public func encode(to encoder: any Encoder) throws {
        if boards.count == 1 {
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
    public static func document(
        _ store: ProjectionStore, competitionId: String, themeCode: String?, kind: String?
    ) throws -> String {
        if let themeCode {
            return try JSONOutput.encode(store.leaderboard(competitionId: competitionId, themeCode: themeCode, kind: kind))
        }
        return try JSONOutput.encode(LeaderboardSet(boards: store.leaderboards(competitionId: competitionId, kind: kind)))
    }
}
