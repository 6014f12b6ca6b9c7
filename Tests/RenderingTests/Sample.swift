import Foundation
import TestSupport

@testable import Events

/// Small streams made up for a test (the sample history itself: `Sample` in TestSupport).
extension Sample {
    /// A made-up stream: `events` as (type, data), versions from 0, positions from 1.
    static func stream(_ name: String, _ events: [(String, [String: JSONValue])], actor: String? = nil) -> [RecordedEvent] {
        let t = Timestamp(milliseconds: 1_600_000_000_000)
        return events.enumerated().map { n, e in
            RecordedEvent(
                position: Int64(n + 1), id: UUID(), stream: name, version: Int64(n), type: e.0, occurredAt: t,
                recordedAt: t, data: e.1, metadata: actor.map { ["actor": .string($0)] } ?? [:], hash: "")
        }
    }
}
