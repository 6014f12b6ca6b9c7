import ArgumentParser
import DemoHistory
import Events
import Foundation
import PostgresStore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an empty store (idempotent); on an existing one, recover its tail and bring its index up to date.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        do {
            if let location = try global.postgres() {
                try PostgresLogStore.initialize(location)
                print("store ready at \(location)")
                return
            }
            try global.layout.initialize()
            // Opening the store as its writer recovers the log's tail and brings the index up to
            // date (rebuilding it when it is missing or of an older schema). A writer that has it
            // open already has done that.
            do {
                let store = try EventStore(layout: global.layout, options: global.storeOptions(wait: false))
                store.close()
            } catch let e as EventStoreError where e.code == .locked {}
            print("store ready at \(global.layout.root)")
        } catch { throw fail(error) }
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append the JSON Lines events of FILE (or - for stdin), validated; all or nothing by default.")
    @OptionGroup var global: GlobalOptions

    @Argument(help: "A JSON Lines file, or - for standard input.")
    var file: String

    @Option(name: .customLong("skip-invalid"), help: "Append the valid lines; write each rejected line with its reason to this JSON Lines file.")
    var rejects: String?

    @Option(name: .customLong("commit-every"), help: "Commit durably every N lines (each commit printed as `committed P`), instead of once at the end.")
    var commitEvery: Int = 0

    @Flag(name: .customLong("no-validate"), help: "Operator's override: store well-formed envelopes without the catalog's and business rules' checks.")
    var noValidate = false

    @Flag(help: "Wait for another writer instead of failing.")
    var wait = false

    func validate() throws {
        if commitEvery < 0 { throw ValidationError("--commit-every must be >= 0") }
    }

    func run() throws {
        global.bootstrapLogging()
        do {
            let store = try global.logWriter(wait: wait)
            defer { store.close() }
            let reader = try LineReader(path: file)
            var options = EventStore.ImportOptions()
            options.validate = !noValidate
            options.skipInvalid = rejects != nil
            options.commitEvery = commitEvery
            var rejectOut: FileHandle?
            if let rejects {
                guard FileManager.default.createFile(atPath: rejects, contents: nil),
                    let handle = FileHandle(forWritingAtPath: rejects)
                else {
                    printError("error: cannot create the rejects file \(rejects)")
                    throw ExitCode(64)
                }
                rejectOut = handle
            }
            // Progress on a terminal: lines read, their rate, and for a file the time left.
            let progress = ProgressLine(label: "importing", unit: "lines")
            let totalBytes = file == "-" ? nil : (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int).flatMap { $0 }
            var bytesRead = 0
            var linesRead = 0
            var rejections = RejectionSummary()
            let result: EventStore.ImportResult
            do {
                result = try store.importLines(
                    options: options,
                    next: {
                        let line = try reader.next()
                        if let line {
                            linesRead += 1
                            bytesRead += line.count + 1
                            if linesRead % 1024 == 0 {
                                progress.update(done: linesRead, fraction: totalBytes.map { Double(bytesRead) / Double(max($0, 1)) })
                            }
                        }
                        return line
                    },
                    ready: { reader.hasBufferedLine },
                    onReject: { rejection in
                        let original = rejection.text
                        let record: JSONValue = [
                            "line": .int(Int64(rejection.line)), "field": .string(rejection.field),
                            "reason": .string(rejection.reason), "text": .string(original),
                        ]
                        rejectOut?.write(Data(record.canonicalBytes + [0x0A]))
                        rejections.add(line: rejection.line, field: rejection.field, reason: rejection.reason)
                    },
                    onCommit: { head in
                        if commitEvery > 0 {
                            progress.finish()
                            print("committed \(head)")
                            fflush(nil)
                        }
                    })
                progress.finish()
            } catch let error as EventStoreError where error.code == .invalidEvent && file != "-" {
                // All or nothing stopped at the first bad line: say how much of the file that left unchecked.
                progress.finish()
                var total = linesRead
                while (try? reader.next()) != nil { total += 1 }
                let failedAt = (error.cause as? EventStore.LineRejection)?.line ?? total
                let unchecked = max(0, total - failedAt)
                _ = fail(error)
                if unchecked > 0 {
                    printError("  nothing was imported; the \(unchecked) \(unchecked == 1 ? "line" : "lines") after it \(unchecked == 1 ? "was" : "were") not checked (--skip-invalid FILE checks every line, keeps the valid ones and writes the rejects to FILE)")
                } else {
                    printError("  nothing was imported")
                }
                throw ExitCode(1)
            }
            try? rejectOut?.close()
            if rejections.total > 0 { printError(rejections.render() + "every rejected line, with its reason, is in \(rejects ?? "the rejects file")") }
            print("imported \(result.appended) events (\(result.duplicates) already in the log, \(result.rejected) rejected); head position \(result.head)")
            if let lag = result.indexBehind { printIndexBehind(lag) }
            if result.rejected > 0 { throw ExitCode(1) }
        } catch let code as ExitCode {
            throw code
        } catch { throw fail(error) }
    }
}

