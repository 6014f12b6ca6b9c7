import Events
import Foundation
import Logging
import Projections

/// Proves that the read models people read equal what the log gives: each projection is folded
/// afresh from the log (never from a snapshot, which could itself be altered) in a scratch
/// folder, up to the position the live copy claims, and every table compared with the live one
/// row by row. The live files are only read.
///
/// A projection whose live tables were built by another schema version is reported `stale`
/// (rebuild it), not tampered: its tables cannot be compared with the code's.
public struct ReplayAudit: Sendable {
    /// The verdict on one projection.
    public struct Finding: Sendable, Hashable, Codable {
        public enum Status: String, Sendable, Hashable, Codable {
            /// Every table equals the log's fold.
            case equal
            /// Some rows differ from the log's fold (see `differences`).
            case differs
            /// Built by another schema version: not comparable until rebuilt.
            case stale
        }

        public var projection: String
        public var status: Status
        /// The position the live copy stands at, and to which the log was folded.
        public var position: Int64
        public var tables: Int
        public var rows: Int
        public var differenceCount: Int
        public var differences: [TableDifference]
    }

    /// The verdict on every projection checked.
    public struct Report: Sendable, Hashable, Codable {
        public var findings: [Finding]
        /// Every projection checked equals the log (none differs, none stale).
        public var isEqual: Bool { findings.allSatisfy { $0.status == .equal } }
        /// Events folded from the log, all projections together.
        public var eventsReplayed: Int

        enum CodingKeys: String, CodingKey { case findings, eventsReplayed, equal }

        public init(findings: [Finding], eventsReplayed: Int) {
            self.findings = findings
            self.eventsReplayed = eventsReplayed
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            findings = try c.decode([Finding].self, forKey: .findings)
            eventsReplayed = try c.decode(Int.self, forKey: .eventsReplayed)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(findings, forKey: .findings)
            try c.encode(eventsReplayed, forKey: .eventsReplayed)
            try c.encode(isEqual, forKey: .equal)
        }
    }

    public let reader: EventLogReader
    public let scratchParent: String?
    let logger: Logger

    public init(reader: EventLogReader, scratchParent: String? = nil, logger: Logger = Logger(label: "hromada.audit")) {
        self.reader = reader
        self.scratchParent = scratchParent
        self.logger = logger
    }

    /// Checks `live` (its projections named `names`, or all) against the log.
    /// - Parameter limit: differences listed per projection (all are counted).
    public func check(_ live: ProjectionStore, projections names: [String]? = nil, limit: Int = 100) throws -> Report {
        let statuses = try live.status().filter { s in names.map { $0.contains(s.name) } ?? true }
        var findings: [Finding] = []
        var replayed = 0
        // Projections standing at the same position are folded together.
        let comparable = statuses.filter { !$0.isStale }
        let byPosition = Dictionary(grouping: comparable, by: \.checkpoint.position)
        let machine = TimeMachine(
            reader: reader, snapshots: nil, projections: live.projections, scratchParent: scratchParent, logger: logger)
        for (position, group) in byPosition.sorted(by: { $0.key < $1.key }) {
            let past = try machine.state(at: position, projections: group.map(\.name), useSnapshots: false)
            defer { past.discard() }
            replayed += past.report.eventsReplayed
            for s in group {
                let c = try live.compareTables(of: s.name, with: past.store, limit: limit)
                findings.append(
                    Finding(
                        projection: s.name, status: c.differenceCount == 0 ? .equal : .differs, position: position,
                        tables: c.tables, rows: c.rows, differenceCount: c.differenceCount, differences: c.differences))
            }
        }
        for s in statuses where s.isStale {
            findings.append(
                Finding(
                    projection: s.name, status: .stale, position: s.checkpoint.position, tables: 0, rows: 0,
                    differenceCount: 0, differences: []))
        }
        let order = live.projections.map(\.name)
        findings.sort { (order.firstIndex(of: $0.projection) ?? 0) < (order.firstIndex(of: $1.projection) ?? 0) }
        return Report(findings: findings, eventsReplayed: replayed)
    }
}
