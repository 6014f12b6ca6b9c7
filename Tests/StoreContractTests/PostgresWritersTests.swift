import Foundation
import Testing

import Events
import PostgresStore
import TestSupport

// What only a store that several writers share at once must hold: the PostgreSQL backend with
// writers on separate connections (as on separate hosts), and damage made behind its back.

@Suite("PostgreSQL: writers at once, damage behind the store's back")
struct PostgresWritersTests {
    /// Four writers, each on its own connection, append at the same time: every acknowledged
    /// event is in the log exactly once at the position it was acknowledged at, positions are
    /// dense, and the chain verifies.
    @Test func concurrentWritersKeepPositionsDenseAndEveryAcknowledgedEvent() throws {
        let location = try PostgresServer.shared().newLocation()
        try PostgresLogStore.initialize(location)
        let writers = 4
        let batches = 15
        let acknowledged = Acknowledged()
        DispatchQueue.concurrentPerform(iterations: writers) { w in
            do {
                let writer = try PostgresLogStore(location: location)
                defer { writer.close() }
                for b in 0..<batches {
                    let events = (0..<3).map { i in note("note-w\(w)", b * 3 + i, id: UUID()) }
                    let result = try writer.append(events, validate: false)
                    acknowledged.add(zip(result.positions, events.map { $0.id! }))
                }
            } catch {
                acknowledged.fail("\(error)")
            }
        }
        #expect(acknowledged.errors.isEmpty, "\(acknowledged.errors)")
        let reader = try PostgresLogReader(location: location)
        let all = try reader.events(after: 0, limit: 10_000)
        let total = writers * batches * 3
        #expect(all.map(\.position) == Array(1...Int64(total)))
        for (position, id) in acknowledged.pairs {
            #expect(try reader.position(of: id) == position)
        }
        #expect(Set(all.map(\.id)).count == total)
        // each writer's stream has versions 0… in its own order
        for w in 0..<writers {
            #expect(try reader.stream("note-w\(w)").map(\.version) == Array(0..<Int64(batches * 3)))
        }
        let report = try reader.verify()
        #expect(report.ok, "\(String(describing: report.problem))")
        #expect(report.events == Int64(total))
    }

    /// A writer whose connection the server ends (an operator's `pg_terminate_backend`, a
    /// restart, a dead link given up) fails with a sentence that says nothing of the events is
    /// in the log, and nothing is; the same events from a new writer then land once.
    @Test func aWriterWhoseConnectionIsEndedSaysNothingWasWritten() throws {
        let server = try PostgresServer.shared()
        let location = try server.newLocation()
        try PostgresLogStore.initialize(location)
        let events = (0..<3).map { i in note("note-cut", i, id: UUID()) }
        let writer = try PostgresLogStore(location: location)
        defer { writer.close() }
        _ = try writer.append([note("note-before", 0, id: UUID())], validate: false)
        try server.psql("SELECT pg_terminate_backend(\(try writer.backendPID()))")
        usleep(200_000)
        do {
            _ = try writer.append(events, validate: false)
            Issue.record("an append on an ended connection was acknowledged")
        } catch let error as EventStoreError {
            #expect(
                error.message.contains("before the COMMIT was sent: nothing of this transaction is in the log"),
                "\(error.message)")
        }
        let reader = try PostgresLogReader(location: location)
        #expect(try reader.events(after: 0, limit: 100).count == 1)
        let again = try PostgresLogStore(location: location)
        defer { again.close() }
        #expect(try again.append(events, validate: false).appended == 3)
        #expect(try again.append(events, validate: false).duplicates == 3)
        #expect(try reader.verify().ok)
    }

    /// Writers racing for the same stream version with an expected version: exactly one wins
    /// each version, the others get `wrongExpectedVersion` and write nothing.
    @Test func optimisticConcurrencyHoldsAcrossConnections() throws {
        let location = try PostgresServer.shared().newLocation()
        try PostgresLogStore.initialize(location)
        let rounds = 10
        let writers = 3
        let outcomes = Acknowledged()
        for round in 0..<rounds {
            let expected: Int64 = round == 0 ? -1 : Int64(round - 1)
            DispatchQueue.concurrentPerform(iterations: writers) { w in
                do {
                    let writer = try PostgresLogStore(location: location)
                    defer { writer.close() }
                    let result = try writer.append([note("note-shared", round * 10 + w, id: UUID(), expectedVersion: expected)], validate: false)
                    outcomes.add(zip(result.positions, [UUID()]))
                } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
                    outcomes.lost()
                } catch {
                    outcomes.fail("\(error)")
                }
            }
        }
        #expect(outcomes.errors.isEmpty, "\(outcomes.errors)")
        #expect(outcomes.pairs.count == rounds)
        #expect(outcomes.losses == rounds * (writers - 1))
        let reader = try PostgresLogReader(location: location)
        #expect(try reader.stream("note-shared").map(\.version) == Array(0..<Int64(rounds)))
        #expect(try reader.head().position == Int64(rounds))
    }

    /// The same id sent by two writers at once is stored once; both get its one position.
    @Test func oneIdFromTwoConnectionsIsStoredOnce() throws {
        let location = try PostgresServer.shared().newLocation()
        try PostgresLogStore.initialize(location)
        let ids = (0..<20).map { _ in UUID() }
        let outcomes = Acknowledged()
        DispatchQueue.concurrentPerform(iterations: 2) { w in
            do {
                let writer = try PostgresLogStore(location: location)
                defer { writer.close() }
                for (n, id) in ids.enumerated() {
                    let result = try writer.append([note("note-same", n, id: id)], validate: false)
                    outcomes.add(zip(result.positions, [id]))
                }
            } catch {
                outcomes.fail("\(error)")
            }
        }
        #expect(outcomes.errors.isEmpty, "\(outcomes.errors)")
        let reader = try PostgresLogReader(location: location)
        #expect(try reader.head().position == 20)
        for (position, id) in outcomes.pairs {
            #expect(try reader.position(of: id) == position)
        }
        #expect(try reader.verify().ok)
    }

    /// A batch changed behind the store's back (one byte of its frame, or a whole batch
    /// recompressed with another event) fails verify naming the table and the position, and
    /// reading it fails rather than returning the changed event.
    @Test func tamperedBatchFailsVerify() throws {
        let server = try PostgresServer.shared()
        let location = try server.newLocation()
        try PostgresLogStore.initialize(location)
        let writer = try PostgresLogStore(location: location)
        try importAll(try Sample.lines(prefix: 200), into: writer)
        writer.close()
        #expect(try PostgresLogReader(location: location).verify().ok)
        // flip one byte in the middle of the first batch's zstd frame
        try server.psql("""
            UPDATE \(location.table("batches")) SET body = overlay(body placing
              decode(lpad(to_hex((get_byte(body, length(body) / 2) # 1)), 2, '0'), 'hex') from length(body) / 2 + 1 for 1)
            WHERE first_position = 1
            """)
        let report = try PostgresLogReader(location: location).verify()
        #expect(!report.ok)
        #expect(report.problem?.segment.contains("batches") == true, "\(String(describing: report.problem))")
        #expect(throws: (any Error).self) { _ = try PostgresLogReader(location: location).events(after: 0, limit: 10) }
    }

    /// A row of the events table changed behind the store's back (a stream renamed) is found by
    /// verify, which checks the table against the batches.
    @Test func tamperedEventsRowFailsVerify() throws {
        let server = try PostgresServer.shared()
        let location = try server.newLocation()
        try PostgresLogStore.initialize(location)
        let writer = try PostgresLogStore(location: location)
        try importAll(try Sample.lines(prefix: 100), into: writer)
        writer.close()
        try server.psql("UPDATE \(location.table("events")) SET stream = 'note-forged' WHERE position = 50")
        let report = try PostgresLogReader(location: location).verify()
        #expect(!report.ok)
        #expect(report.problem?.position == 50, "\(String(describing: report.problem))")
    }
}

