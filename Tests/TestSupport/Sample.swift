import Events
import Foundation

/// The sample history (`Tests/Fixtures/sample-history.jsonl`): its lines, their Foundation parse
/// (expected values computed without the code under test), and its streams as the log would hold
/// them. Test targets add their own made-up events in extensions.
public enum Sample {
    /// The sample's lines (without newlines), in order.
    public static func lines() throws -> [[UInt8]] {
        let bytes = try [UInt8](Data(contentsOf: TestPaths.sampleHistory))
        return bytes.split(separator: 0x0A, omittingEmptySubsequences: true).map(Array.init)
    }

    /// The first `count` lines of the sample.
    public static func lines(prefix count: Int) throws -> [[UInt8]] {
        Array(try lines().prefix(count))
    }

    /// The sample's lines: the raw bytes and their Foundation parse, numbered from 1.
    public static func rawLines() throws -> [(line: Int, bytes: ArraySlice<UInt8>, raw: [String: Any])] {
        let bytes = try [UInt8](Data(contentsOf: TestPaths.sampleHistory))
        return try bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).enumerated().map { n, line in
            let raw = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            return (n + 1, line, raw)
        }
    }

    /// The first line of the sample of `type`.
    public static func first(_ type: String) throws -> (line: Int, raw: [String: Any])? {
        try rawLines().first { $0.raw["type"] as? String == type }.map { ($0.line, $0.raw) }
    }

    /// The lines of `stream`, parsed by Foundation.
    public static func rawEvents(stream: String) throws -> [(line: Int, raw: [String: Any])] {
        try rawLines().filter { $0.raw["stream"] as? String == stream }.map { ($0.line, $0.raw) }
    }

    /// The `data` object of a parsed line.
    public static func data(_ raw: [String: Any]) -> [String: Any] { raw["data"] as? [String: Any] ?? [:] }

    /// The events of `stream` as the log would hold them: position = line number, versions
    /// counted along the stream.
    public static func recorded(stream: String) throws -> [RecordedEvent] {
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
}
