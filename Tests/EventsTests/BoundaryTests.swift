import CZstd
import Foundation
import Testing
import TestSupport

@testable import Events

/// Values at the edges of what the log takes: stream ends of zstd output, fractions of seconds,
/// the four-digit years, numbers beyond 64 bits and their canonical text, times in the future.
/// Each test here failed (or trapped) before the fix it names.
@Suite struct BoundaryTests {
    // MARK: - zstd streams whose content is a multiple of the output buffer

    /// A snapshot of 65 × 131,072 bytes was refused as "truncated" although zstd -t passed:
    /// the end of the stream was misread when the output filled its buffer exactly.
    @Test(arguments: [1, 2, 7, 65])
    func zstdFileRoundTripsContentOfWholeOutputBuffers(buffers: Int) throws {
        try withTemporaryDirectory { dir in try roundTrip(buffers: buffers, dir: dir) }
    }

    private func roundTrip(buffers: Int, dir: URL) throws {
        let unit = ZSTD_DStreamOutSize()
        for size in [buffers * unit - 1, buffers * unit, buffers * unit + 1] {
            var raw = [UInt8](repeating: 0, count: size)
            var x: UInt64 = 0x9E37_79B9_7F4A_7C15
            for i in 0..<size {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
                raw[i] = i % 3 == 0 ? UInt8(truncatingIfNeeded: x) : UInt8(i % 251)  // part noise, part pattern
            }
            let source = dir.appendingPathComponent("raw-\(size)").path
            try Data(raw).write(to: URL(fileURLWithPath: source))
            let packed = try ZstdFile.compress(from: source, to: source + ".zst", level: 1)
            let checked = try ZstdFile.decompress(from: source + ".zst", to: nil)
            #expect(checked.outputBytes == Int64(size))
            #expect(checked.outputSHA256 == packed.inputSHA256)
            let back = try ZstdFile.decompress(from: source + ".zst", to: source + ".back")
            #expect(back.outputSHA256 == packed.inputSHA256)
            #expect(try Data(contentsOf: URL(fileURLWithPath: source + ".back")) == Data(raw))
        }
    }

    @Test func zstdFileStillRefusesATruncatedStream() throws {
        try withTemporaryDirectory { dir in try truncated(dir: dir) }
    }