struct Append: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Append one event.")
    @OptionGroup var global: GlobalOptions
    @Option var stream: String
    @Option var type: String
    @Option(help: "The payload, a JSON object.") var data: String
    @Option(name: .customLong("occurred-at"), help: "RFC 3339 UTC; default: now.") var occurredAt: String?
    @Option(
        name: .customLong("expected-version"), parsing: .unconditional,
        help: "-1: the stream must not exist; N: its last version must be N.")
    var expectedVersion: Int64?
    @Option(help: "The event's UUID (a retried id returns the original position).") var id: String?
    @Option(help: "Metadata, a JSON object (actor, correlationId, ...).") var metadata: String?
    @Flag(name: .customLong("no-validate"), help: "Operator's override: skip the catalog's and business rules' checks.")
    var noValidate = false
    @Flag(help: "Wait for another writer instead of failing.") var wait = false

    func validate() throws {
        if let expectedVersion, expectedVersion < -1 { throw ValidationError("--expected-version must be >= -1") }
        if let id, UUID(uuidString: id) == nil { throw ValidationError("--id must be a UUID") }
        if let occurredAt, Timestamp(rfc3339: occurredAt) == nil { throw ValidationError("--occurred-at must be an RFC 3339 timestamp") }
    }

    func run() throws {
        global.bootstrapLogging()
        do {
            var envelope: [String: JSONValue] = [
                "stream": .string(stream), "type": .string(type),
                "occurredAt": .string(occurredAt ?? Timestamp.now().rfc3339),
            ]
            do {
                envelope["data"] = try JSONParser.parse(data)
            } catch { throw EventStoreError(.invalidEvent, "--data is not valid JSON: \(error)") }
            if let metadata {
                do { envelope["metadata"] = try JSONParser.parse(metadata) } catch {
                    throw EventStoreError(.invalidEvent, "--metadata is not valid JSON: \(error)")
                }
            }
            if let id { envelope["id"] = .string(id) }
            if let expectedVersion { envelope["expectedVersion"] = .int(expectedVersion) }
            let event: ProposedEvent
            do { event = try EventCodec.decodeProposed(.object(envelope)) } catch {
                throw EventStoreError(.invalidEvent, "the event is rejected: field \(error.field): \(error.reason)")
            }
            let store = try global.logWriter(wait: wait)
            defer { store.close() }
            let result = try store.append([event], validate: !noValidate)
            if result.duplicates > 0 {
                print("already in the log at position \(result.positions[0]) (same id); nothing appended")
            } else {
                print("appended at position \(result.positions[0])")
            }
            if let lag = result.indexBehind { printIndexBehind(lag) }
        } catch { throw fail(error) }
    }
}

/// The warning of an append that is durable in the log while the index could not be updated.
func printIndexBehind(_ cause: String) {
    printError("warning: the index is behind the log: it could not be updated (\(cause)); the events above are committed and durable in the log, and the index catches up from the log at the next open (free some disk space)")
}

/// Options to select events.
struct ReadSelection: ParsableArguments {
    @Option(help: "First position.") var from: Int64?
    @Option(help: "Last position.") var to: Int64?
    @Option(help: "Only this stream.") var stream: String?
    @Option(help: "Only events recorded at or before this time (a date, a date-time, or position:N).") var until: String?
    @Option(help: "At most this many events.") var limit: Int?
    @Option(help: "Only events of this type (repeatable).") var type: [String] = []
    @Option(help: "Only events whose metadata.actor is this (`-`: events that name none).") var actor: String?

    /// Whether `event` passes the type and actor filters.
    func selects(_ event: RecordedEvent) -> Bool {
        if !type.isEmpty, !type.contains(event.type) { return false }
        if let actor, (StreamHistory.actor(of: event.metadata) ?? "-") != actor { return false }
        return true
    }

    var filtersEvents: Bool { !type.isEmpty || actor != nil }

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be >= 0") }
        if let until, TimePoint(until) == nil { throw ValidationError("--until must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N") }
    }
}

struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print events in log order as JSON Lines, with every stored field.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var selection: ReadSelection

    func run() throws {
        do {
            let reader = try global.logReader()
            try printEvents(reader: reader, selection: selection, out: OutputBuffer())
        } catch { throw fail(error) }
    }
}

