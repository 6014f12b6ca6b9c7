import Events
import Foundation
import Projections
import Testing
import TestSupport

@testable import Rendering

/// `SortedJSONEncoder` writes what Foundation's `JSONEncoder` writes with sorted keys and
/// unescaped slashes: compared on every read model of the sample history and on the corners of
/// the format (escapes, numbers, nested and super encoders, special types, key order).
struct SortedJSONEncoderTests {
    static func foundation(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func ours(_ value: some Encodable) throws -> String {
        try SortedJSONEncoder().encodeToString(value)
    }

    static func expectSame(_ value: some Encodable, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try foundation(value)
        let actual = try ours(value)
        #expect(actual == expected, sourceLocation: sourceLocation)
    }

    @Test func everyReadModelOfTheSampleHistoryEncodesAsFoundationDoes() throws {
        try withTemporaryDirectory { dir in
            let store = try ProjectionStore(path: dir.appendingPathComponent("projections.sqlite").path)
            defer { try? store.close() }
            let source = try InMemoryEventSource(jsonLines: String(contentsOf: TestPaths.sampleHistory, encoding: .utf8))
            _ = try store.rebuild(source: source)
            let competitions = try store.competitions()
            try #require(!competitions.isEmpty)
            var documents = 0
            for competition in competitions {
                for kind in [nil, "urban", "settlement", "rural"] {
                    let boards = try store.leaderboards(competitionId: competition, kind: kind)
                    try Self.expectSame(boards)
                    for board in boards { try Self.expectSame(board) }
                    documents += boards.count + 1
                }
            }
            try Self.expectSame(store.regions())
            try Self.expectSame(store.network())
            try Self.expectSame(store.seminars())
            try Self.expectSame(store.status())
            for query in [nil, "бюджет", "громада участь", "молодь", "школа", "прозорість", "немає-такого-слова"] {
                for limit in [0, 5, 1000] {
                    try Self.expectSame(store.catalog(query: query, limit: limit))
                }
            }
            documents += 4 + 21
            #expect(documents > 30)
        }
    }

    @Test func stringsEscapeLikeFoundation() throws {
        var controls = ""
        for c in 0..<0x20 { controls.unicodeScalars.append(Unicode.Scalar(UInt8(c))) }
        try Self.expectSame([controls, "\"\\/", "ґєії «лапки» — тире", "\u{7F}\u{2028}\u{2029}", "😀 a\u{301}", ""])
        try Self.expectSame(["ключ/з\"лапкою\\": "значення\n"])
    }

    @Test func numbersPrintLikeFoundation() throws {
        let doubles: [Double] = [
            0, -0.0, 1, -1, 12, 12.5, 1.0 / 3, 2.0 / 3, 1e21, 1e22, 1e-7, 123_456_789_012_345_678, 5e-324,
            .greatestFiniteMagnitude, 0.1 + 0.2, 100, 1e16, 9_007_199_254_740_993,
        ]
        try Self.expectSame(doubles)
        try Self.expectSame([Float(0.1), 3e38, 1, -2.5])
        try Self.expectSame([Int.min, Int.max, 0, -1])
        try Self.expectSame([UInt64.max, 0])
        try Self.expectSame([Int8.min, Int8.max])
        try Self.expectSame([true, false])
        try Self.expectSame([Decimal(string: "12.345")!, Decimal(0)])
    }

    @Test func nonFiniteNumbersAreRefused() throws {
        #expect(throws: EncodingError.self) { try Self.ours([Double.nan]) }
        #expect(throws: EncodingError.self) { try Self.ours(["x": Double.infinity]) }
    }

    @Test func keysSortInStringOrderAndNilIsLeftOutOrNull() throws {
        try Self.expectSame(["aZ": 1, "ab": 2, "B": 3, "a": 4, "item10": 5, "item2": 6, "я": 7, "і": 8, "a_b": 9, "a1": 10])
        struct Optionals: Encodable {
            var present: String? = "так"
            var absent: String? = nil
            var list: [Int?] = [1, nil, 3]
        }
        try Self.expectSame(Optionals())
        try Self.expectSame([[String: Int]]())
        try Self.expectSame([String: [Int]]())
    }

    @Test func specialTypesEncodeAsFoundationDefaults() throws {
        struct Special: Encodable {
            var data = Data([0, 1, 2, 250, 251, 252])
            var url = URL(string: "https://example.org/a/b?c=d")!
            var date = Date(timeIntervalSinceReferenceDate: 1234.5)
            var uuid = UUID(uuidString: "6C5B4F4E-0000-4000-8000-000000000001")!
        }
        try Self.expectSame(Special())
        try Self.expectSame(Timestamp(rfc3339: "2021-03-01T10:00:00.123Z")!)
    }

    @Test func handWrittenEncodersWithNestedAndSuperContainers() throws {
        struct Custom: Encodable {
            enum Keys: String, CodingKey { case b, a, nested, list, parent }
            enum Inner: String, CodingKey { case z, y }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                var nested = c.nestedContainer(keyedBy: Inner.self, forKey: .nested)
                var list = c.nestedUnkeyedContainer(forKey: .list)
                try c.encode("later", forKey: .b)
                try nested.encode(1, forKey: .z)
                try list.encode("x")
                var deeper = list.nestedContainer(keyedBy: Inner.self)
                try deeper.encodeNil(forKey: .y)
                var inList = list.nestedUnkeyedContainer()
                try inList.encode(2.5)
                try nested.encode([1, 2], forKey: .y)
                try c.encode("first", forKey: .a)
                let parent = c.superEncoder(forKey: .parent)
                var single = parent.singleValueContainer()
                try single.encode("from super")
                let unnamed = c.superEncoder()
                var inSuper = unnamed.container(keyedBy: Inner.self)
                try inSuper.encode(true, forKey: .z)
                // A second request for the same container adds to it.
                var again = encoder.container(keyedBy: Keys.self)
                try again.encode(7, forKey: .b)
            }
        }
        try Self.expectSame(Custom())
        try Self.expectSame([Custom(), Custom()])
    }

    @Test func aTopLevelValueThatEncodesNothingIsRefused() throws {
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
        #expect(throws: EncodingError.self) { try Self.ours(Nothing()) }
        struct HoldsNothing: Encodable { var inner = Nothing() }
        try Self.expectSame(HoldsNothing())
    }
}
