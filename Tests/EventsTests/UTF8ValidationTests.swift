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

    /// The AVX2 check works on 32-byte blocks and looks back up to three bytes into the block
    /// before: `bytes` is put at every offset around the first block boundary and near the end
    /// of inputs of 31 to 97 bytes of Cyrillic and ASCII, and the verdict of each of the three
    /// checks (AVX2, C without SIMD, the Swift loop) must be the standard library's.
    private func expectAgreesInLongInput(_ bytes: [UInt8], context: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        for offset in [0, 29, 30, 31, 32, 63] {
            for total in [offset + bytes.count, offset + bytes.count + 1, 97] where total >= offset + bytes.count {
                var input = Array(context.prefix(offset))
                input += bytes
                input += context.prefix(total - input.count)
                guard input.count == total else { continue }  // the context is too short at a sequence's edge
                let expected = reference(input)
                let verdicts = input.withUnsafeBufferPointer {
                    [UTF8Validation.isValid($0), UTF8Validation.isValidWithoutSIMD($0), UTF8Validation.isValidShort($0)]
                }
                if verdicts != [expected, expected, expected] {
                    Issue.record("\(bytes) at \(offset) of \(total): \(verdicts), expected \(expected)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    @Test func theBlockCheckAgreesAcrossBlockBoundaries() {
        // ASCII alone, and text whose two-byte sequences fall on either parity of a boundary
        let ascii = Array(String(repeating: "abcdefgh", count: 16).utf8)
        let cyrillic = Array(String(repeating: "Громада ", count: 12).utf8)
        let odd = Array((" " + String(repeating: "Громада ", count: 12)).utf8)
        #expect(ascii.withUnsafeBufferPointer(UTF8Validation.isValid))
        for context in [cyrillic, odd] {
            #expect(context.withUnsafeBufferPointer(UTF8Validation.isValid))
            for a in 0...255 {
                expectAgreesInLongInput([UInt8(a)], context: context)
                for b in stride(from: 0, through: 255, by: 7) { expectAgreesInLongInput([UInt8(a), UInt8(b)], context: context) }
            }
            let seconds: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
            for lead in 0xE0...0xFF {
                for second in seconds {
                    for third: UInt8 in [0x41, 0x80, 0xBF, 0xC0] {
                        expectAgreesInLongInput([UInt8(lead), second, third], context: context)
                        expectAgreesInLongInput([UInt8(lead), second, third, 0x80], context: context)
                        expectAgreesInLongInput([UInt8(lead), second, third, 0x41], context: context)
                    }
                }
            }
        }
    }

    @Test func longRandomTextAgrees() {
        var rng = SplitMix(seed: 2026)
        let pieces: [[UInt8]] = [
            Array("Славутицька міська рада ".utf8), Array("ʼ’😀".utf8), Array("plain ascii text ".utf8),
            Array("\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}\u{D7FF}\u{E000}".utf8),
            [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xC0, 0x80],
        ]
        var mismatches = 0
        for round in 0..<20_000 {
            var bytes: [UInt8] = []
            let valid = round % 2 == 0  // half the inputs are built of well-formed pieces alone
            for _ in 0..<Int(8 + rng.next() % 40) {
                let piece = pieces[Int(rng.next() % UInt64(valid ? 4 : pieces.count))]
                bytes += piece
            }
            if !valid, rng.next() % 3 == 0 { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
            let expected = reference(bytes)
            let verdicts = bytes.withUnsafeBufferPointer {
                [UTF8Validation.isValid($0), UTF8Validation.isValidWithoutSIMD($0), UTF8Validation.isValidShort($0)]
            }
            if verdicts != [expected, expected, expected] {
                mismatches += 1
                if mismatches < 5 { Issue.record("\(bytes): \(verdicts), expected \(expected)") }
            }
            if valid { #expect(expected, "a text of well-formed pieces only") }
        }
        #expect(mismatches == 0)
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
