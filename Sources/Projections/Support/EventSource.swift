import Events
import Foundation

/// Where rebuilds and catch-ups read the log from, in position order.
///
/// The store's log implements it; tests use `InMemoryEventSource` (the `TestSupport` target).
public protocol EventSource: Sendable {
    /// Up to `limit` events with a position greater than `position`, in ascending position order.
    /// An empty answer means the source holds nothing after `position`.
    func events(after position: Int64, limit: Int) throws -> [RecordedEvent]
    /// The last position the source holds (0 when empty) and its `recordedAt`.
    func head() throws -> (position: Int64, recordedAt: Timestamp?)
    /// Ends a read in progress that waits on something outside the process (a database across a
    /// cut network), so that a worker asked to stop does not wait for it.
    func interrupt()
}

extension EventSource {
    public func interrupt() {}
}
