/// The canonical encoding: compact, object keys sorted by their UTF-8 bytes, strings with the
/// fewest escapes (`"`, `\`, and control characters only), integers exactly, other numbers as
/// integers when they are whole and below 2^53, otherwise in the shortest form that reads back
/// as the same double, in the notation ``writeDouble(_:into:)`` defines.
/// Encoding a value parsed from a canonical text gives back exactly that text.
extension JSONValue {
    /// The canonical bytes of this value.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        writeCanonical(into: &out)
        return out
    }

    /// The canonical text of this value.
    public var canonicalString: String { String(decoding: canonicalBytes, as: UTF8.self) }

    /// Appends the canonical bytes of this value to `out`.
    public func writeCanonical(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): JSONValue.writeDouble(d, into: &out)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (n, element) in elements.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                element.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            JSONValue.writeObject(members, into: &out)
        }
    }

    /// Appends an object's canonical bytes (keys sorted by UTF-8 bytes).
    public static func writeObject(_ members: [String: JSONValue], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        // the members sorted as pairs: no second lookup of each key (hashing it again)
        let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        for (n, member) in sorted.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            writeString(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            member.value.writeCanonical(into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Appends a number that had a fraction or an exponent (docs/FORMAT.md, "Numbers"):
    ///
    /// - whole and below 2^53 in magnitude: the integer's decimal digits (`5.0` is `5`, `-0.0` is `0`);
    /// - otherwise the shortest digits d1…dk that read back as the same double (as JavaScript's
    ///   `Number.prototype.toString` and Python's `repr` choose them), with the decimal exponent
    ///   n such that the value is 0.d1…dk × 10^n, written as
    ///   - `d1…dn.dn+1…dk` when 0 < n <= 21 and the value is not whole,
    ///   - `0.` then -n zeros then `d1…dk` when -6 < n <= 0,
    ///   - else `d1` [`.d2…dk`] `e` sign (n-1) (`1.2345678901234567e+19`, `9.007199254740992e+15`, `1e-7`),
    ///   preceded by `-` for a negative value.
    ///
    /// This is JSON.stringify's form (RFC 8785) except for whole values of 2^53 and above, which
    /// take the exponent form so that they read back as fractions, not as integers the store
    /// would refuse (beyond 64 bits) or take exactly (a different value).
    static func writeDouble(_ d: Double, into out: inout [UInt8]) {
        if d.rounded() == d, abs(d) < 9_007_199_254_740_992 {
            out.append(contentsOf: String(Int64(d)).utf8)
            return
        }
        let (digits, n) = shortestDigits(abs(d))
        if d < 0 { out.append(UInt8(ascii: "-")) }
        let k = digits.count
        let whole = d.rounded() == d
        if !whole, n > 0, n <= 21 {
            if n >= k {  // cannot happen for a value that is not whole; kept for completeness
                out.append(contentsOf: digits)
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
            } else {
                out.append(contentsOf: digits[0..<n])
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[n...])
            }
        } else if !whole, n <= 0, n > -6 {
            out.append(contentsOf: "0.".utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            out.append(contentsOf: digits)
        } else {
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(UInt8(ascii: n - 1 < 0 ? "-" : "+"))
            out.append(contentsOf: String(abs(n - 1)).utf8)
        }
    }

    /// The shortest round-trip decimal digits of a positive finite double (no leading or
    /// trailing zeros) and n with value = 0.d1…dk × 10^n, read off Swift's `description`,
    /// which prints the shortest digits that round-trip (the closest such, as Python and
    /// JavaScript do) in either plain or exponent notation.
    static func shortestDigits(_ d: Double) -> (digits: [UInt8], n: Int) {
        let text = Array(d.description.utf8)
        var mantissa = text[...]
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            mantissa = text[..<e]
            exponent = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) ?? 0
        }
        var digits: [UInt8] = []
        var pointAfter = 0
        var seenPoint = false
        for byte in mantissa {
            if byte == UInt8(ascii: ".") {
                seenPoint = true
                continue
            }
            digits.append(byte)
            if !seenPoint { pointAfter += 1 }
        }
        var n = pointAfter + exponent
        while digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            n -= 1
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return (digits.isEmpty ? [UInt8(ascii: "0")] : digits, n)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends a JSON string literal with the fewest escapes.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var runStart = 0
            while true {
                let i = JSONScan.firstSpecial(bytes, from: runStart)
                guard i < bytes.count else { break }
                let byte = bytes[i]
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                runStart = i + 1
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
