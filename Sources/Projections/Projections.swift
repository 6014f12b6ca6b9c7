// Read models in one SQLite file (WAL, through GRDB), folded from the event log:
// leaderboard, regional statistics, practices catalog (FTS5, Ukrainian), network register,
// seminars. See docs/READ-MODELS.md for every table.

/// The read models of spec section 5, in the order they are applied.
public enum StandardProjections {
    /// `leaderboard`, `regions`, `catalog`, `network`, `seminars`.
    public static let all: [any Projection] = [
        LeaderboardProjection(), RegionsProjection(), CatalogProjection(), NetworkProjection(), SeminarsProjection(),
    ]

    /// Their names, for usage messages.
    public static var names: [String] { all.map(\.name) }
}
