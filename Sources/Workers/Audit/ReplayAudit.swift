import Events
import Foundation
import Logging
import Projections
import Synchronization

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
        /// equal, differs or stale: the same verdict the bookkeeping records.
        public typealias Status = AuditRecord.Status

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

    /// Checks `live` and records each verdict in it (``ProjectionStore/record(audits:)``), so that
    /// `stats` shows it and queries refuse a read model found to differ until it is rebuilt.
    @discardableResult
    public func checkAndRecord(
        _ live: ProjectionStore, projections names: [String]? = nil, limit: Int = 100, now: Timestamp = .now()
    ) throws -> Report {
        let generations = try live.generations()
        let report = try check(live, projections: names, limit: limit)
        try live.record(
            audits: report.findings.map { f in
                AuditRecord(
                    projection: f.projection, checkedAt: now, position: f.position,
                    status: f.status, differences: f.differenceCount,
                    generation: generations[f.projection] ?? 0)
            })
        return report
    }

    public let reader: any LogReading
    public let scratchParent: String?
    let logger: Logger

    public init(reader: any LogReading, scratchParent: String? = nil, logger: Logger = Logger(label: "hromada.audit")) {
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

/// A ``WorkerHook`` that runs the replay check every `everyMinutes` minutes after a round, and
/// records the verdicts in the read models' bookkeeping (see ``ReplayAudit/checkAndRecord``).
/// A failed check is logged and tried again at the next round.
public final class AuditPolicy: WorkerHook {
    public let audit: ReplayAudit
    public let everyMinutes: Double
    let now: @Sendable () -> Timestamp
    let logger: Logger
    private let last = Mutex<Timestamp?>(nil)

    public init(
        audit: ReplayAudit, everyMinutes: Double, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
        logger: Logger = Logger(label: "hromada.audit")
    ) {
        precondition(everyMinutes > 0, "everyMinutes must be > 0")
        self.audit = audit
        self.everyMinutes = everyMinutes
        self.now = now
        self.logger = logger
    }

    public func caughtUp(projections: ProjectionStore, source: any EventSource) throws {
        let current = now()
        let due = last.withLock { last -> Bool in
            guard let previous = last else { return true }
            return Double(current.milliseconds - previous.milliseconds) >= everyMinutes * 60_000
        }
        guard due else { return }
        do {
            let report = try audit.checkAndRecord(projections, now: current)
            last.withLock { $0 = current }
            for f in report.findings where f.status != .equal {
                logger.error(
                    "replay check: a read model differs from the log",
                    metadata: ["projection.name": "\(f.projection)", "status": "\(f.status.rawValue)", "differences": "\(f.differenceCount)"])
            }
        } catch {
            logger.error("cannot run the replay check", metadata: ["error": "\(error)"])
            throw error
        }
    }
}

/// Several hooks, called in order after each round (snapshots, then the replay check).
public struct WorkerHooks: WorkerHook {
    public let hooks: [any WorkerHook]
    public init(_ hooks: [any WorkerHook]) { self.hooks = hooks }

    public func caughtUp(projections: ProjectionStore, source: any EventSource) throws {
        var firstError: (any Error)?
        for hook in hooks {
            do { try hook.caughtUp(projections: projections, source: source) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }
}
