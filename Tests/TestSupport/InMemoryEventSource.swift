import Events
import Foundation
import Projections
import Synchronization

/// An event source over events held in memory, for tests (of Projections and of the modules above it).
///
/// Appending is safe from any thread: the events sit behind a `Mutex`.
public final class InMemoryEventSource: EventSource {
    private let storage: Mutex<[RecordedEvent]>

    /// A source over `events`, which must be in ascending position order.
    public init(events: [RecordedEvent] = []) {
        storage = Mutex(events)
    }

    /// A source over the events of an interchange JSON Lines text (spec section 1), recorded the
    /// way a store would: position = line number (1-based, blank lines skipped), version counted
    /// per stream, `recordedAt` = the line's own (or the previous event's, or `occurredAt`), id =
    /// the line's own or one derived from the position; the hash is left empty.
    /// - Throws: a ``ProjectionError`` naming the line of the first line that is not an event.
    public convenience init(jsonLines text: String) throws {
        var events: [RecordedEvent] = []
        var versions: [String: Int64] = [:]
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            guard !line.allSatisfy({ $0 == " " || $0 == "\r" || $0 == "\t" }) else { continue }
            let proposed: ProposedEvent
            do {
                proposed = try EventCodec.decodeProposed(line: Array(line.utf8))
            } catch {
                throw ProjectionError(
                    .source, "line \(lineNumber) is not an event: \(error.description)")
            }
            let version = (versions[proposed.stream] ?? -1) + 1
            versions[proposed.stream] = version
            let position = Int64(events.count + 1)
            events.append(
                RecordedEvent(
                    position: position, id: proposed.id ?? InMemoryEventSource.uuid(for: position),
                    stream: proposed.stream, version: version, type: proposed.type,
                    occurredAt: proposed.occurredAt,
                    recordedAt: proposed.recordedAt ?? events.last?.recordedAt ?? proposed.occurredAt,
                    data: proposed.data, metadata: proposed.metadata, hash: ""))
        }
        self.init(events: events)
    }

    /// Appends events after the current ones (their positions must continue the sequence).
    public func append(_ events: [RecordedEvent]) {
        storage.withLock { $0.append(contentsOf: events) }
    }

    /// Every event held.
    public var allEvents: [RecordedEvent] { storage.withLock { $0 } }

    public func events(after position: Int64, limit: Int) throws -> [RecordedEvent] {
        storage.withLock { events in
            var low = 0
            var high = events.count
            while low < high {
                let mid = (low + high) / 2
                if events[mid].position <= position { low = mid + 1 } else { high = mid }
            }
            let end = min(events.count, low + max(0, limit))
            return Array(events[low..<end])
        }
    }

    public func head() throws -> (position: Int64, recordedAt: Timestamp?) {
        storage.withLock { events in
            guard let last = events.last else { return (0, nil) }
            return (last.position, last.recordedAt)
        }
    }

    /// A stable UUID for an event without an id: the position in the last 8 bytes.
    static func uuid(for position: Int64) -> UUID {
        var bytes: [UInt8] = Array(repeating: 0, count: 16)
        var p = UInt64(bitPattern: position)
        for i in stride(from: 15, through: 8, by: -1) {
            bytes[i] = UInt8(p & 0xFF)
            p >>= 8
        }
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
