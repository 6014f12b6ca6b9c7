/// A strict RFC 8259 parser from UTF-8 bytes to ``JSONValue``.
///
/// Foundation's `JSONSerialization` cannot tell `true` from `1` on Linux and drops the
/// difference between `5` and `5.0`; the canonical form that the hash chain covers needs both,
/// and the import path needs exact byte offsets in its errors. Duplicate keys are rejected
/// (their meaning is undefined in JSON, and a hash must not depend on which one wins).
public struct JSONParser {
    /// What went wrong, and where (a byte offset in the input).
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        /// Where in the document: the keys (and `[n]` array indices) from the outermost value
        /// down to the one that failed; empty when the failure is not inside a member.
        public var path: [String] = []

        public init(offset: Int, reason: String, path: [String] = []) {
            self.offset = offset
            self.reason = reason
            self.path = path
        }

        /// `data.council.size`, `data.criteria[2].maxPoints`.
        public var fieldPath: String {
            var out = ""
            for part in path {
                if !part.hasPrefix("["), !out.isEmpty { out += "." }
                out += part
            }
            return out
        }

        public var description: String {
            path.isEmpty
                ? "invalid JSON at byte \(offset + 1): \(reason)"
                : "invalid JSON at byte \(offset + 1), in \(fieldPath): \(reason)"
        }
    }

    /// Parses one complete JSON text (surrounding whitespace allowed).
    public static func parse(_ bytes: some Collection<UInt8>) throws(SyntaxError) -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer throws(SyntaxError) in
            try parse(buffer: buffer)
        }
    }

    /// Parses one complete JSON text from a string.
    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Parses one complete JSON text from raw memory, without copying it.
    public static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(SyntaxError) -> JSONValue {
        var parser = JSONParser(buffer: buffer)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != buffer.count {
            throw SyntaxError(offset: parser.index, reason: "unexpected data after the value")
        }
        return value
    }

    private let buffer: UnsafeBufferPointer<UInt8>
    private var index = 0
    private static let maxDepth = 256

    private init(buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

    private func fail(_ reason: String) -> SyntaxError { SyntaxError(offset: index, reason: reason) }

    private mutating func skipWhitespace() {
        while index < buffer.count {
            switch buffer[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(SyntaxError) -> JSONValue {
        guard index < buffer.count else { throw fail("unexpected end of input") }
        switch buffer[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= buffer.count else { throw fail("unexpected end of input") }
        let base = literal.utf8Start
        for offset in 0..<count where buffer[index + offset] != base[offset] {
            throw fail("invalid literal")
        }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(SyntaxError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        index += 1
        var members = [String: JSONValue](minimumCapacity: 8)
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < buffer.count, buffer[index] == UInt8(ascii: "\"") else { throw fail("expected a key string") }
            let keyOffset = index
            let key = try parseString()
            skipWhitespace()
            guard index < buffer.count, buffer[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            let value: JSONValue
            do {
                value = try parseValue(depth: depth)
            } catch {
                var located = error
                located.path.insert(key, at: 0)
                throw located
            }
            if members.updateValue(value, forKey: key) != nil {
                throw SyntaxError(offset: keyOffset, reason: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard index < buffer.count else { throw fail("unexpected end of input in an object") }
            if buffer[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if buffer[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws(SyntaxError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            do {
                elements.append(try parseValue(depth: depth))
            } catch {
                var located = error
                located.path.insert("[\(elements.count)]", at: 0)
                throw located
            }
            skipWhitespace()
            guard index < buffer.count else { throw fail("unexpected end of input in an array") }
            if buffer[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if buffer[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func parseString() throws(SyntaxError) -> String {
        index += 1  // the opening quote
        let start = index
        var hasEscapes = false
        while true {
            index = JSONScan.firstSpecial(buffer, from: index)
            guard index < buffer.count else { throw fail("unterminated string") }
            let byte = buffer[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw fail("control character in a string") }
            // a backslash (firstSpecial stops at nothing else): the escaped byte is skipped
            hasEscapes = true
            index += 2
        }
        let end = index
        index += 1  // the closing quote
        let raw = UnsafeBufferPointer(rebasing: buffer[start..<end])
        if !hasEscapes {
            guard let text = UTF8Validation.string(raw) else {
                throw SyntaxError(offset: start, reason: "invalid UTF-8 in a string")
            }
            return text
        }
        return try unescape(raw, base: start)
    }

    private func unescape(_ raw: UnsafeBufferPointer<UInt8>, base: Int) throws(SyntaxError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func hex4(_ at: Int) throws(SyntaxError) -> UInt32 {
            guard at + 4 <= raw.count else { throw SyntaxError(offset: base + at, reason: "short \\u escape") }
            var value: UInt32 = 0
            for k in 0..<4 {
                let c = raw[at + k]
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw SyntaxError(offset: base + at + k, reason: "invalid \\u escape")
                }
                value = value << 4 | digit
            }
            return value
        }
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            guard i + 1 < raw.count else { throw SyntaxError(offset: base + i, reason: "invalid escape") }
            let kind = raw[i + 1]
            i += 2
            switch kind {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") else {
                        throw SyntaxError(offset: base + i, reason: "unpaired surrogate")
                    }
                    let low = try hex4(i + 2)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw SyntaxError(offset: base + i, reason: "unpaired surrogate")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw SyntaxError(offset: base + i, reason: "unpaired surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else {
                    throw SyntaxError(offset: base + i, reason: "invalid code point")
                }
                out.append(contentsOf: UTF8.encode(unicode)!)
            default:
                throw SyntaxError(offset: base + i - 1, reason: "invalid escape")
            }
        }
        guard let text = out.withUnsafeBufferPointer(UTF8Validation.string) else {
            throw SyntaxError(offset: base, reason: "invalid UTF-8 in a string")
        }
        return text
    }

    private mutating func parseNumber() throws(SyntaxError) -> JSONValue {
        let start = index
        var isInteger = true
        if buffer[index] == UInt8(ascii: "-") { index += 1 }
        guard index < buffer.count, isDigit(buffer[index]) else { throw fail("invalid number") }
        if buffer[index] == UInt8(ascii: "0") {
            index += 1
            if index < buffer.count, isDigit(buffer[index]) { throw fail("leading zero in a number") }
        } else {
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < buffer.count, isDigit(buffer[index]) else { throw fail("invalid fraction") }
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: "e") || buffer[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < buffer.count, buffer[index] == UInt8(ascii: "+") || buffer[index] == UInt8(ascii: "-") { index += 1 }
            guard index < buffer.count, isDigit(buffer[index]) else { throw fail("invalid exponent") }
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<index]), as: UTF8.self)
        if isInteger {
            // An integer is kept exactly or refused: rounding it into a double would change
            // history (12345678901234567890 would become 12345678901234567000).
            guard let value = Int64(text) else {
                throw SyntaxError(
                    offset: start,
                    reason: "the integer \(text.prefix(40)) does not fit in 64 bits (-9223372036854775808...9223372036854775807); write it as a string to keep every digit")
            }
            return .int(value)
        }
        guard let value = Double(text), value.isFinite else {
            throw SyntaxError(offset: start, reason: "the number \(text.prefix(40)) is beyond the range of a 64-bit float")
        }
        return .double(value)
    }

    @inline(__always) private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
