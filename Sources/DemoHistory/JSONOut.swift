/// A small streaming JSON writer into a reusable byte buffer. Keys are ASCII literals; text
/// values are UTF-8 bytes escaped per RFC 8259 (quote, backslash, control characters).
struct JSONOut {
    var bytes: [UInt8] = []
    private var comma = false

    init() { bytes.reserveCapacity(1 << 16) }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        comma = false
    }

    @inline(__always) mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always) private mutating func sep() {
        if comma { bytes.append(0x2C) }
    }

    mutating func key(_ k: StaticString) {
        sep()
        bytes.append(0x22)
        raw(k)
        bytes.append(0x22)
        bytes.append(0x3A)
        comma = false
    }

    mutating func openObject() {
        sep()
        bytes.append(0x7B)
        comma = false
    }

    mutating func closeObject() {
        bytes.append(0x7D)
        comma = true
    }

    mutating func openArray() {
        sep()
        bytes.append(0x5B)
        comma = false
    }

    mutating func closeArray() {
        bytes.append(0x5D)
        comma = true
    }

    mutating func int(_ v: Int) {
        sep()
        JSONOut.appendInt(v, into: &bytes)
        comma = true
    }

    /// An ASCII literal known to need no escaping.
    mutating func string(_ s: StaticString) {
        sep()
        bytes.append(0x22)
        raw(s)
        bytes.append(0x22)
        comma = true
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(bytes: $0) }
    }

    mutating func string(_ b: [UInt8]) {
        b.withUnsafeBufferPointer { string(bytes: $0) }
    }

    mutating func string(bytes b: UnsafeBufferPointer<UInt8>) {
        sep()
        bytes.append(0x22)
        JSONOut.appendEscaped(b, into: &bytes)
        bytes.append(0x22)
        comma = true
    }

    /// Opens a string whose content the caller appends raw (ids, dates: ASCII only).
    mutating func beginString() {
        sep()
        bytes.append(0x22)
    }

    mutating func endString() {
        bytes.append(0x22)
        comma = true
    }

    mutating func timestamp(_ seconds: Int64) {
        beginString()
        Civil.writeTimestamp(seconds, into: &bytes)
        endString()
    }

    mutating func date(days: Int) {
        beginString()
        Civil.writeDate(days: days, into: &bytes)
        endString()
    }

    static func appendInt(_ v: Int, into out: inout [UInt8]) {
        if v < 0 {
            out.append(0x2D)
            appendInt(-v, into: &out)
            return
        }
        if v < 10 {
            out.append(UInt8(48 + v))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = v
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            while n > 0 {
                buf[count] = UInt8(48 + n % 10)
                n /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(buf[i]) }
        }
    }

    /// Zero-padded decimal.
    static func appendPadded(_ v: Int, width: Int, into out: inout [UInt8]) {
        var div = 1
        for _ in 1..<max(width, 1) { div *= 10 }
        var n = v
        if n >= div * 10 {
            appendInt(v, into: &out)
            return
        }
        while div > 0 {
            out.append(UInt8(48 + (n / div) % 10))
            n %= div
            div /= 10
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendEscaped(_ b: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var runStart = 0
        for i in 0..<b.count {
            let c = b[i]
            guard c < 0x20 || c == 0x22 || c == 0x5C else { continue }
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i])) }
            runStart = i + 1
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            default:
                out.append(0x5C); out.append(UInt8(ascii: "u")); out.append(0x30); out.append(0x30)
                out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 0xF)])
            }
        }
        if runStart < b.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<b.count])) }
    }

    /// A random version-4 UUID from the generator, lowercase.
    static func appendUUID(_ rng: inout Xoshiro256, into out: inout [UInt8]) {
        var hi = rng.next()
        var lo = rng.next()
        hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        for i in 0..<16 {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(0x2D) }
            let byte = i < 8 ? UInt8((hi >> UInt64(56 - 8 * i)) & 0xFF) : UInt8((lo >> UInt64(56 - 8 * (i - 8))) & 0xFF)
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
    }
}
