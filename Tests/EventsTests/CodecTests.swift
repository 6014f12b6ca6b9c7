import Foundation
import Testing
import TestSupport

@testable import Events

/// The stored line is written two ways: from parts encoded ahead on the import's parsing thread,
/// and from the fields directly (single appends). Both must give the same bytes and hash.
@Suite struct CodecTests {
    @Test func preEncodedPartsGiveTheSameLineAsTheFields() throws {
        var events = try Sample.lines().map { try EventCodec.decodeProposed(line: $0) }
        // awkward text: quotes, backslashes, control characters, apostrophes, non-BMP
        events.append(
            ProposedEvent(
                id: UUID(), stream: "community-\"q\\uote\"-ʼ’'", type: "CommunityRegistered",
                occurredAt: Fixtures.timestamp("1969-12-31T23:59:59.999Z"),
                data: ["name": .string("Мереф’янська\n\t\u{01}😀"), "n": .int(-5)], metadata: ["actor": .string("a/b")]))
        var previous: [UInt8]? = nil
        for (n, var event) in events.enumerated() {
            let id = event.id ?? UUID()
            let recordedAt = Timestamp(milliseconds: 1_600_000_000_000 + Int64(n) * 1_001)
            var direct: [UInt8] = []
            let h1 = EventCodec.encodeLine(
                position: Int64(n + 1), id: id, stream: event.stream, version: Int64(n % 7), type: event.type,
                occurredAt: event.occurredAt, recordedAt: recordedAt, data: event.data, metadata: event.metadata,
                previousHash: previous, into: &direct)
            event.encodePayload(checkPayload: false)
            var viaParts: [UInt8] = []
            let h2 = EventCodec.encodeLine(
                position: Int64(n + 1), id: id, stream: event.stream, version: Int64(n % 7), type: event.type,
                occurredAt: event.occurredAt, recordedAt: recordedAt, data: event.data, metadata: event.metadata,
                encoded: event.encodedPayload, previousHash: previous, into: &viaParts)
            #expect(direct == viaParts, "event \(n + 1): \(String(decoding: direct, as: UTF8.self))")
            #expect(h1 == h2)
            // the line is valid JSON that reads back to the same fields
            let back = try JSONParser.parse(direct.dropLast())
            guard case .object(let o) = back else { Issue.record("not an object"); return }
            #expect(o["stream"]?.stringValue == event.stream)
            #expect(o["recordedAt"]?.stringValue == recordedAt.rfc3339)
            #expect(o["occurredAt"]?.stringValue == event.occurredAt.rfc3339)
            #expect(o["id"]?.stringValue == id.uuidString.lowercased())
            previous = h1
        }
    }

    @Test func uuidsParseAsFoundationParsesThem() {
        let good = [
            "6f1c2a3b-0000-4000-8000-00000000000a", "6F1C2A3B-ABCD-4EF0-8000-FFFFFFFFFFFF", UUID().uuidString,
            UUID().uuidString.lowercased(),
        ]
        for text in good {
            #expect(EventCodec.parseUUID(text) == UUID(uuidString: text), "\(text)")
            #expect(EventCodec.parseUUID(text) != nil)
        }
        let bad = [
            "", "6f1c2a3b00004000800000000000000a", "6f1c2a3b-0000-4000-8000-00000000000", "6f1c2a3b-0000-4000-8000-00000000000g",
            "6f1c2a3b-0000-4000-8000-00000000000a ", "{6f1c2a3b-0000-4000-8000-00000000000a}", "6f1c2a3b_0000-4000-8000-00000000000a",
        ]
        for text in bad {
            #expect(EventCodec.parseUUID(text) == nil, "\(text)")
            #expect(UUID(uuidString: text) == nil, "\(text)")
        }
        var out: [UInt8] = []
        let id = UUID()
        EventCodec.appendUUID(id, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == id.uuidString.lowercased())
    }

