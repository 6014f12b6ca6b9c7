/// Finds the bytes a JSON string must escape (a control byte below 0x20, `"` and `\`), eight
/// bytes at a time: the parser's and the canonical writer's scans of string contents, which are
/// most of every line's bytes (practice bodies, names, addresses).
enum JSONScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first byte at or after `start` that is below 0x20, `"` or `\`, or
    /// `bytes.count` when none is.
    @inline(__always)
    static func firstSpecial(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        let count = bytes.count
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= count {
                let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                // The lowest marked byte is exact in each test (borrows only mark bytes above it);
                // bytes of 0x80 and up are never marked (`& ~w`), so UTF-8 sequences pass.
                let control = (w &- ones &* 0x20) & ~w & highs
                let quote = ((w ^ (ones &* 0x22)) &- ones) & ~(w ^ (ones &* 0x22)) & highs
                let backslash = ((w ^ (ones &* 0x5C)) &- ones) & ~(w ^ (ones &* 0x5C)) & highs
                let found = control | quote | backslash
                if found != 0 { return i + found.trailingZeroBitCount >> 3 }
                i += 8
            }
        }
        while i < count {
            let b = bytes[i]
            if b < 0x20 || b == 0x22 || b == 0x5C { return i }
            i += 1
        }
        return count
    }
}
