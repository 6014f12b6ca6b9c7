import CoreMetrics
import Foundation

/// What a writer records through swift-metrics: events and bytes appended, and how long each
/// group's fsyncs take. A process that bootstraps no metrics backend (every command but `admin
/// serve`) records into swift-metrics' no-op handlers.
package struct LogMetrics: Sendable {
    package static let eventsAppended = "hromada_log_events_appended_total"
    package static let bytesAppended = "hromada_log_bytes_appended_total"
    package static let fsyncSeconds = "hromada_log_fsync_seconds"

    let events = Counter(label: Self.eventsAppended)
    let bytes = Counter(label: Self.bytesAppended)
    let fsync = CoreMetrics.Timer(label: Self.fsyncSeconds)

    init() {}

    /// Times `body` (the fsyncs of one group) into the fsync histogram.
    func timingFsync(_ body: () throws -> Void) rethrows {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        fsync.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
    }
}