    @Test func timestampsWriteTheirCanonicalText() {
        for text in ["1970-01-01T00:00:00Z", "2020-08-25T10:00:00Z", "2020-08-25T10:00:00.007Z", "1969-12-31T23:59:59.999Z", "9999-12-31T23:59:59.5Z"] {
            let t = Fixtures.timestamp(text)
            let expected = text.hasSuffix(".5Z") ? "9999-12-31T23:59:59.500Z" : text
            #expect(t.rfc3339 == expected)
            #expect(Timestamp(rfc3339: t.rfc3339) == t)
        }
    }
}

@Suite struct DomainStateEncodingTests {
    @Test func theDirectEncodingReadsBackAsTheCodableOne() throws {
        let state = try Fixtures.sampleState()
        #expect(state.submissionCount > 0 && state.communityCount > 0)
        let direct = state.encodedJSON()
        let decoded = try JSONDecoder().decode(DomainState.self, from: Data(direct))
        #expect(decoded == state)
        // the same JSON as Foundation's encoder gives, up to key order and the set's order
        func normalized(_ value: JSONValue) -> JSONValue {
            guard case .object(var o) = value, case .array(let seminars)? = o["seminars"] else { return value }
            o["seminars"] = .array(seminars.sorted { ($0.stringValue ?? "") < ($1.stringValue ?? "") })
            return .object(o)
        }
        let viaFoundation = try JSONParser.parse(try JSONEncoder().encode(state))
        #expect(normalized(try JSONParser.parse(direct)) == normalized(viaFoundation))
        #expect(DomainState().encodedJSON() == Array(#"{"competitions":{},"submissions":{},"communities":{},"seminars":[],"practices":{}}"#.utf8))
    }

    @Test func theSavedStateReadsBackWithoutJSONDecoder() throws {
        let state = try Fixtures.sampleState()
        let direct = state.encodedJSON()
        #expect(try DomainState(savedJSON: direct) == state)
        #expect(try DomainState(savedJSON: DomainState().encodedJSON()) == DomainState())
        // What Foundation's encoder writes (keys in another order) reads the same: the reader
        // does not depend on the order of the keys.
        #expect(try DomainState(savedJSON: Array(try JSONEncoder().encode(state))) == state)
        // Escapes and spaces.
        let escaped = #"{ "competitions" : {}, "submissions": {"s\"1\u0456\ud83d\ude00": {"c": "c\\1", "t": "1", "w": true, "j": ["a\/b", "\n"]}}, "communities": {"x": false}, "seminars": ["q"], "practices": {} }"#
        let read = try DomainState(savedJSON: Array(escaped.utf8))
        #expect(read.isWithdrawn(submission: "s\"1і😀"))
        #expect(read.currentJurors(submission: "s\"1і😀") == ["a/b", "\n"])
        #expect(read.isRegistered(community: "x") && !read.isNetworkMember(community: "x"))
    }

    @Test func aDamagedSavedStateIsRefusedNotHalfRead() throws {
        let good = try Fixtures.sampleState().encodedJSON()
        for bad in [
            Array(good.dropLast()), good + Array(" x".utf8), Array(good.prefix(good.count / 2)),
            Array(#"{"competitions":{},"submissions":{},"communities":{},"seminars":[]}"#.utf8),
            Array(#"{"competitions":{},"submissions":{},"communities":{},"seminars":[],"practices":{},"extra":1}"#.utf8),
            Array(#"{"competitions":{},"submissions":{"s":{"c":"x","t":"1","w":1,"j":[]}},"communities":{},"seminars":[],"practices":{}}"#.utf8),
            Array(#"{"competitions":{},"submissions":{},"communities":{"\ud800":true},"seminars":[],"practices":{}}"#.utf8),
            [0xFF], [],
        ] {
            #expect(throws: DomainState.SavedStateError.self) { try DomainState(savedJSON: bad) }
        }
    }
}
