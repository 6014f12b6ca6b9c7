import Foundation
import Synchronization
import Testing
import TestSupport

@testable import Events

#if canImport(Glibc)
import Glibc
#endif

/// Readers never write: not the log, not the index, not `LOCK`, not SQLite's `-wal`/`-shm`. A
/// reader on a torn tail reads the verified prefix; on an index that lags, the committed frames
/// from the log. (Tests run as root, so a read-only copy would not stop a write: every test
/// compares every file's bytes and modification time and the folder listings instead.)
@Suite struct ReaderTests {

    /// Every file and folder under `root`: its kind, size, modification time and (for files) bytes.
    static func fingerprint(_ root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        let manager = FileManager.default
        let paths = [""] + (manager.subpaths(atPath: root) ?? []).sorted()
        for relative in paths {
            let path = relative.isEmpty ? root : root + "/" + relative
            var info = stat()
            try #require(lstat(path, &info) == 0, "cannot stat \(path)")
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            var entry = "\(isDirectory ? "dir" : "file") size \(info.st_size) mtime \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
            if !isDirectory {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                entry += " crc32c \(bytes.withUnsafeBytes { crc32c($0) })"
            }
            out[relative] = entry
        }
        return out
    }

    /// Runs `body` (a reader) and checks that nothing under the store changed.
    static func expectUnchanged<T>(
        _ store: TestStore, _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
    ) throws -> T {
        let before = try fingerprint(store.layout.root)
        let result = try body()
        let after = try fingerprint(store.layout.root)
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        #expect(changed.isEmpty, "\(what) changed the store: \(changed.map { "\($0): \(before[$0] ?? "absent") -> \(after[$0] ?? "absent")" })", sourceLocation: sourceLocation)
        return result
    }

    /// The sample imported in 100-event commits: a store with many commit points.
    static func sampleStore(in dir: URL, name: String = "sample") throws -> (store: TestStore, lines: [[UInt8]]) {
        let store = try TestStore.create(in: dir, name: name)
        try store.importLines(try Sample.lines(), commitEvery: 100)
        return (store, try store.exportedLines())
    }

