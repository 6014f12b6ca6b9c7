import Foundation
import Testing
import TestSupport

@testable import Events

#if canImport(Glibc)
import Glibc
#endif

/// A full disk: once an append's COMMIT frame is fsynced it is acknowledged, even when the index
/// cannot take it; the index catches up from the log. Readers work on a full disk (they write
/// nothing). An import on a full disk stops with a clear error and keeps every acknowledged event.
@Suite(.serialized) struct FullDiskTests {

    /// An index commit that fails while `failing` is set (as SQLITE_FULL does), for in-process tests.
    final class Fault: @unchecked Sendable {
        private let lock = NSLock()
        private var on = false
        var failing: Bool {
            get { lock.lock(); defer { lock.unlock() }; return on }
            set { lock.lock(); on = newValue; lock.unlock() }
        }
        func options() -> EventStoreOptions {
            var options = EventStoreOptions()
            options.indexCommitFault = { [self] in
                if failing { throw EventStoreError(.io, "database or disk is full (injected: SQLITE_FULL at COMMIT)") }
            }
            return options
        }
    }

    @Test func anAppendWhoseIndexCommitFailsIsAcknowledgedAndTheIndexCatchesUp() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            try store.importLines(try Sample.lines(prefix: 200), commitEvery: 50)
            let fault = Fault()
            let id = UUID()
            try store.withWriter(fault.options()) { writer in
                fault.failing = true
                let result = try writer.append([Sample.note("note-full", 1, id: id)], validate: false)
                #expect(result.positions == [201] && result.indexBehind?.contains("disk is full") == true, "\(result)")
                // a reader sees it at once, from the log
                let reader = try EventLogReader(layout: store.layout)
                #expect(try reader.head().position == 201)
                #expect(try reader.position(of: id) == 201)
                // while the index stays unwritable, every append durable in the log is still acknowledged
                let second = try writer.append([Sample.note("note-full", 2)], validate: false)
                #expect(second.positions == [202] && second.indexBehind != nil)
                fault.failing = false
                // space is back: the next append brings the index up first, and goes on densely
                let third = try writer.append([Sample.note("note-full", 3)], validate: false)
                #expect(third.positions == [203] && third.indexBehind == nil)
                #expect(try writer.append([Sample.note("note-full", 1, id: id)], validate: false).duplicates == 1)
            }
            #expect(try store.verify().ok)
            #expect(try store.events().suffix(3).map(\.position) == [201, 202, 203])
            let reader = try EventLogReader(layout: store.layout)
            #expect(try reader.stream("note-full").map(\.position) == [201, 202, 203])
            #expect(try reader.position(of: id) == 201)
        }
    }

    @Test func theNextOpenIndexesWhatAFailedIndexCommitLeftInTheLogAndARetryIsNotStoredTwice() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let fault = Fault()
            let id = UUID()
            fault.failing = true
            let result = try store.withWriter(fault.options()) { try $0.append([Sample.note("note-full", 1, id: id)], validate: false) }
            #expect(result.positions == [1] && result.indexBehind != nil)
            let recovery = try store.withWriter { $0.recovery }
            #expect(recovery.indexedFrames == 1 && recovery.cutBytes == 0, "\(recovery)")
            let retry = try store.withWriter { try $0.append([Sample.note("note-full", 1, id: id)], validate: false) }
            #expect(retry.duplicates == 1 && retry.positions == [1])
            #expect(try store.events().count == 1)
        }
    }

    // MARK: a real full disk: a 2 MiB tmpfs

    /// A 2 MiB tmpfs at a fresh folder, unmounted afterwards; nil when it cannot be mounted.
    static func withTmpfs<T>(in dir: URL, _ body: (URL) throws -> T) throws -> T? {
        let mountPoint = dir.appendingPathComponent("tmpfs")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint.path]
        mount.standardError = FileHandle.nullDevice
        guard (try? mount.run()) != nil else { return nil }
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { return nil }
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = ["-l", mountPoint.path]
            try? umount.run()
            umount.waitUntilExit()
        }
        return try body(mountPoint)
    }

    /// Fills the file system of `dir` with 4 KiB files until it is full; returns them.
    static func fill(_ dir: URL) throws -> [String] {
        var files: [String] = []
        let page = [UInt8](repeating: 0x55, count: 4096)
        while true {
            let path = dir.appendingPathComponent("fill-\(files.count)").path
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { break }
            let written = page.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            if written != page.count {
                unlink(path)
                break
            }
            files.append(path)
        }
        return files
    }

    /// Copies a folder recursively.
    static func copy(_ from: URL, to: URL) throws {
        try? FileManager.default.removeItem(at: to)
        try FileManager.default.copyItem(at: from, to: to)
    }

    /// On a full 2 MiB tmpfs with 0, 1, 2 ... 24 pages left: an append either succeeds (exit 0,
    /// its position printed) and the event is in the log, or fails and the event is not in the
    /// log once space returns — never "failed" while durable (a retry would store it twice). At
    /// least one amount of space gives the case the index cannot take: acknowledged, with a
    /// warning. Readers (read, export, verify) work on the full disk. An import on the full disk
    /// fails clearly; every acknowledged event is kept, and the store verifies afterwards.
    @Test func onA2MiBTmpfsAnAppendIsAcknowledgedExactlyWhenItIsDurable() throws {
        try withTemporaryDirectory { dir in
            let seed = try TestStore.create(in: dir, name: "seed")
            try seed.importLines(try Sample.lines(prefix: 400), commitEvery: 100)
            let reference = try seed.exportedLines()
            let mounted = try Self.withTmpfs(in: dir) { mount -> Bool in
                let storeURL = mount.appendingPathComponent("store")
                let filler = mount.appendingPathComponent("fill")
                var acknowledgedWithWarning = 0
                var failures = CrashTests.Failures()
                for free in 0...24 {
                    try Self.copy(seed.root, to: storeURL)
                    try FileManager.default.createDirectory(at: filler, withIntermediateDirectories: true)
                    let files = try Self.fill(filler)
                    for path in files.suffix(free) { unlink(path) }
                    let id = UUID()
                    let result = try runAdmin([
                        "--store", storeURL.path, "append", "--stream", "note-full", "--type", "NoteTaken", "--no-validate",
                        "--data", #"{"n":1}"#, "--id", id.uuidString, "--occurred-at", "2021-01-01T00:00:00Z",
                    ])
                    let label = "\(free) pages free"
                    failures.check(!result.signalled, "\(label): admin append crashed: \(result.stderr)")
                    if result.status == 0 && result.stderr.contains("the index is behind") { acknowledgedWithWarning += 1 }
                    if free == 0 {
                        // readers on the full disk
                        for command in [["verify"], ["export"], ["read", "--from", "400"]] {
                            let read = try runAdmin(["--store", storeURL.path] + command)
                            failures.check(read.status == 0, "full disk: admin \(command[0]) failed: \(read.stderr)")
                            if command == ["export"] {
                                failures.check(read.stdoutLines.count >= 400, "full disk: export printed \(read.stdoutLines.count) lines")
                            }
                        }
                    }
                    try FileManager.default.removeItem(at: filler)  // space returns
                    let layout = StoreLayout(root: storeURL.path)
                    let position = try EventLogReader(layout: layout).position(of: id)
                    if result.status == 0 {
                        failures.check(
                            position == 401 && result.stdout.contains("appended at position 401"),
                            "\(label): acknowledged (\(result.stdout)) but the event is at \(String(describing: position))")
                    } else {
                        failures.check(position == nil, "\(label): reported failed (\(result.errorLine)) but the event is in the log at \(position!)")
                        failures.check(result.stderr.contains("error:"), "\(label): no clear error: \(result.stderr)")
                    }
                    let verify = try LogVerifier(layout: layout).verify()
                    failures.check(verify.ok, "\(label): the store does not verify once space returns: \(String(describing: verify.problem))")
                    let reopened = try TestStore(layout: layout).exportedLines()
                    failures.check(Array(reopened.prefix(400)) == reference, "\(label): the events before the append changed")
                }
                failures.check(acknowledgedWithWarning > 0, "no amount of free space gave an append acknowledged while the index could not take it")

                // an import on the full disk: a clear error, every acknowledged commit kept
                try Self.copy(seed.root, to: storeURL)
                let input = mount.appendingPathComponent("notes.jsonl")
                let notes = (1...400).map { n in
                    #"{"id":"\#(UUID().uuidString.lowercased())","stream":"note-import-\#(n % 7)","type":"NoteTaken","occurredAt":"2021-02-01T00:00:00Z","data":{"n":\#(n),"text":"\#(String(repeating: "громада ", count: 40))"}}"#
                }
                try Data((notes.joined(separator: "\n") + "\n").utf8).write(to: input)
                try FileManager.default.createDirectory(at: filler, withIntermediateDirectories: true)
                let files = try Self.fill(filler)
                for path in files.suffix(30) { unlink(path) }
                let importing = try runAdmin(["--store", storeURL.path, "import", "--no-validate", "--commit-every", "10", input.path])
                let acknowledged = importing.stdoutLines.compactMap { $0.hasPrefix("committed ") ? Int64($0.dropFirst(10)) : nil }.max() ?? 400
                failures.check(!importing.signalled, "import crashed: \(importing.stderr)")
                failures.check(importing.status != 0, "an import of 400 events fit into 30 pages: \(importing.stdout)")
                failures.check(
                    importing.errorLine.contains("No space left on device") || importing.errorLine.contains("disk is full")
                        || importing.errorLine.contains("index could not be updated"),
                    "import on a full disk: unclear error: \(importing.stderr)")
                try FileManager.default.removeItem(at: filler)
                let layout = StoreLayout(root: storeURL.path)
                let verify = try LogVerifier(layout: layout).verify()
                failures.check(verify.ok, "after the import on a full disk the store does not verify: \(String(describing: verify.problem))")
                let head = try EventLogReader(layout: layout).head().position
                failures.check(head >= acknowledged, "the import acknowledged \(acknowledged) but the log holds \(head)")
                let init1 = try runAdmin(["--store", storeURL.path, "init"])
                failures.check(init1.status == 0, "init once space returned: \(init1.stderr)")
                failures.check(try EventLogReader(layout: layout).head().position == head, "init changed the head")
                failures.report("full-disk trials")
                return true
            }
            if mounted == nil {
                // No tmpfs (not root, or no mount(8)): the same contract through the index's fault hook.
                FileHandle.standardError.write(Data("note: a 2 MiB tmpfs could not be mounted; the full-disk contract is checked through the injected SQLITE_FULL instead\n".utf8))
                try anAppendWhoseIndexCommitFailsIsAcknowledgedAndTheIndexCatchesUp()
            }
        }
    }
}
