import Foundation
import Testing

@testable import Events

/// The eight-bytes-at-a-time scan for the bytes a JSON string escapes must find exactly what a
/// byte-by-byte scan finds: every byte value at every offset of a word, after runs of ASCII and
/// of UTF-8 (bytes of 0x80 and up, which borrow tricks could mistake).
@Suite struct JSONScanTests {
    static func naive(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start
        while i < bytes.count {
            if bytes[i] < 0x20 || bytes[i] == 0x22 || bytes[i] == 0x5C { return i }
            i += 1
        }
        return max(bytes.count, start)
    }

    static func scan(_ bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { JSONScan.firstSpecial($0, from: start) }
    }

    @Test func everyByteValueAtEveryOffsetIsJudgedAsByteByByte() {
        for filler: UInt8 in [0x41, 0x80, 0xD0, 0xFF, 0x21, 0x23, 0x5B, 0x5D, 0x1F + 1] {
            for length in 1...24 {
                for at in 0..<length {
                    for value in 0...255 {
                        var bytes = [UInt8](repeating: filler, count: length)
                        bytes[at] = UInt8(value)
                        let expected = Self.naive(bytes, from: 0)
                        if Self.scan(bytes, from: 0) != expected {
                            Issue.record("filler \(filler), length \(length), byte \(value) at \(at): \(Self.scan(bytes, from: 0)) != \(expected)")
                            return
                        }
                    }
                }
            }
        }
    }

    @Test func randomTextsAndStartsAgree() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя Кращі практики 2026".utf8) + [0x22, 0x5C, 0x0A, 0x01, 0x7F]
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...70, using: &rng)
            let bytes = (0..<length).map { _ in Int.random(in: 0..<20, using: &rng) == 0 ? alphabet.last(where: { $0 < 0x80 && ($0 < 0x20 || $0 == 0x22 || $0 == 0x5C) })! : alphabet.randomElement(using: &rng)! }
            let start = Int.random(in: 0...max(0, length), using: &rng)
            #expect(Self.scan(bytes, from: start) == Self.naive(bytes, from: start), "\(bytes) from \(start)")
        }
    }
}

/// Canonical objects sort their keys by UTF-8 bytes (a prefix before what extends it).
@Suite struct CanonicalKeyOrderTests {
    @Test func keysSortByTheirUTF8Bytes() {
        let keys = ["b", "a", "ab", "", "Z", "é", "e", "я", "є", "a\u{0301}", "aa", "\u{1F600}", "~"]
        var object: [String: JSONValue] = [:]
        for (n, k) in keys.enumerated() { object[k] = .int(Int64(n)) }
        var out: [UInt8] = []
        JSONValue.writeObject(object, into: &out)
        let expected = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var manual: [UInt8] = [UInt8(ascii: "{")]
        for (n, k) in expected.enumerated() {
            if n > 0 { manual.append(UInt8(ascii: ",")) }
            JSONValue.writeString(k, into: &manual)
            manual.append(UInt8(ascii: ":"))
            manual += Array(String(keys.firstIndex(of: k)!).utf8)
        }
        manual.append(UInt8(ascii: "}"))
        #expect(String(decoding: out, as: UTF8.self) == String(decoding: manual, as: UTF8.self))
    }
}
