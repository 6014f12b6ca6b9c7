import Events
import Foundation
import Logging
import Projections
import Testing
import TestSupport

/// The sample history and helpers shared by the tests.
enum Fixtures {
    /// The sample's events recorded as a store would: position = line number, version per
    /// stream, recordedAt = the line's own.
    private static let loaded: Result<[RecordedEvent], any Error> = Result {
        try events(jsonLines: String(contentsOf: TestPaths.sampleHistory, encoding: .utf8))
    }

    /// The sample's events; a missing or unreadable fixture is a failed requirement (the test
    /// fails and says which file), never an empty history that later code traps on.
    static func sample() throws -> [RecordedEvent] {
        let events = try loaded.get()
        try #require(events.count > 1000, "the sample history at \(TestPaths.sampleHistory.path) holds \(events.count) events")
        return events
    }

    static func events(jsonLines text: String, firstPosition: Int64 = 1) throws -> [RecordedEvent] {
        var result: [RecordedEvent] = []
        var versions: [String: Int64] = [:]
        for line in text.split(separator: "\n") where !line.isEmpty {
            let p = try EventCodec.decodeProposed(line: Array(line.utf8))
            let version = (versions[p.stream] ?? -1) + 1
            versions[p.stream] = version
            result.append(
                RecordedEvent(
                    position: firstPosition + Int64(result.count), id: p.id ?? UUID(), stream: p.stream, version: version,
                    type: p.type, occurredAt: p.occurredAt, recordedAt: p.recordedAt ?? p.occurredAt, data: p.data,
                    metadata: p.metadata, hash: ""))
        }
        return result
    }

    /// A recorded event built in a test.
    static func event(
        _ position: Int64, _ type: String, _ stream: String, _ data: [String: JSONValue],
        at time: String = "2021-03-01T10:00:00Z"
    ) -> RecordedEvent {
        let t = Timestamp(rfc3339: time)!
        return RecordedEvent(
            position: position, id: UUID(), stream: stream, version: 0, type: type, occurredAt: t, recordedAt: t,
            data: data, metadata: [:], hash: "")
    }

    /// Events with consecutive positions from 1, in the order given.
    static func numbered(_ events: [RecordedEvent]) -> [RecordedEvent] {
        events.enumerated().map { i, e in
            var e = e
            e.position = Int64(i + 1)
            return e
        }
    }

    /// The sample copied `copies` times, the ids of copy k suffixed with `-k` (copy 0 unchanged),
    /// positions continuing: a larger history of the same mix.
    static func scaledSample(copies: Int) throws -> [RecordedEvent] {
        let sample = try sample()
        var result: [RecordedEvent] = []
        result.reserveCapacity(sample.count * copies)
        for k in 0..<copies {
            for e in sample {
                var e = e
                if k > 0 {
                    e.data = rename(e.data, suffix: "-\(k)")
                    e.stream += "-\(k)"
                }
                e.position = Int64(result.count + 1)
                result.append(e)
            }
        }
        return result
    }

    static let idKeys: Set<String> = [
        "communityId", "submissionId", "competitionId", "practiceId", "seminarId", "communityIds", "sourceSubmissionId",
    ]

    static func rename(_ object: [String: JSONValue], suffix: String) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (key, value) in object {
            out[key] = idKeys.contains(key) ? renameIds(value, suffix) : renameNested(value, suffix)
        }
        return out
    }

    static func renameIds(_ value: JSONValue, _ suffix: String) -> JSONValue {
        switch value {
        case .string(let s): return .string(s + suffix)
        case .array(let a): return .array(a.map { renameIds($0, suffix) })
        default: return value
        }
    }

    static func renameNested(_ value: JSONValue, _ suffix: String) -> JSONValue {
        switch value {
        case .object(let o): return .object(rename(o, suffix: suffix))
        case .array(let a): return .array(a.map { renameNested($0, suffix) })
        default: return value
        }
    }
}

extension TemporaryFolder {
    /// A projections file in the folder, its logger quiet.
    func store(projections: [any Projection] = StandardProjections.all, name: String = "projections.sqlite") throws
        -> ProjectionStore
    {
        var logger = Logger(label: "projections-tests")
        logger.logLevel = .critical
        return try ProjectionStore(path: path + "/" + name, projections: projections, logger: logger)
    }
}

/// JSON text with sorted keys, for comparing answers.
func canonicalJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Every answer of the store (all leaderboards, regions, the whole catalog, network, seminars).
func allAnswers(_ store: ProjectionStore) throws -> String {
    var parts: [String] = []
    for competition in try store.competitions() {
        parts.append(try canonicalJSON(store.leaderboards(competitionId: competition)))
        for kind in ["urban", "settlement", "rural"] {
            parts.append(try canonicalJSON(store.leaderboards(competitionId: competition, kind: kind)))
        }
    }
    parts.append(try canonicalJSON(store.regions()))
    parts.append(try canonicalJSON(store.catalog(query: nil, limit: 100_000)))
    parts.append(try canonicalJSON(store.catalog(query: "бюджет", limit: 100_000)))
    parts.append(try canonicalJSON(store.network()))
    parts.append(try canonicalJSON(store.seminars()))
    return parts.joined(separator: "\n")
}

/// Every projection's canonical dump.
func allDumps(_ store: ProjectionStore) throws -> String {
    try store.projections.map { try store.dump(projection: $0.name) }.joined()
}
