import Foundation
import GRDB
import Synchronization
import Testing
import TestSupport

import Events
import Projections
import Workers

/// `replay --check` (issue 12): every read-model table is compared with a fresh fold of the
/// log, so that one altered value anywhere is found and named; an untouched store passes; a
/// model of another schema version is stale, not tampered.
@Suite struct ReplayAuditTests {
    /// A projections file holding the sample's read models, folded from the fixture's log.
    func liveCopy(_ fixture: HistoryFixture) throws -> String {
        let store = try fixture.replayed(upTo: fixture.head)
        defer { try? store.close() }
        return store.path
    }

    func check(_ fixture: HistoryFixture, _ path: String, _ names: [String]? = nil) throws -> ReplayAudit.Report {
        let live = try ProjectionStore(path: path)
        defer { try? live.close() }
        return try ReplayAudit(reader: fixture.reader, scratchParent: fixture.root).check(live, projections: names)
    }

    @Test(arguments: LogBackend.allCases) func anUntouchedStoreEqualsTheLog(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(backend: backend)
        let report = try check(fixture, try liveCopy(fixture))
        #expect(report.isEqual)
        #expect(report.findings.map(\.projection) == StandardProjections.names)
        #expect(report.findings.allSatisfy { $0.status == .equal && $0.position == fixture.head && $0.rows > 0 })
    }

    /// One value altered in one table at a time, for every table of every model.
    @Test(arguments: LogBackend.allCases) func oneAlteredValueInAnyTableIsFoundAndNamed(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(backend: backend)
        let original = try liveCopy(fixture)
        var checked = 0
        for projection in StandardProjections.all {
            for table in projection.tableNames {
                let path = fixture.root + "/tampered-\(table).sqlite"
                for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: original + suffix) {
                    try FileManager.default.copyItem(atPath: original + suffix, toPath: path + suffix)
                }
                let queue = try DatabaseQueue(path: path)
                let changed: String? = try queue.write { db in try Self.alterOneValue(db, table) }
                try queue.close()
                guard let column = changed else {
                    Issue.record("table \(table) holds no row in the sample; nothing to alter")
                    continue
                }
                let report = try check(fixture, path, [projection.name])
                let finding = try #require(report.findings.first)
                #expect(!report.isEqual, "\(table).\(column) altered, yet the check passed")
                #expect(finding.status == .differs)
                #expect(finding.differences.contains { $0.table == table }, "\(table): \(finding.differences)")
                if column != "*" {
                    #expect(finding.differences.contains { $0.table == table && $0.column == column && $0.kind == .changed })
                }
                checked += 1
            }
        }
        #expect(checked == StandardProjections.all.map(\.tableNames.count).reduce(0, +))
    }

    @Test(arguments: LogBackend.allCases) func aModelOfAnotherSchemaVersionIsStaleNotTampered(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(backend: backend)
        let path = try liveCopy(fixture)
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "UPDATE projections SET schemaVersion = schemaVersion + 100 WHERE name = 'regions'") }
        try queue.close()
        let report = try check(fixture, path)
        #expect(!report.isEqual)
        #expect(report.findings.first { $0.projection == "regions" }?.status == .stale)
        #expect(report.findings.filter { $0.projection != "regions" }.allSatisfy { $0.status == .equal })
    }

    /// Changes one value of the first row of `table`: a column that is not part of the key
    /// (returned), or, when every column is key, deletes the row (returns `*`).
    static func alterOneValue(_ db: Database, _ table: String) throws -> String? {
        let quoted = table.quotedDatabaseIdentifier
        let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?", arguments: [table]) ?? ""
        let isVirtual = sql.hasPrefix("CREATE VIRTUAL TABLE")
        let hasRowid = !sql.uppercased().contains("WITHOUT ROWID")
        let info = try Row.fetchAll(db, sql: "PRAGMA table_info(\(quoted))")
        let keys = Set(info.filter { ($0["pk"] as Int) > 0 }.map { $0["name"] as String })
        let columns = info.map { $0["name"] as String }.filter { !keys.contains($0) }
        let first = hasRowid ? "SELECT rowid AS __rowid, * FROM \(quoted) ORDER BY rowid LIMIT 1" : "SELECT NULL AS __rowid, * FROM \(quoted) LIMIT 1"
        guard let row = try Row.fetchOne(db, sql: first) else { return nil }
        let whereClause: String
        var arguments: [DatabaseValue] = []
        if !isVirtual, !keys.isEmpty {
            whereClause = keys.sorted().map { "\($0.quotedDatabaseIdentifier) = ?" }.joined(separator: " AND ")
            arguments = keys.sorted().map { row[$0] as DatabaseValue }
        } else {
            whereClause = "rowid = ?"
            arguments = [row["__rowid"]]
        }
        guard let column = columns.first else {
            try db.execute(sql: "DELETE FROM \(quoted) WHERE \(whereClause)", arguments: StatementArguments(arguments))
            return "*"
        }
        let value: DatabaseValue = row[column]
        let altered: DatabaseValue
        switch value.storage {
        case .int64(let i): altered = (i + 1).databaseValue
        case .double(let d): altered = (d + 1).databaseValue
        case .string(let s): altered = (s + "·").databaseValue
        case .null: altered = "·".databaseValue
        case .blob(let b): altered = Data(b + [0]).databaseValue
        }
        try db.execute(
            sql: "UPDATE \(quoted) SET \(column.quotedDatabaseIdentifier) = ? WHERE \(whereClause)",
            arguments: StatementArguments([altered] + arguments))
        return column
    }

    @Test(arguments: LogBackend.allCases) func theWorkersAuditPolicyChecksOnItsScheduleAndRecordsTheVerdict(_ backend: LogBackend) throws {
        let fixture = try HistoryFixture.sample(backend: backend)
        let path = try liveCopy(fixture)
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "UPDATE seminars_seminar SET participants = participants + 1") }
        try queue.close()
        let clock = Mutex(Timestamp(milliseconds: 1_800_000_000_000))
        let policy = AuditPolicy(
            audit: ReplayAudit(reader: fixture.reader, scratchParent: fixture.root), everyMinutes: 10,
            now: { clock.withLock { $0 } })
        let live = try ProjectionStore(path: path)
        defer { try? live.close() }
        let source = LogEventSource(reader: fixture.reader)
        try policy.caughtUp(projections: live, source: source)
        let first = try live.audits()
        #expect(first.count == StandardProjections.all.count)
        #expect(first.first { $0.projection == "seminars" }?.status == .differs)
        #expect(first.filter { $0.projection != "seminars" }.allSatisfy { $0.status == .equal })
        #expect(throws: ProjectionError.self) { try live.requireMatchesLog(["seminars"]) }
        try live.requireMatchesLog(["regions", "network"])

        clock.withLock { $0 = Timestamp(milliseconds: $0.milliseconds + 5 * 60_000) }
        try policy.caughtUp(projections: live, source: source)
        #expect(try live.audits() == first, "not due yet: no new check")
        clock.withLock { $0 = Timestamp(milliseconds: $0.milliseconds + 6 * 60_000) }
        try policy.caughtUp(projections: live, source: source)
        #expect(try live.audits().allSatisfy { $0.checkedAt == clock.withLock { $0 } }, "due: checked again")
    }
}
