import Foundation
import GRDB
import Testing
import TestSupport

@testable import Events

/// The index files an event id under a 48-bit key (``IDKey``) and a stream's positions in
/// delta-coded chunks (``StreamChunk``): ids that share a key must each be found, appended and
/// refused as duplicates as ids of their own, and streams of any length read from any version.
@Suite struct IndexKeyTests {
    /// An id other than `id` with the same 64-bit mix, hence the same bucket and tail: the mix is
    /// `fmix64(hi ^ fmix64(lo))`, so changing `lo` and undoing its effect on `hi` keeps it.
    static func colliding(with id: UUID, salt: UInt64) -> UUID {
        let (hi, lo) = withUnsafeBytes(of: id.uuid) { raw in
            (UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        let otherLo = lo ^ salt
        let otherHi = hi ^ IDKey.fmix64(lo) ^ IDKey.fmix64(otherLo)
        var bytes = [UInt8](repeating: 0, count: 16)
        for k in 0..<8 {
            bytes[k] = UInt8(truncatingIfNeeded: otherHi >> (56 - 8 * UInt64(k)))
            bytes[8 + k] = UInt8(truncatingIfNeeded: otherLo >> (56 - 8 * UInt64(k)))
        }
        let t = (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                 bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15])
        return UUID(uuid: t)
    }

    @Test func collidingIdsAreMadeRight() {
        let id = UUID()
        let other = Self.colliding(with: id, salt: 0x5A5A)
        #expect(other != id)
        #expect(IDKey(other) == IDKey(id))
        #expect(IDKey(Self.colliding(with: id, salt: 1)) == IDKey(id))
        #expect(IDKey(UUID()) != IDKey(id))
    }

    @Test func idsThatShareAKeyAreEachAppendedFoundAndRefusedAsTheirOwn() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let x = UUID()
            let y = Self.colliding(with: x, salt: 0x1234)
            let z = Self.colliding(with: x, salt: 0x9876)
            let w = Self.colliding(with: x, salt: 0x4321)
            try store.withWriter { (s: EventStore) throws in
                // x alone, then y in a later group (y is checked against the index: its key is
                // there, its line is not y's)
                #expect(try s.append([Sample.note("note-a", 1, id: x)], validate: false).positions == [1])
                #expect(try s.append([Sample.note("note-a", 2, id: y)], validate: false).positions == [2])
                // z and w in one request: neither is in the index yet
                let both = try s.append([Sample.note("note-a", 3, id: z), Sample.note("note-a", 4, id: w)], validate: false)
                #expect(both.appended == 2)
                #expect(both.positions == [3, 4])
                // each sent again is the duplicate of its own position
                let again = try s.append([Sample.note("note-a", 9, id: w), Sample.note("note-a", 9, id: y), Sample.note("note-a", 9, id: x), Sample.note("note-a", 9, id: z)], validate: false)
                #expect(again.appended == 0)
                #expect(again.duplicates == 4)
                #expect(again.positions == [4, 2, 1, 3])
            }
            let unseen = Self.colliding(with: x, salt: 0x7777)
            func expectPositions(unseenAt: Int64?) throws {
                let reader = try EventLogReader(layout: store.layout)
                #expect(try reader.position(of: x) == 1)
                #expect(try reader.position(of: y) == 2)
                #expect(try reader.position(of: z) == 3)
                #expect(try reader.position(of: w) == 4)
                #expect(try reader.position(of: unseen) == unseenAt)
            }
            try expectPositions(unseenAt: nil)
            // the index rebuilt from the log files them the same way
            store.removeIndex()
            try store.withWriter { (s: EventStore) throws in
                #expect(try s.append([Sample.note("note-a", 5, id: y)], validate: false).duplicates == 1)
                #expect(try s.append([Sample.note("note-a", 5, id: unseen)], validate: false).positions == [5])
            }
            try expectPositions(unseenAt: 5)
            #expect(try store.verify().events == 5)
        }
    }

    @Test func anAbandonedRequestLeavesNoKeyBehind() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let x = UUID()
            let y = Self.colliding(with: x, salt: 0x42)
            try store.withWriter { (s: EventStore) throws in
                _ = try s.append([Sample.note("note-a", 1, id: x)], validate: false)
                // the second event's expected version fails: the request (y with it) is abandoned
                #expect(throws: EventStoreError.self) {
                    try s.append([Sample.note("note-a", 2, id: y), Sample.note("note-a", 3, expectedVersion: 7)], validate: false)
                }
                // y was never stored: appended now at the position the abandoned request had
                #expect(try s.append([Sample.note("note-a", 2, id: y)], validate: false).positions == [2])
                #expect(try s.append([Sample.note("note-a", 2, id: x)], validate: false).positions == [1])
            }
            #expect(try EventLogReader(layout: store.layout).position(of: y) == 2)
        }
    }

    @Test(arguments: [0, 1, 63, 64, 65, 127, 128, 149, 150, 151])
    func aLongStreamIsReadFromAnyVersion(from: Int64) throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            // 150 events of one stream between others, over several requests, so that its chunks
            // are continued across groups
            var positions: [Int64] = []
            try store.withWriter { (s: EventStore) throws in
                for round in 0..<15 {
                    var batch: [ProposedEvent] = []
                    for k in 0..<10 {
                        batch.append(Sample.note("note-long", round * 10 + k))
                        if k % 3 == 0 { batch.append(Sample.note("note-other-\(round)-\(k)", k)) }
                    }
                    let result = try s.append(batch, validate: false)
                    positions += zip(batch, result.positions).filter { $0.0.stream == "note-long" }.map(\.1)
                }
            }
            #expect(positions.count == 150)
            let reader = try EventLogReader(layout: store.layout)
            let read = try reader.stream("note-long", fromVersion: from)
            #expect(read.map(\.position) == Array(positions.dropFirst(Int(min(from, 150)))))
            #expect(read.map(\.version) == Array(min(from, 150)..<150))
            #expect(try reader.streamVersion("note-long") == 149)
        }
    }

    /// The index is derived and nothing checks its blobs when it opens: a stream whose positions
    /// point at another stream's events is refused when read, not answered with them.
    @Test func aStreamWhosePositionsAreDamagedIsRefusedNotMixed() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            try store.withWriter { (s: EventStore) throws in
                _ = try s.append((0..<3).map { Sample.note("note-a", $0) } + (0..<3).map { Sample.note("note-b", $0) }, validate: false)
            }
            #expect(try EventLogReader(layout: store.layout).stream("note-b").map(\.position) == [4, 5, 6])
            let queue = try DatabaseQueue(path: store.layout.index)
            try queue.write { db in
                try db.execute(sql: "UPDATE streams SET positions = (SELECT positions FROM streams WHERE name = 'note-a') WHERE name = 'note-b'")
            }
            try queue.close()
            #expect(throws: EventStoreError.self) { try EventLogReader(layout: store.layout).stream("note-b") }
            #expect(try EventLogReader(layout: store.layout).stream("note-a").count == 3)
        }
    }

    @Test func varintsAndChunksRoundTrip() throws {
        let values: [UInt64] = [0, 1, 127, 128, 255, 16_383, 16_384, 1 << 35, UInt64(Int64.max)]
        var bytes: [UInt8] = []
        for v in values { Varint.append(v, to: &bytes) }
        var read: [UInt64] = []
        try bytes.withUnsafeBytes { raw in
            var i = 0
            while i < raw.count { read.append(try #require(Varint.read(raw, at: &i))) }
        }
        #expect(read == values)
        // a value cut short is refused, not read as another
        bytes.removeLast()
        bytes.withUnsafeBytes { raw in
            var i = 0
            var last: UInt64?
            repeat { last = Varint.read(raw, at: &i) } while last != nil && i < raw.count
            #expect(last == nil)
        }
        let damaged: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x85]  // a tail, then a varint that does not end
        #expect(throws: EventStoreError.self) {
            try damaged.withUnsafeBytes { raw in try IDKey(UUID()).positions(in: raw) }
        }
    }
}
