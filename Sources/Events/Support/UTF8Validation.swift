import CUTF8

/// Well-formed UTF-8 (RFC 3629, the Unicode standard's table 3-7): no overlong forms, no
/// surrogates (U+D800...U+DFFF), nothing above U+10FFFF, no truncated sequence.
///
/// Why not `String(validating:as:)`: on Linux that generic initialiser looks up generic
/// metadata on every call. Callgrind on a 5,000-event import showed about 1,150 instructions a
/// call before the first byte is read, about 37,000 instructions an event (12% of the import)
/// for the parser's ~32 strings an event; verify paid it once a line. This check runs over
/// 8-byte words while the bytes are ASCII (most of an event's keys and values) and decodes a
/// multi-byte sequence only where one starts.
///
/// From 32 bytes on (a frame's body, a long text) the check is the C one of `CUTF8`: AVX2 blocks
/// of 32 bytes (Keiser and Lemire's lookup algorithm). On verify of a 200,000-event generated
/// history (Ukrainian text, where the ASCII words are short) the check went from 24.6% to 3.9%
/// of perf's samples.
enum UTF8Validation {
    /// Whether `bytes` are well-formed UTF-8.
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        if bytes.count >= 32 { return hromada_utf8_valid(base, bytes.count) != 0 }
        return isValidShort(bytes)
    }

    /// The C check without AVX2 (what a CPU without it runs; tests compare it with the others).
    static func isValidWithoutSIMD(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        return hromada_utf8_valid_scalar(base, bytes.count) != 0
    }

    /// The Swift loop alone (what a short string takes; tests compare it with the C check).
    static func isValidShort(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            while i + 8 <= count,
                UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                i += 8
            }
            guard i < count else { return true }
            let lead = base[i]
            switch lead {
            case 0x00...0x7F:
                i += 1
            case 0xC2...0xDF:
                guard i + 1 < count, isContinuation(base[i + 1]) else { return false }
                i += 2
            case 0xE0...0xEF:
                // E0: no overlong form (second byte A0...BF); ED: no surrogate (80...9F)
                let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
                guard i + 2 < count, (low...high).contains(base[i + 1]), isContinuation(base[i + 2]) else { return false }
                i += 3
            case 0xF0...0xF4:
                // F0: no overlong form (90...BF); F4: nothing above U+10FFFF (80...8F)
                let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
                guard i + 3 < count, (low...high).contains(base[i + 1]), isContinuation(base[i + 2]),
                    isContinuation(base[i + 3])
                else { return false }
                i += 4
            default:  // a continuation byte without a lead, C0/C1 (overlong), F5...FF
                return false
            }
        }
        return true
    }

    /// The string of `bytes` when they are well-formed UTF-8, else nil.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        isValid(bytes) ? String(decoding: bytes, as: UTF8.self) : nil
    }

    @inline(__always) private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
}
