import Events
import Projections

/// The store's log as the projections' event source.
public struct LogEventSource: EventSource {
    public let reader: any LogReading
    /// Events after this position are invisible (time travel: the state as of a past position).
    public let limit: Int64?

    public init(reader: any LogReading, upTo limit: Int64? = nil) {
        self.reader = reader
        self.limit = limit
    }

    public func events(after position: Int64, limit count: Int) throws -> [RecordedEvent] {
        guard let limit else { return try reader.events(after: position, limit: count) }
        guard position < limit else { return [] }
        return try reader.events(after: position, limit: min(count, Int(limit - position)))
    }

    public func interrupt() { reader.interrupt() }

    public func head() throws -> (position: Int64, recordedAt: Timestamp?) {
        let h = try reader.head()
        if let limit, limit < h.position {
            return (limit, try reader.event(at: limit)?.recordedAt)
        }
        return (h.position, h.recordedAt)
    }
}