func printEvents(reader: any LogReading, selection: ReadSelection, out: OutputBuffer) throws {
    var last = selection.to ?? .max
    if let until = selection.until.flatMap(TimePoint.init) { last = min(last, try until.position(in: reader)) }
    var remaining = selection.limit ?? .max
    if remaining == 0 { return }
    if let stream = selection.stream {
        for event in try reader.stream(stream)
        where event.position >= (selection.from ?? 1) && event.position <= last && selection.selects(event) {
            out.write(EventCodec.exportLine(event) + "\n")
            remaining -= 1
            if remaining == 0 { break }
        }
    } else if selection.filtersEvents {
        var after = max(selection.from ?? 1, 1) - 1
        pages: while after < last {
            let page = try reader.events(after: after, limit: 1024)
            if page.isEmpty { break }
            for event in page {
                if event.position > last { break pages }
                after = event.position
                guard selection.selects(event) else { continue }
                out.write(EventCodec.exportLine(event) + "\n")
                remaining -= 1
                if remaining == 0 { break pages }
            }
        }
    } else {
        try reader.forEachLine(from: selection.from ?? 1, through: last) { _, line in
            out.write(line)
            out.write("\n")
            remaining -= 1
            return remaining > 0
        }
    }
    out.flush()
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole log as JSON Lines; importing it into an empty store reproduces positions, versions, recordedAt and hashes.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Output file (default: standard output).") var file: String?

    func run() throws {
        do {
            let reader = try global.logReader()
            // A regular file is written beside and renamed into place (a reader of FILE never
            // sees half an export); a device or a pipe (/dev/null, /dev/stdout, a FIFO) is
            // written as it is, never replaced.
            let special = file.map { path -> Bool in
                var info = stat()
                return stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
            } ?? false
            let tmp = special ? nil : file.map { $0 + ".tmp" }
            let out: OutputBuffer
            if special, let file {
                guard let output = try? PosixFile(path: file, flags: O_WRONLY) else {
                    throw EventStoreError(.io, "cannot write \(file)")
                }
                out = OutputBuffer(file: output)
            } else if let file, let tmp {
                guard let output = try? PosixFile(path: tmp, flags: O_WRONLY | O_CREAT | O_TRUNC) else {
                    throw EventStoreError(.io, "cannot write \(file)")
                }
                out = OutputBuffer(file: output)
            } else {
                out = OutputBuffer()
            }
            try printEvents(reader: reader, selection: try ReadSelection.parse([]), out: out)
            if special { out.flush() }
            if let file, let tmp {
                out.flush()
                try? out.file.sync()
                guard (try? PosixFile.rename(tmp, to: file)) != nil else { throw EventStoreError(.io, "cannot rename \(tmp) to \(file)") }
            }
        } catch { throw fail(error) }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every frame's checksum and the whole hash chain; report the head hash.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "An earlier published head hash that must still be in the chain (an auditor's receipt).")
    var expect: String?
    @Option(help: "A signed receipt to check (with --public-key): the same as `admin receipt verify FILE`.")
    var receipt: String?
    @Option(name: .customLong("public-key"), help: "The receipt publisher's public key file.") var publicKey: String?
    @Flag(help: "Also decode every stored event (slower): pass only a log every reader can read.") var deep = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        if let expect, expect.count != 64 || !expect.allSatisfy({ $0.isHexDigit }) {
            throw ValidationError("--expect must be a 64-digit hex SHA-256")
        }
        if (receipt == nil) != (publicKey == nil) { throw ValidationError("--receipt and --public-key go together") }
        if receipt != nil, expect != nil { throw ValidationError("give --receipt or --expect, not both") }
    }

    func run() throws {
        if let receipt, let publicKey {
            let check = try ReceiptVerify.parse(
                [receipt, "--public-key", publicKey] + (global.store.map { ["--store", $0] } ?? []) + (json ? ["--json"] : []))
            return try check.run()
        }
        do {
            let report =
                try global.postgres() != nil
                ? try global.logReader().verify(expect: expect, progress: nil)
                : try LogVerifier(layout: global.layout, decodesLines: deep).verify(expect: expect)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
            if let problem = report.problem {
                if !json { printError("error: the log is damaged: \(problem)") }
                throw ExitCode(1)
            }
            if !json {
                if try global.postgres() != nil {
                    print("ok: \(report.events) events in \(report.frames) batches; chain verified")
                } else {
                    print("ok: \(report.events) events in \(report.frames) frames, \(report.segments) segments; chain verified")
                }
                print("head position \(report.headPosition), hash \(report.headHash ?? "-")")
                if let at = report.expectedFoundAt { print("expected hash found at position \(at): that history is a prefix of this log") }
                if let torn = report.tornTail {
                    print("note: ignored a torn tail at segment \(torn.segment), offset \(torn.offset): \(torn.reason) (what a crash can leave; the next writer cuts it off)")
                }
                if report.uncommittedTailBytes > 0 {
                    print("note: \(report.uncommittedTailBytes) bytes after the last committed frame (never acknowledged; the next writer cuts them off)")
                }
            }
        } catch let code as ExitCode {
            throw code
        } catch { throw fail(error) }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a realistic generated history as JSON Lines (for demos and benchmarks).")
    @Option(help: "About this many events.") var events: Int = 2000
    @Option(help: "Seed of the generator.") var seed: UInt64 = 2020
    @Option(help: "Output file.") var out: String

    func validate() throws {
        if events < 100 { throw ValidationError("--events must be at least 100") }
    }

    func run() throws {
        do {
            let n = try HistoryGenerator(seed: seed, targetEvents: events).write(toPath: out)
            print("wrote \(n) events to \(out)")
        } catch { throw fail(error) }
    }
}
