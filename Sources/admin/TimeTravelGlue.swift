import Events
import Foundation
import Projections
import Workers

/// Builds the read models as of `at` in a scratch folder (newest valid snapshot at or before it,
/// then replay), runs `body` on them, and discards the scratch folder. The live read models are
/// never touched.
func timeTravel<T>(
    access: StoreAccess, at: TimePoint, snapshots: String, projections: [String], _ body: (ProjectionStore) throws -> T
) throws -> (result: T, note: String) {
    Interrupt.install()
    let reader = try access.makeReader()
    let machine = TimeMachine(reader: reader, snapshots: SnapshotStore(directory: snapshots))
    let position = try at.position(in: reader)
    if let warning = try at.beyondHeadWarning(reader: reader) { printError(warning) }
    let past = try machine.state(at: position, projections: projections)
    defer { past.discard() }
    let result = try body(past.store)
    let r = past.report
    var note = "as of \(at): position \(r.position)"
    if let s = r.snapshot { note += ", from snapshot \(s) (position \(r.snapshotPosition))" } else { note += ", replayed from the start" }
    note += " + \(r.eventsReplayed) events replayed"
    for s in r.skipped { note += "\n  skipped snapshot \(s.name): \(s.reason)" }
    return (result, note)
}

/// The workers' snapshot hook (every N events or T minutes), or nil when neither is set.
func makeSnapshotHook(access: StoreAccess, directory: String, everyEvents: Int, everyMinutes: Double) throws -> (any WorkerHook)? {
    guard everyEvents > 0 || everyMinutes > 0 else { return nil }
    return SnapshotPolicy(
        snapshots: SnapshotStore(directory: directory), reader: try access.makeReader(),
        everyEvents: everyEvents > 0 ? Int64(everyEvents) : nil, everyMinutes: everyMinutes > 0 ? everyMinutes : nil)
}

extension TimePoint {
    /// A warning when the point lies beyond what the log can answer (a position after the head,
    /// a time in the future): the answer is then the state at the head, which the user should
    /// know rather than guess from `asOf`.
    func beyondHeadWarning(reader: any LogReading, now: Timestamp = .now()) throws -> String? {
        let head = try reader.head()
        switch self {
        case .position(let p) where p > head.position:
            return "warning: --at position:\(p) is beyond the head (position \(head.position)); answering as of the head"
        case .time(let t) where t > now:
            return "warning: --at \(t.rfc3339) is in the future; answering as of the head (position \(head.position))"
        default:
            return nil
        }
    }
}
