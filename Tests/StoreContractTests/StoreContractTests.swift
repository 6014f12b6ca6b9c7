import Foundation
import Testing

import Events
import PostgresStore
import TestSupport

// One set of log-contract tests, written against the store protocols only (`LogWriting`,
// `LogReading`), so that each backend runs the same assertions: the file store, and the
// PostgreSQL store on a throwaway server (TestSupport's PostgresServer).

/// A backend under test (TestSupport's ``LogBackend``).
typealias Backend = LogBackend

func note(_ stream: String, _ n: Int, id: UUID? = nil, expectedVersion: Int64? = nil) -> ProposedEvent {
    ProposedEvent(
        id: id, stream: stream, type: "NoteTaken", occurredAt: Timestamp(milliseconds: 1_600_000_000_000 + Int64(n) * 1000),
        expectedVersion: expectedVersion, data: ["n": .int(Int64(n))], metadata: ["actor": "contract"])
}

/// Imports `lines` all or nothing.
@discardableResult
func importAll(_ lines: [[UInt8]], into writer: any LogWriting) throws -> EventStore.ImportResult {
    var iterator = lines.makeIterator()
    return try writer.importLines(options: EventStore.ImportOptions(), next: { iterator.next() })
}

/// Every export line of `reader`, each with its newline (what `admin export` writes).
func exported(_ reader: any LogReading) throws -> [UInt8] {
    var out: [UInt8] = []
    try reader.forEachLine(from: 1) { _, line in
        out.append(contentsOf: line)
        out.append(0x0A)
        return true
    }
    return out
}

@Suite("Log contract (every backend)")
struct StoreContractTests {
    @Test(arguments: Backend.allCases)
    func appendThenRead(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let writer = try store.writer()
        defer { writer.close() }
        let first = try writer.append([note("note-a", 1), note("note-b", 2), note("note-a", 3)], validate: false)
        #expect(first.positions == [1, 2, 3])
        #expect(first.appended == 3)
        #expect(try writer.head == 3)
        let second = try writer.append([note("note-b", 4)], validate: false)
        #expect(second.positions == [4])

        let reader = try store.reader()
        let head = try reader.head()
        #expect(head.position == 4)
        #expect(head.hash == (try reader.hash(at: 4)))
        #expect(head.hash?.count == 64)
        let all = try reader.events(after: 0, limit: 100)
        #expect(all.map(\.position) == [1, 2, 3, 4])
        #expect(all.map(\.stream) == ["note-a", "note-b", "note-a", "note-b"])
        #expect(try reader.events(after: 2, limit: 1).map(\.position) == [3])
        #expect(try reader.event(at: 3)?.stream == "note-a")
        #expect(try reader.event(at: 5) == nil)
        #expect(try reader.stream("note-a").map(\.position) == [1, 3])
        #expect(try reader.streamVersion("note-a") == (try reader.stream("note-a").last?.version))
        #expect(try reader.streamVersion("no-such-stream") == nil)
        #expect(try reader.position(of: all[1].id) == 2)
        #expect(try reader.position(of: UUID()) == nil)
        #expect(try reader.stats().events == 4)
        let report = try reader.verify()
        #expect(report.ok)
        #expect(report.headHash == head.hash)
    }

    @Test(arguments: Backend.allCases)
    func wrongExpectedVersionWritesNothing(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let writer = try store.writer()
        defer { writer.close() }
        _ = try writer.append([note("note-a", 1, expectedVersion: -1)], validate: false)
        let version = try #require(try store.reader().streamVersion("note-a"))
        #expect(throws: EventStoreError.self) {
            try writer.append([note("note-b", 2), note("note-a", 3, expectedVersion: version + 5)], validate: false)
        }
        do {
            _ = try writer.append([note("note-a", 3, expectedVersion: version + 5)], validate: false)
            Issue.record("a wrong expected version was accepted")
        } catch let error as EventStoreError {
            #expect(error.code == .wrongExpectedVersion)
        }
        #expect(try writer.head == 1)
        #expect(try store.reader().streamVersion("note-b") == nil)
        #expect(try writer.append([note("note-a", 4, expectedVersion: version)], validate: false).positions == [2])
    }

    @Test(arguments: Backend.allCases)
    func eventIDsAreIdempotent(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let writer = try store.writer()
        defer { writer.close() }
        let id = UUID()
        #expect(try writer.append([note("note-a", 1, id: id)], validate: false).positions == [1])
        _ = try writer.append([note("note-b", 2)], validate: false)
        let retry = try writer.append([note("note-a", 1, id: id)], validate: false)
        #expect(retry.positions == [1])
        #expect(retry.appended == 0)
        #expect(retry.duplicates == 1)
        #expect(try writer.head == 2)
        #expect(try store.reader().stream("note-a").count == 1)
    }

    @Test(arguments: Backend.allCases)
    func catalogRejectionWritesNothing(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let writer = try store.writer()
        defer { writer.close() }
        try importAll(try Sample.lines(prefix: 20), into: writer)
        let before = try store.reader().head()
        do {
            _ = try writer.append([note("note-a", 1)])
            Issue.record("an event of an unknown type was accepted with validation on")
        } catch let error as EventStoreError {
            #expect(error.code == .invalidEvent)
        }
        let after = try store.reader().head()
        #expect(after.position == before.position)
        #expect(after.hash == before.hash)
    }

    @Test(arguments: Backend.allCases)
    func importErrorNamesLineAndWritesNothing(_ backend: Backend) throws {
        let store = try backend.makeStore()
        let writer = try store.writer()
        defer { writer.close() }
        var lines = try Sample.lines(prefix: 10)
        lines[6] = Array(#"{"stream":"x","type":"#.utf8)
        do {
            try importAll(lines, into: writer)
            Issue.record("a broken line was imported")
        } catch let error as EventStoreError {
            #expect(error.message.contains("line 7"), "\(error.message)")
        }
        #expect(try writer.head == 0)
        #expect(try store.reader().head().position == 0)
        #expect(try store.reader().events(after: 0, limit: 10).isEmpty)
    }

    /// Sample → store A → export → store B → export: the two exports are the same bytes, the
    /// heads the same hash.
    @Test(arguments: Backend.allCases, Backend.allCases)
    func exportRoundTripIsByteIdentical(_ from: Backend, _ to: Backend) throws {
        let a = try from.makeStore()
        let writerA = try a.writer()
        try importAll(try Sample.lines(prefix: 300), into: writerA)
        writerA.close()
        let exportA = try exported(try a.reader())
        #expect(!exportA.isEmpty)

        let b = try to.makeStore()
        let writerB = try b.writer()
        try importAll(exportA.split(separator: 0x0A).map(Array.init), into: writerB)
        writerB.close()
        let exportB = try exported(try b.reader())
        #expect(exportA == exportB)
        #expect(try a.reader().head().hash == (try b.reader().head().hash))
        #expect(try b.reader().verify(expect: try a.reader().head().hash, progress: nil).ok)
    }
}