extension PostgresWritersTests {
    /// The import sends its inserts without waiting for them (the server writes while the next
    /// events are checked). One that fails — here on a row planted behind the writer's back at a
    /// position the import is about to take, and in a store that already holds events, so the
    /// ids and streams are asked as well — is reported as itself (not as the "transaction is
    /// aborted" of the statements after it), and the whole import is rolled back.
    @Test func anInsertSentWithoutWaitingThatFailsIsReportedAndRollsTheImportBack() throws {
        let server = try PostgresServer.shared()
        let location = try server.newLocation()
        try PostgresLogStore.initialize(location)
        let lines = try Sample.lines(prefix: 1200)
        let first = try PostgresLogStore(location: location)
        try importAll(Array(lines[..<100]), into: first)
        first.close()
        let before = try exported(try PostgresLogReader(location: location))
        try server.psql(
            "INSERT INTO \(location.table("events")) (position, id, stream, version, recorded_at) VALUES (700, gen_random_uuid(), 'planted', 0, 0)")
        var options = EventStoreOptions()
        options.frameBytes = 16 * 1024  // many batches: inserts are in flight while events are checked
        let writer = try PostgresLogStore(location: location, options: options)
        defer { writer.close() }
        #expect(throws: EventStoreError.self) { try importAll(Array(lines[100...]), into: writer) }
        do {
            _ = try importAll(Array(lines[100...]), into: writer)
        } catch let error as EventStoreError {
            #expect(error.message.contains("duplicate key") || error.message.contains("23505"), "\(error.message)")
            #expect(!error.message.contains("25P02"), "\(error.message)")
        }
        try server.psql("DELETE FROM \(location.table("events")) WHERE stream = 'planted'")
        let reader = try PostgresLogReader(location: location)
        #expect(try exported(reader) == before, "nothing of the failed import is in the log")
        #expect(try reader.verify(expect: nil, progress: nil).ok)
        // the same writer goes on: with the row gone, the import lands whole
        #expect(try importAll(Array(lines[100...]), into: writer).appended == 1100)
        #expect(try PostgresLogReader(location: location).verify(expect: nil, progress: nil).ok)
    }
}

/// What concurrent writers were told, collected under a lock.
final class Acknowledged: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var pairs: [(Int64, UUID)] = []
    private(set) var errors: [String] = []
    private(set) var losses = 0

    func add<S: Sequence>(_ items: S) where S.Element == (Int64, UUID) {
        lock.lock(); defer { lock.unlock() }
        pairs.append(contentsOf: items)
    }

    func fail(_ error: String) {
        lock.lock(); defer { lock.unlock() }
        errors.append(error)
    }

    func lost() {
        lock.lock(); defer { lock.unlock() }
        losses += 1
    }
}