    private func truncated(dir: URL) throws {
        let size = 2 * ZSTD_DStreamOutSize()
        let source = dir.appendingPathComponent("raw").path
        try Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: source))
        try ZstdFile.compress(from: source, to: source + ".zst", level: 1)
        let packed = try Data(contentsOf: URL(fileURLWithPath: source + ".zst"))
        for cut in [packed.count - 1, packed.count - 4, packed.count / 2, 1] {
            try packed.prefix(cut).write(to: URL(fileURLWithPath: source + ".cut"))
            #expect(throws: EventStoreError.self) { try ZstdFile.decompress(from: source + ".cut", to: nil) }
        }
    }

    // MARK: - time

    @Test func fractionsBeyondMillisecondsAreTruncatedNotATrap() throws {
        let cases: [(String, String)] = [
            ("2020-05-01T10:00:00.123456Z", "2020-05-01T10:00:00.123Z"),
            ("2020-05-01T10:00:00.123456789Z", "2020-05-01T10:00:00.123Z"),
            ("2020-05-01T10:00:00.9999Z", "2020-05-01T10:00:00.999Z"),
            ("2020-05-01T10:00:00.5Z", "2020-05-01T10:00:00.500Z"),
            ("2020-05-01T10:00:00.05+02:00", "2020-05-01T08:00:00.050Z"),
            ("2020-05-01T10:00:00.000000Z", "2020-05-01T10:00:00Z"),
        ]
        for (text, canonical) in cases {
            let t = try #require(Timestamp(rfc3339: text), "\(text)")
            #expect(t.rfc3339 == canonical, "\(text)")
        }
        #expect(Timestamp(rfc3339: "2020-05-01T10:00:00.Z") == nil)
    }

    @Test func timesOutsideFourDigitYearsInUTCAreRefused() throws {
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59-01:00") == nil)
        #expect(Timestamp(rfc3339: "0000-01-01T00:00:00+01:00") == nil)
        #expect(Timestamp(rfc3339: "0000-12-31T23:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "0001-01-01T00:30:00+01:00") == nil)
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59.999Z")?.rfc3339 == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp(rfc3339: "0001-01-01T00:00:00Z")?.rfc3339 == "0001-01-01T00:00:00Z")
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59+01:00")?.rfc3339 == "9999-12-31T22:59:59Z")
        #expect(Timestamp.isOutOfRange(rfc3339: "9999-12-31T23:59:59-01:00"))
        #expect(Timestamp.isOutOfRange(rfc3339: "0000-02-29T12:00:00Z"))
        #expect(!Timestamp.isOutOfRange(rfc3339: "2020-13-01T00:00:00Z"))

        for text in ["9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00"] {
            let line = #"{"stream":"note-a","type":"NoteAdded","occurredAt":"2020-01-01T00:00:00Z","recordedAt":"\#(text)","data":{}}"#
            let rejection = try #require(throws: Rejection.self) { try EventCodec.decodeProposed(line: Array(line.utf8)) }
            #expect(rejection.field == "recordedAt")
            #expect(rejection.reason.contains("0001–9999"), "\(rejection.reason)")
        }
    }

    @Test func anOccurredAtBeforeTheProgrammeIsRefused() throws {
        let line = #"{"stream":"note-a","type":"NoteAdded","occurredAt":"0020-05-01T10:00:00Z","data":{}}"#
        let rejection = try #require(throws: Rejection.self) { try EventCodec.decodeProposed(line: Array(line.utf8)) }
        #expect(rejection.field == "occurredAt")
        let ok = #"{"stream":"note-a","type":"NoteAdded","occurredAt":"1991-01-01T00:00:00Z","data":{}}"#
        #expect(try EventCodec.decodeProposed(line: Array(ok.utf8)).occurredAt == ProposedEvent.earliestOccurredAt)
    }

    /// A far-future recordedAt froze the log's clock: every later append was recorded at
    /// 9999-12-31 and real imports were refused as "before the log's last recordedAt".
    @Test func aRecordedAtOrOccurredAtInTheFutureIsRefusedAndChangesNothing() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let now = Timestamp(rfc3339: "2026-12-04T12:00:00Z")!
            var options = EventStoreOptions()
            options.clock = { now }
            func note(_ n: Int, occurredAt: String, recordedAt: String? = nil) throws -> ProposedEvent {
                let recorded = recordedAt.map { #","recordedAt":"\#($0)""# } ?? ""
                return try EventCodec.decodeProposed(
                    line: Array(#"{"stream":"note-a","type":"NoteAdded","occurredAt":"\#(occurredAt)"\#(recorded),"data":{"n":\#(n)}}"#.utf8))
            }
            func rejectedField(_ body: () throws -> Void) -> String? {
                do {
                    try body()
                    return nil
                } catch let error as EventStoreError {
                    #expect(error.code == .invalidEvent, "\(error)")
                    return (error.cause as? Rejection)?.field
                } catch {
                    return (error as? Rejection)?.field
                }
            }
            try store.withWriter(options) { writer in
                _ = try writer.append([note(1, occurredAt: "2026-12-01T00:00:00Z", recordedAt: "2026-12-01T00:00:00Z")], validate: false)
                #expect(rejectedField {
                    _ = try writer.append([note(2, occurredAt: "2026-12-01T00:00:00Z", recordedAt: "9999-12-31T00:00:00Z")], validate: false)
                } == "recordedAt")
                #expect(rejectedField { _ = try writer.append([note(3, occurredAt: "2027-06-01T00:00:00Z")], validate: false) } == "occurredAt")
                // within the clock skew both are taken
                _ = try writer.append([note(4, occurredAt: "2026-12-04T12:04:00Z", recordedAt: "2026-12-04T12:04:00Z")], validate: false)
                // the clock is not frozen: the next append is recorded at the last recordedAt, not in 9999
                _ = try writer.append([note(5, occurredAt: "2026-12-04T11:00:00Z")], validate: false)
            }
            let events = try store.events()
            #expect(events.map(\.position) == [1, 2, 3])
            #expect(events.last?.recordedAt == Timestamp(rfc3339: "2026-12-04T12:04:00Z"))
        }
    }

    // MARK: - numbers

    /// `12345678901234567890` was stored as `1.2345678901234567e+19`: history silently changed.
    @Test func anIntegerBeyond64BitsIsRefusedNamingTheField() throws {
        for (data, field) in [
            (#"{"big":12345678901234567890}"#, "data.big"),
            (#"{"deep":{"list":[1,2,-92233720368547758090]}}"#, "data.deep.list[2]"),
        ] {
            let line = #"{"stream":"note-a","type":"NoteAdded","occurredAt":"2020-01-01T00:00:00Z","data":\#(data)}"#
            let rejection = try #require(throws: Rejection.self) { try EventCodec.decodeProposed(line: Array(line.utf8)) }
            #expect(rejection.field == field)
            #expect(rejection.reason.contains("64 bits"), "\(rejection.reason)")
        }
        // the extremes of Int64 are kept exactly
        let edge = try JSONParser.parse(#"[9223372036854775807,-9223372036854775808]"#)
        #expect(edge.canonicalString == "[9223372036854775807,-9223372036854775808]")
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse("9223372036854775808") }
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse("1e400") }
    }

    /// The canonical number text of docs/FORMAT.md ("Numbers"), value by value.
    @Test func numbersHaveExactlyOneCanonicalText() throws {
        let cases: [(String, String)] = [
            ("5", "5"), ("-5", "-5"), ("0", "0"), ("-0", "0"), ("5.0", "5"), ("-0.0", "0"), ("5e0", "5"),
            ("1E2", "100"), ("2.5", "2.5"), ("-2.5", "-2.5"), ("123.456", "123.456"), ("0.1", "0.1"),
            ("1e-7", "1e-7"), ("0.000001", "0.000001"), ("0.0000012", "0.0000012"), ("1.5e-10", "1.5e-10"),
            ("9007199254740991.0", "9007199254740991"), ("9007199254740992.0", "9.007199254740992e+15"),
            ("-9007199254740992.0", "-9.007199254740992e+15"), ("12345678901234567890.0", "1.2345678901234567e+19"),
            ("1e21", "1e+21"), ("1.5e300", "1.5e+300"), ("123456789012.5", "123456789012.5"),
            ("1234567890123456789012.5", "1.2345678901234568e+21"), ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"), ("0.30000000000000004", "0.30000000000000004"),
            ("100.0e-2", "1"), ("1.25e1", "12.5"), ("9007199254740993", "9007199254740993"),
        ]
        for (input, canonical) in cases {
            let value = try JSONParser.parse(input)
            #expect(value.canonicalString == canonical, "\(input)")
            // the canonical text reads back to itself (export -> import gives the same bytes)
            #expect(try JSONParser.parse(canonical).canonicalString == canonical, "\(canonical)")
            // and it is the same number
            #expect(Double(canonical) == Double(input), "\(input)")
        }
    }

    /// Against Python's json module (another language's reader): every canonical double text
    /// reads back there as the same float, and Python's shortest repr has the same digits.
    @Test func canonicalDoublesAgreeWithPython() throws {
        var x: UInt64 = 0x1234_5678_9ABC_DEF1
        var values: [Double] = [0.1, 1e-7, 123.456, 9007199254740992, 1e21, 5e-324, 1e22, 4.35, 1e16]
        for _ in 0..<400 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let d = Double(bitPattern: x)
            if d.isFinite { values.append(d) }
            values.append(Double(Int64(truncatingIfNeeded: x >> 20)) / 1000)
        }
        let texts = values.map { JSONValue.double($0).canonicalString }
        let python = """
            import json, sys
            for line in sys.stdin:
                text, bits = line.split()
                v = json.loads(text)
                assert float(v).hex() == float.fromhex(bits).hex(), (text, bits)
                digits = repr(abs(float(v))).split('e')[0].replace('.', '').strip('0')
                ours = text.lstrip('-').split('e')[0].replace('.', '').strip('0')
                assert isinstance(v, int) or digits == ours, (text, repr(float(v)))
            print("ok")
            """
        let input = zip(texts, values).map { "\($0) \($1.hexFloat)" }.joined(separator: "\n") + "\n"
        let result = try runPython(python, input: input)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.hasSuffix("ok\n"), "\(result.output)")
    }

    private func runPython(_ script: String, input: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}

extension Double {
    /// `float.hex()`'s spelling, so Python reads the exact bits back.
    fileprivate var hexFloat: String {
        if self == 0 { return sign == .minus ? "-0x0.0p+0" : "0x0.0p+0" }
        let sig = significandBitPattern
        let biased = Int(exponentBitPattern)
        let lead = biased == 0 ? 0 : 1
        let exp = biased == 0 ? -1022 : biased - 1023
        return (sign == .minus ? "-" : "") + "0x\(lead).\(String(sig, radix: 16).leftPadded(13))p\(exp >= 0 ? "+" : "")\(exp)"
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
