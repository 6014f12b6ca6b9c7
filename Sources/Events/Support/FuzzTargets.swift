import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The code paths the coverage-guided fuzzers drive (`scripts/fuzz.sh`, harnesses in
/// `Tests/Fuzz/`), kept here so that `FuzzCorpusTests` runs every kept input through exactly the
/// same code in-process. Each returns `nil` when the input was handled as the format promises,
/// or the property it broke; a crash is a crash in either place.
enum FuzzTargets {

    // MARK: the JSON import path

    /// One import line: the strict JSON parser, `decodeProposed`, the payload checks, the stored
    /// line and the export line. Whatever is accepted must re-encode to canonical bytes that
    /// decode to the same event; whatever `decodeRecorded` accepts must re-export to a line that
    /// decodes to the same event.
    static func importLine(_ bytes: [UInt8]) -> String? {
        // 1. the parser: accepted JSON has canonical bytes that parse back to the same value, a
        //    fixpoint
        if let value = try? JSONParser.parse(bytes) {
            let canonical = value.canonicalBytes
            guard let again = try? JSONParser.parse(canonical) else {
                return "the canonical bytes of an accepted value do not parse: \(show(canonical))"
            }
            guard sameValue(again, value) else { return "the canonical bytes parse to another value: \(show(canonical))" }
            guard again.canonicalBytes == canonical else { return "canonical encoding is not a fixpoint: \(show(canonical))" }
        }
        // 2. the reader's decoder on the raw bytes: what it accepts re-exports to itself
        if let recorded = try? bytes.withUnsafeBufferPointer({ try EventCodec.decodeRecorded(line: $0) }) {
            let line = Array(EventCodec.exportLine(recorded).utf8)
            guard let back = try? line.withUnsafeBufferPointer({ try EventCodec.decodeRecorded(line: $0) }) else {
                return "decodeRecorded accepted a line whose export line does not decode: \(show(line))"
            }
            guard back == recorded else { return "a recorded event's export line decodes to another event: \(show(line))" }
        }
        // 3. the import line
        guard var event = try? EventCodec.decodeProposed(line: bytes) else { return nil }
        event.encodePayload(checkPayload: true)
        let id = event.id ?? UUID(uuid: (1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16))
        let recordedAt = event.recordedAt ?? Timestamp(milliseconds: 1_600_000_000_000)
        let position = event.exported?.position ?? 1
        let version = event.exported?.version ?? 0
        var stored: [UInt8] = []
        let hash = EventCodec.encodeLine(
            position: position, id: id, stream: event.stream, version: version, type: event.type,
            occurredAt: event.occurredAt, recordedAt: recordedAt, data: event.data, metadata: event.metadata,
            encoded: event.encodedPayload, previousHash: nil, into: &stored)
        var direct: [UInt8] = []
        _ = EventCodec.encodeLine(
            position: position, id: id, stream: event.stream, version: version, type: event.type,
            occurredAt: event.occurredAt, recordedAt: recordedAt, data: event.data, metadata: event.metadata,
            encoded: nil, previousHash: nil, into: &direct)
        guard stored == direct else { return "the pre-encoded payload differs from the writer's encoding: \(show(stored))" }
        guard stored.last == 0x0A, !stored.dropLast().contains(0x0A) else {
            return "a stored line holds a raw newline: \(show(stored))"
        }
        stored.removeLast()
        // the stored line is JSON whose values are the event's
        guard let storedValue = try? JSONParser.parse(stored), case .object(let o) = storedValue else {
            return "a stored line is not a JSON object: \(show(stored))"
        }
        guard sameValue(o["data"] ?? .null, .object(event.data)), sameValue(o["metadata"] ?? .null, .object(event.metadata)),
            o["stream"] == .string(event.stream), o["type"] == .string(event.type)
        else { return "a stored line's JSON differs from the event: \(show(stored))" }
        // the data and metadata are written canonically
        if case .object(let d)? = o["data"], JSONValue.object(d).canonicalBytes != JSONValue.object(event.data).canonicalBytes {
            return "data is not canonical in the stored line: \(show(stored))"
        }
        var export: [UInt8] = []
        stored.withUnsafeBufferPointer { EventCodec.appendExportLine(stored: $0, hash: hash, into: &export) }
        let recorded: RecordedEvent
        do {
            recorded = try export.withUnsafeBufferPointer { try EventCodec.decodeRecorded(line: $0) }
        } catch {
            return "the export line of an accepted event does not decode (\(error)): \(show(export))"
        }
        guard recorded.id == id, recorded.stream == event.stream, recorded.type == event.type,
            recorded.occurredAt == event.occurredAt, recorded.recordedAt == recordedAt,
            sameValue(.object(recorded.data), .object(event.data)),
            sameValue(.object(recorded.metadata), .object(event.metadata)),
            recorded.position == position, recorded.version == version
        else { return "the export line decodes to another event: \(show(export))" }
        guard Array(EventCodec.exportLine(recorded).utf8) == export else {
            return "exportLine(decodeRecorded(export)) is not the export line: \(show(export))"
        }
        // an export line is an import line (export, then import into an empty store)
        let reimported: ProposedEvent
        do {
            reimported = try EventCodec.decodeProposed(line: export)
        } catch {
            return "the export line of an accepted event is refused on import (\(error)): \(show(export))"
        }
        guard reimported.id == id, reimported.stream == event.stream, reimported.type == event.type,
            reimported.occurredAt == event.occurredAt, reimported.recordedAt == recordedAt,
            sameValue(.object(reimported.data), .object(event.data)),
            sameValue(.object(reimported.metadata), .object(event.metadata)),
            reimported.exported?.position == position, reimported.exported?.version == version
        else { return "the re-imported export line is another event: \(show(export))" }
        // ... whose stored line, and so hash, is the same bytes
        var again: [UInt8] = []
        let hashAgain = EventCodec.encodeLine(
            position: position, id: id, stream: reimported.stream, version: version, type: reimported.type,
            occurredAt: reimported.occurredAt, recordedAt: recordedAt, data: reimported.data,
            metadata: reimported.metadata, encoded: nil, previousHash: nil, into: &again)
        guard again.dropLast() == stored[...], hashAgain == hash else {
            return "the re-imported export line stores other bytes: \(show(again)) vs \(show(stored))"
        }
        return nil
    }

    /// JSON values that store the same: equal, where a whole number read from a fraction or an
    /// exponent (`1.0`, `1E2`, `-0.0`, below 2^53) is the integer it is written as (FORMAT.md,
    /// "Numbers").
    static func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let i), .double(let d)), (.double(let d), .int(let i)):
            return d.rounded() == d && abs(d) < 9_007_199_254_740_992 && Int64(d) == i
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { sameValue($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { sameValue(value, $0) } ?? false }
        default:
            return a == b
        }
    }

    // MARK: the frame reader

    /// A log segment's bytes. The first byte chooses the mode: bit 1 set, the rest is the
    /// decompressed body of one frame (stored lines), which the harness writes as a well-formed
    /// segment (zstd, lengths, CRCs, the chain's last hash) so that the fuzzer works on the lines
    /// the reader decodes; else bit 0 set, the harness first fixes the checksums (segment header,
    /// each frame's header and body CRC32C) so that the fuzzer reaches zstd and the lines behind
    /// them; else the bytes are read as they are.
    /// Then: the segment header, `FrameScanner` over every frame (decompressing), the chain
    /// check and `decodeRecorded` of every line, and `LogVerifier` over a store holding the
    /// segment.
    static func segment(_ input: [UInt8], skipDeclaredAbove limit: Int? = knownAllocationLimit) -> String? {
        guard let mode = input.first else { return nil }
        var bytes = Array(input.dropFirst())
        if mode & 2 == 2 {
            guard let segment = segment(ofBody: bytes) else { return nil }
            bytes = segment
        } else if mode & 1 == 1 {
            fixChecksums(&bytes)
        }
        if let limit, declaresUncompressedLength(above: limit, in: bytes) { return nil }
        guard let dir = workDirectory else { return "cannot make a scratch store" }
        let layout = StoreLayout(root: dir)
        let path = layout.segmentPath(firstPosition: 1)
        guard write(bytes, to: path) else { return "cannot write \(path)" }
        // the scanner, the chain and the reader's decoder
        var linesRead = 0
        do {
            let file = try PosixFile(path: path, flags: O_RDONLY)
            var scanner = try FrameScanner(file: file, segmentFirst: 1)
            let header = try scanner.segmentHeader()
            var previous: [UInt8]? = header.map { $0.previousHash == EventCodec.zeroHash ? nil : $0.previousHash } ?? nil
            var frames = 0
            scan: while frames < 100_000 {
                switch try scanner.next() {
                case .end, .bad: break scan
                case .frame(let frame):
                    frames += 1
                    let last = try? ChainCheck.check(
                        body: frame.body, firstPosition: frame.header.firstPosition, count: Int(frame.header.count),
                        previous: previous
                    ) { _, line, digest in
                        var export: [UInt8] = []
                        EventCodec.appendExportLine(stored: line, hash: digest, into: &export)
                        if let e = try? export.withUnsafeBufferPointer({ try EventCodec.decodeRecorded(line: $0) }) {
                            _ = EventCodec.exportLine(e)
                            linesRead += 1
                        }
                    }
                    guard let last else { break scan }
                    previous = last
                }
            }
        } catch {
            // an I/O error on our own scratch file is not the reader's fault; nothing to check
        }
        // the whole reader as `admin verify` runs it (it must not crash), and `verify --deep`,
        // which passes only lines the reader decodes (HROMADA_FUZZ_STRICT_VERIFY=0: not checked)
        _ = try? LogVerifier(layout: layout).verify()
        if let report = try? LogVerifier(layout: layout, decodesLines: true).verify(), report.ok, report.events > linesRead,
            strictVerify
        {
            return "verify passed \(report.events) events, the scanner decoded \(linesRead)"
        }
        return nil
    }

    static let strictVerify = ProcessInfo.processInfo.environment["HROMADA_FUZZ_STRICT_VERIFY"] != "0"

    /// A frame header's declared uncompressed length is allocated before it is checked (known,
    /// being fixed in `Sources/Events/Log`; the input is kept in `Tests/Fuzz/pending/`). With
    /// `HROMADA_FUZZ_ALLOC_LIMIT_MB` set, inputs declaring more are skipped so that the fuzzer
    /// looks past it; unset, they run (and run out of memory).
    static let knownAllocationLimit: Int? = {
        guard let text = ProcessInfo.processInfo.environment["HROMADA_FUZZ_ALLOC_LIMIT_MB"], let mb = Int(text), mb > 0 else {
            return nil
        }
        return mb << 20
    }()

    static func declaresUncompressedLength(above limit: Int, in bytes: [UInt8]) -> Bool {
        var offset = SegmentHeader.size
        while offset + FrameHeader.size <= bytes.count {
            if Int(u32(bytes, offset + 48)) > limit { return true }
            offset += FrameHeader.size + Int(u32(bytes, offset + 44))
        }
        return false
    }

    /// A segment holding one COMMIT frame of `body` (a newline added when it lacks one), as the
    /// writer would frame it; nil when zstd refuses.
    static func segment(ofBody input: [UInt8]) -> [UInt8]? {
        var body = input
        if body.last != 0x0A { body.append(0x0A) }
        var previous: [UInt8]? = nil
        var count: UInt32 = 0
        body.withUnsafeBufferPointer { b in
            var start = 0
            for i in 0..<b.count where b[i] == 0x0A {
                previous = EventCodec.chainHash(previous: previous, content: UnsafeBufferPointer(rebasing: b[start..<i]))
                count += 1
                start = i + 1
            }
        }
        guard let compressed = try? body.withUnsafeBytes({ try ZstdCompressor(level: 1).compress($0) }) else { return nil }
        var out = SegmentHeader(firstPosition: 1, previousHash: EventCodec.zeroHash).encode()
        let header = FrameHeader(
            flags: FrameHeader.commitFlag, count: count, firstPosition: 1, firstRecordedAt: 0, lastRecordedAt: 0,
            compressedLength: UInt32(compressed.count), uncompressedLength: UInt32(body.count),
            bodyCRC: compressed.withUnsafeBytes { crc32c($0) }, lastHash: previous ?? EventCodec.zeroHash)
        header.encode(into: &out)
        out += compressed
        return out
    }

    /// Rewrites the CRC32C fields so that headers and bodies check (lengths are left as they are).
    static func fixChecksums(_ bytes: inout [UInt8]) {
        if bytes.count >= SegmentHeader.size {
            let crc = bytes.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[8..<56])) }
            put32(&bytes, 56, crc)
        }
        var offset = SegmentHeader.size
        while offset + FrameHeader.size <= bytes.count {
            let clen = Int(u32(bytes, offset + 44))
            let end = offset + FrameHeader.size + clen
            if end <= bytes.count {
                let body = bytes.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[(offset + FrameHeader.size)..<end])) }
                put32(&bytes, offset + 52, body)
            }
            let header = bytes.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[(offset + 8)..<(offset + 88)])) }
            put32(&bytes, offset + 88, header)
            offset = end
        }
    }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    private static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }

    /// One scratch store per process, under `$TMPDIR`.
    private static let workDirectory: String? = {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let dir = base + "/hromada-fuzz-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let layout = StoreLayout(root: dir)
        do { try layout.initialize() } catch { return nil }
        return dir
    }()

    private static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count
    }

    /// Removes the scratch store (the harness calls it at exit; tests after their loop).
    static func cleanUp() {
        if let dir = workDirectory { try? FileManager.default.removeItem(atPath: dir) }
    }

    private static func show(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(300), as: UTF8.self)
    }
}
