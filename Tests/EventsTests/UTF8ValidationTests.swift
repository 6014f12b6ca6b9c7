import Testing

@testable import Events

/// The parser's and verify's UTF-8 check must accept exactly what the standard library's
/// `String(validating:as:)` accepts (it replaced it for speed, see ``UTF8Validation``).
@Suite struct UTF8ValidationTests {
    /// The standard library's verdict, the reference.
    private func reference(_ bytes: [UInt8]) -> Bool { String(validating: bytes, as: UTF8.self) != nil }
    private func checked(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer(UTF8Validation.isValid) }

    /// `bytes` alone, behind 13 ASCII bytes (past the 8-byte word loop) and followed by ASCII.
    private func expectAgrees(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let padded = Array("abcdefghijklm".utf8)
        for candidate in [bytes, padded + bytes, bytes + padded, padded + bytes + padded] {
            // a plain comparison: #expect's bookkeeping on millions of passing cases costs minutes
            if checked(candidate) != reference(candidate) {
                Issue.record("\(candidate): the check says \(checked(candidate))", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func everyOneAndTwoByteSequenceAgrees() {
        for a in 0...255 {
            expectAgrees([UInt8(a)])
            for b in 0...255 { expectAgrees([UInt8(a), UInt8(b)]) }
        }
    }

    @Test func threeAndFourByteLeadsAgreeOnEverySecondByte() {
        let tails: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
        for lead in 0xE0...0xFF {
            for second in 0...255 {
                for third in tails {
                    expectAgrees([UInt8(lead), UInt8(second), third])
                    for fourth in tails { expectAgrees([UInt8(lead), UInt8(second), third, fourth]) }
                }
            }
        }
    }

    @Test func theBoundariesOfTheTable() {
        // well-formed: the first and last scalar of each length, around the surrogates
        for scalar in ["\u{0}", "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}"] {
            #expect(checked(Array(scalar.utf8)))
        }
        // ill-formed: overlong forms, a surrogate, beyond U+10FFFF, truncated, a lone continuation
        for bytes: [UInt8] in [[0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xF0, 0x8F, 0xBF, 0xBF],
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xD0], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0x80]]
        {
            #expect(!checked(bytes), "\(bytes)")
        }
    }

    @Test func randomTextAgrees() {
        var rng = SplitMix(seed: 2020)
        let pieces: [[UInt8]] = [
            Array("Славутицька міська рада".utf8), Array("ʼ’😀".utf8), Array("plain ascii text".utf8),
            [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80, 0x80],
        ]
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(rng.next() % 6) {
                if rng.next() % 4 == 0 {
                    bytes.append(UInt8(truncatingIfNeeded: rng.next()))
                } else {
                    bytes += pieces[Int(rng.next() % UInt64(pieces.count))]
                }
            }
            expectAgrees(bytes)
        }
    }

    @Test func theParserRefusesAStringThatIsNotUTF8AndKeepsOneThatIs() throws {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse([0x22, 0x61, 0xED, 0xA0, 0x80, 0x22]) }
        do {
            _ = try JSONParser.parse(Array(#"{"name":"x"#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8))
            Issue.record("an overlong form was accepted")
        } catch {
            #expect(error.reason == "invalid UTF-8 in a string")
            #expect(error.fieldPath == "name")
        }
        #expect(try JSONParser.parse(#""Пирятинська 😀""#) == .string("Пирятинська 😀"))
        #expect(try JSONParser.parse(#""Пиря\ntинська""#) == .string("Пиря\ntинська"))
    }
}
