import Foundation

@testable import Events

/// The sample history (`Tests/Fixtures/sample-history.jsonl`) as the log would hold it, and
/// small streams made up for a test. (The same reading as `EventsTests/StreamHistoryTests`.)
enum Sample {
    static let path: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // RenderingTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/sample-history.jsonl")
        .standardizedFileURL.path

    /// The sample's lines: the raw bytes and their Foundation parse, numbered from 1.
    static func rawLines() throws -> [(line: Int, bytes: ArraySlice<UInt8>, raw: [String: Any])] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        return try bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).enumerated().map { n, line in
            let raw = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            return (n + 1, line, raw)
        }
    }

    /// The first line of the sample of `type`.
    static func first(_ type: String) throws -> (line: Int, raw: [String: Any])? {
        try rawLines().first { $0.raw["type"] as? String == type }.map { ($0.line, $0.raw) }
    }

    static func data(_ raw: [String: Any]) -> [String: Any] { raw["data"] as? [String: Any] ?? [:] }

    /// The events of `stream`: position = line number, versions counted along the stream.
    static func recorded(stream: String) throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        for (line, bytes, raw) in try rawLines() where raw["stream"] as? String == stream {
            let p = try EventCodec.decodeProposed(line: bytes)
            out.append(
                RecordedEvent(
                    position: Int64(line), id: p.id ?? UUID(), stream: p.stream, version: Int64(out.count), type: p.type,
                    occurredAt: p.occurredAt, recordedAt: p.recordedAt ?? p.occurredAt, data: p.data, metadata: p.metadata,
                    hash: ""))
        }
        return out
    }

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