    /// A reader keeps the frame it last read, chained as far as it got: reads in chunks that
    /// start and stop inside frames, single events in random order, and two threads at once
    /// give the events of one pass over the log.
    @Test func chunkedAndRandomReadsGiveTheEventsOfOnePass() async throws {
        try await withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            var options = EventStoreOptions()
            options.frameBytes = 40_000  // frames of a few dozen events: chunks end inside them
            try store.importLines(try Sample.lines(), options: options)
            let all = try store.events()
            try #require(all.count == 1254)
            let reader = try EventLogReader(layout: store.layout)
            for limit in [1, 7, 64, 333, 5_000] {
                var got: [RecordedEvent] = []
                while true {
                    let next = try reader.events(after: got.last?.position ?? 0, limit: limit)
                    if next.isEmpty { break }
                    #expect(next.count <= limit)
                    got += next
                }
                #expect(got == all, "chunks of \(limit)")
            }
            var random = SplitMix(seed: 7)
            for _ in 0..<300 {
                let p = Int64.random(in: 1...Int64(all.count), using: &random)
                #expect(try reader.event(at: p) == all[Int(p - 1)])
            }
            #expect(try reader.event(at: Int64(all.count) + 1) == nil)
            // one reader, two threads, each in its own chunks
            let shared = reader
            async let a = onThread { () throws -> [RecordedEvent] in
                var got: [RecordedEvent] = []
                while case let next = try shared.events(after: got.last?.position ?? 0, limit: 50), !next.isEmpty { got += next }
                return got
            }
            async let b = onThread { () throws -> [RecordedEvent] in
                var got: [RecordedEvent] = []
                while case let next = try shared.events(after: got.last?.position ?? 0, limit: 91), !next.isEmpty { got += next }
                return got
            }
            let (ga, gb) = try await (a, b)
            #expect(ga == all)
            #expect(gb == all)
        }
    }

    @Test func readersOfACleanStoreChangeNoByteAndCreateNoFile() throws {
        try withTemporaryDirectory { dir in
            let (store, lines) = try Self.sampleStore(in: dir)
            // no LOCK file either: a reader must not create one
            try FileManager.default.removeItem(atPath: store.layout.lock)
            let read = try Self.expectUnchanged(store, "reading") { () throws -> [[UInt8]] in
                let reader = try EventLogReader(layout: store.layout)
                var out: [[UInt8]] = []
                try reader.forEachLine { _, line in
                    out.append(Array(line))
                    return true
                }
                _ = try reader.stats()
                _ = try reader.stream("community-slavutytska")
                _ = try reader.lastPosition(recordedAtOrBefore: Timestamp(milliseconds: 1_600_000_000_000))
                return out
            }
            #expect(read == lines)
            let report = try Self.expectUnchanged(store, "verify") { try store.verify() }
            #expect(report.ok)
            #expect(!FileManager.default.fileExists(atPath: store.layout.lock))
        }
    }

    @Test func theAdminReadersChangeNoByteOfAStoreWhoseLastFrameIsTorn() throws {
        try withTemporaryDirectory { dir in
            let (store, lines) = try Self.sampleStore(in: dir)
            let segment = try store.segmentPaths().last!
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment)))
            let frames = try rawFrames(bytes)
            let last = frames.last!
            // as a crash leaves it: the index of the commit before the last frame, the last frame torn
            try Data(bytes[..<last.offset]).write(to: URL(fileURLWithPath: segment))
            store.removeIndex()
            _ = try store.withWriter { $0.head }
            try Data(bytes[..<(last.end - 7)]).write(to: URL(fileURLWithPath: segment))
            let kept = Int(frames.dropLast().last!.header.lastPosition)
            for command in [["export"], ["read"], ["verify"], ["verify", "--json"], ["stats"], ["read", "--stream", "community-slavutytska"]] {
                let result = try Self.expectUnchanged(store, "admin \(command[0])") {
                    try runAdmin(["--store", store.layout.root] + command)
                }
                #expect(result.status == 0 && !result.signalled, "admin \(command): \(result.stderr)")
                if command == ["export"] || command == ["read"] {
                    let printed = result.stdoutLines.map { Array($0.utf8) }
                    let same = printed == Array(lines.prefix(kept))
                    #expect(same, "admin \(command) printed \(printed.count) lines, expected the first \(kept)")
                }
                if command == ["verify"] {
                    #expect(result.stdout.contains("note: ignored a torn tail at segment \(segment), offset \(last.offset)"), "\(result.stdout)")
                }
            }
        }
    }

    /// The last frame cut at every byte offset, zero bytes and garbage appended, with the index of
    /// the last commit (as a crash leaves it) and without any index: a reader reads exactly the
    /// committed prefix and changes nothing; a writer then opens to the same prefix.
    @Test func aTornTailAtEveryByteOffsetIsReadAsTheCommittedPrefixWithoutAByteChanged() throws {
        try withTemporaryDirectory { dir in
            let (small, bytes, frames) = try CrashTests.smallStore(in: dir)
            let reference = try small.exportedLines()
            let trial = try CrashTests.Trial(in: dir)
            let last = frames.last!
            // the index as the last commit before the last frame leaves it
            try trial.install(Array(bytes[..<last.offset]))
            _ = try trial.store.withWriter { $0.head }
            let index = try Data(contentsOf: URL(fileURLWithPath: trial.store.layout.index))

            var generator = SplitMix(seed: 7)
            var tails: [(String, [UInt8])] = (last.offset..<bytes.count).map { ("cut at \($0)", Array(bytes[..<$0])) }
            for n in [1, 91, 92, 93, 4096] { tails.append(("\(n) zero bytes appended", bytes + [UInt8](repeating: 0, count: n))) }
            for n in [1, 50, 91, 500] {
                tails.append(("\(n) random bytes appended", bytes + (0..<n).map { _ in UInt8(truncatingIfNeeded: generator.next() | 1) }))
            }
            var failures = CrashTests.Failures()
            for (k, (what, tail)) in tails.enumerated() {
                try trial.install(tail)
                let withIndex = k % 2 == 0 && tail.count < bytes.count
                if withIndex { try index.write(to: URL(fileURLWithPath: trial.store.layout.index)) }
                let committed = frames.last { $0.header.isCommit && $0.end <= tail.count }!
                let head = Int(committed.header.lastPosition)
                let label = "\(what) (\(withIndex ? "index of the last commit" : "no index"))"
                do {
                    let before = try Self.fingerprint(trial.store.layout.root)
                    let read = try trial.store.exportedLines()
                    let report = try trial.store.verify()
                    let after = try Self.fingerprint(trial.store.layout.root)
                    failures.check(read == Array(reference.prefix(head)), "\(label): the reader read \(read.count) events, expected \(head)")
                    failures.check(before == after, "\(label): a reader changed the store")
                    failures.check(report.ok && report.headPosition == Int64(head), "\(label): verify \(String(describing: report.problem))")
                    failures.check(
                        (report.tornTail != nil || report.uncommittedTailBytes > 0) == (tail.count > committed.end),
                        "\(label): verify's torn tail \(String(describing: report.tornTail)), uncommitted \(report.uncommittedTailBytes)")
                } catch {
                    failures.check(false, "\(label): reading failed: \(error)")
                    continue
                }
                do {
                    let opened = try trial.store.withWriter { $0.head }
                    failures.check(opened == Int64(head), "\(label): the writer opened at \(opened), expected \(head)")
                    failures.check(trial.segmentSize == committed.end, "\(label): the writer left \(trial.segmentSize) bytes, expected \(committed.end)")
                } catch {
                    failures.check(false, "\(label): the writer refused: \(error)")
                }
            }
            failures.report("torn tails")
        }
    }

    /// The log holds commits the index lacks (a crash between the log's fsync and the index's
    /// commit, or a full disk): a reader reads them from the log, by position, stream and id,
    /// and leaves the index as it was.
    @Test func aReaderReadsCommitsTheIndexLacksFromTheLogWithoutWritingTheIndex() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            try store.importLines(try Sample.lines(prefix: 300), commitEvery: 50)
            let index = try Data(contentsOf: URL(fileURLWithPath: store.layout.index))
            let ids = try store.withWriter { writer in
                try (1...5).map { n -> UUID in
                    let id = UUID()
                    _ = try writer.append([Sample.note("note-lag", n, id: id)], validate: false)
                    return id
                }
            }
            let reference = try store.exportedLines()
            store.removeIndex()
            try index.write(to: URL(fileURLWithPath: store.layout.index))  // the index of position 300

            let reader = try Self.expectUnchanged(store, "a reader on a lagging index") { () throws -> EventLogReader in
                let reader = try EventLogReader(layout: store.layout)
                #expect(try reader.head().position == 305)
                #expect(try store.exportedLines() == reference)
                #expect(try reader.stream("note-lag").map(\.position) == Array(301...305))
                #expect(try reader.streamVersion("note-lag") == 4)
                #expect(try reader.position(of: ids[2]) == 303)
                #expect(try reader.hash(at: 305) == hashField(reference[304]))
                return reader
            }
            // the writer's next open indexes them, and the reader follows
            let recovery = try store.withWriter { $0.recovery }
            #expect(recovery.indexedFrames == 5 && recovery.cutBytes == 0, "\(recovery)")
            #expect(try reader.position(of: ids[4]) == 305)
        }
    }

    /// A reader made before any writer (an empty store, no index) follows the writer once it
    /// comes, without writing anything itself.
    @Test func aReaderOfAnEmptyStoreFollowsAWriterThatComesLater() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let reader = try Self.expectUnchanged(store, "a reader of an empty store") { try EventLogReader(layout: store.layout) }
            #expect(try reader.head().position == 0)
            try store.withWriter { writer in
                _ = try writer.append([Sample.note("note-a", 1)], validate: false)
                #expect(try reader.head().position == 1)
                _ = try writer.append([Sample.note("note-a", 2)], validate: false)
                #expect(try reader.events(after: 0, limit: 10).map(\.position) == [1, 2])
            }
            _ = try store.withWriter { try $0.append([Sample.note("note-a", 3)], validate: false) }
            #expect(try reader.head().position == 3)
        }
    }

    /// A reader that lives on (a worker, the service) follows writers in other processes that
    /// come and go. Each `admin append` opens the index, commits and closes; on closing SQLite
    /// removes the `-wal` and `-shm` files when it finds no other process's lock on the index,
    /// even those a reader which read the index live still holds, and the next writer makes new
    /// ones. The reader sees every commit, not only those of the writers it met.
    @Test func aReaderFollowsWritersOfOtherProcessesThatComeAndGo() throws {
        try withTemporaryDirectory { dir in
            let (store, lines) = try Self.sampleStore(in: dir)
            let reader = try EventLogReader(layout: store.layout)
            // Read from all the while, and asked for its stats (the service's `/api/v1/stats`),
            // which once opened and closed the index files and so ended this process's locks.
            var head = Int64(lines.count)
            #expect(try reader.head().position == head)
            let stop = Mutex(false)
            Thread {
                while !stop.withLock({ $0 }) {
                    _ = try? reader.head()
                    _ = try? reader.stats()
                    usleep(300)
                }
            }.start()
            defer { stop.withLock { $0 = true } }
            for juror in 1...6 {
                let run = try runAdmin([
                    "--store", store.layout.root, "append", "--stream", "submission-bp-2021-00000", "--type", "JuryScoreAdded",
                    "--data",
                    #"{"submissionId":"bp-2021-00000","jurorId":"jr\#(juror)","scores":{"relevance":7,"innovation":8,"participation":6,"results":9,"replicability":5}}"#,
                    "--metadata", #"{"actor":"jr\#(juror)"}"#,
                ])
                try #require(run.status == 0, "admin append: \(run.stderr)")
                head += 1
                #expect(try reader.head().position == head, "after the append of process \(juror)")
                #expect(try reader.events(after: head - 1, limit: 10).map(\.position) == [head])
            }
        }
    }
}
