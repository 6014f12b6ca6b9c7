import Events
import Foundation
import Projections
import Workers

/// Builds the read models as of `at` in a scratch folder and runs `body` on them.
func timeTravel<T>(
    layout: StoreLayout, at: TimePoint, snapshots: String, projections: [String], _ body: (ProjectionStore) throws -> T
) throws -> (result: T, note: String) {
    throw EventStoreError(.invalidArgument, "time travel is not wired yet")
}

/// The workers' snapshot hook (every N events or T minutes), or nil.
func makeSnapshotHook(layout: StoreLayout, directory: String, everyEvents: Int, everyMinutes: Double) throws -> (any WorkerHook)? {
    nil
}
