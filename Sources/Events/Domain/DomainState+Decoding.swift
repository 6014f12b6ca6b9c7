/// Reading a saved state (``DomainState/encodedJSON()``) back, straight from the bytes.
///
/// Every writer opens with the saved state, so it is on the path of every `admin append` and
/// every append over HTTP. `JSONDecoder` took about 0.4 s for the state of 450,000 events
/// (a tree of boxed values first, then a `Codable` walk over it); this reads the one shape the
/// state has, in one pass. Keys may come in any order; an unknown key, a missing one, a wrong
/// type or trailing bytes make it throw, and the writer then folds the state from the log
/// instead (the saved state is only a cache of it).
extension DomainState {
    public struct SavedStateError: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "saved domain state: \(reason) at byte \(offset)" }
    }

    /// The state `encodedJSON()` wrote.
    /// - Throws: ``SavedStateError`` when the bytes are not such a state.
    public init(savedJSON bytes: [UInt8]) throws {
        self.init()
        var c = SavedStateCursor(bytes: bytes)
        var seen = Set<String>()
        try c.object { key, c in
            guard seen.insert(key).inserted else { throw c.error("the key \"\(key)\" is given twice") }
            switch key {
            case "competitions":
                try c.object { id, c in competitions[id] = try Self.competition(&c) }
            case "submissions":
                try c.object { id, c in submissions[id] = try Self.submission(&c) }
            case "communities":
                try c.object { id, c in communities[id] = try c.bool() }
            case "seminars":
                seminars = Set(try c.strings())
            case "practices":
                try c.object { id, c in practices[id] = try c.bool() }
            default:
                throw c.error("unknown key \"\(key)\"")
            }
        }
        try c.end()
        guard seen.count == 5 else { throw c.error("keys missing: \(Set(["competitions", "submissions", "communities", "seminars", "practices"]).subtracting(seen).sorted())") }
    }

    private static func competition(_ c: inout SavedStateCursor) throws -> Competition {
        var themes: [String]?
        var criteria: [Criterion]?
        var deadlineDay: Int?
        var closedThemes: [String]?
        try c.object { key, c in
            switch key {
            case "themes": themes = try c.strings()
            case "closedThemes": closedThemes = try c.strings()
            case "deadlineDay": deadlineDay = Int(try c.integer())
            case "criteria":
                var list: [Criterion] = []
                try c.array { c in
                    var code: String?
                    var maxPoints: Int64?
                    try c.object { key, c in
                        switch key {
                        case "code": code = try c.string()
                        case "maxPoints": maxPoints = try c.integer()
                        default: throw c.error("unknown key \"\(key)\" in a criterion")
                        }
                    }
                    guard let code, let maxPoints else { throw c.error("a criterion without code or maxPoints") }
                    list.append(Criterion(code: code, maxPoints: maxPoints))
                }
                criteria = list
            default: throw c.error("unknown key \"\(key)\" in a competition")
            }
        }
        guard let themes, let criteria, let deadlineDay, let closedThemes else { throw c.error("a competition with keys missing") }
        return Competition(themes: themes, criteria: criteria, deadlineDay: deadlineDay, closedThemes: closedThemes)
    }

    private static func submission(_ c: inout SavedStateCursor) throws -> Submission {
        var competitionId: String?
        var themeCode: String?
        var withdrawn: Bool?
        var jurors: [String]?
        try c.object { key, c in
            switch key {
            case Submission.CodingKeys.competitionId.rawValue: competitionId = try c.string()
            case Submission.CodingKeys.themeCode.rawValue: themeCode = try c.string()
            case Submission.CodingKeys.withdrawn.rawValue: withdrawn = try c.bool()
            case Submission.CodingKeys.jurors.rawValue: jurors = try c.strings()
            default: throw c.error("unknown key \"\(key)\" in a submission")
            }
        }
        guard let competitionId, let themeCode, let withdrawn, let jurors else { throw c.error("a submission with keys missing") }
        return Submission(competitionId: competitionId, themeCode: themeCode, withdrawn: withdrawn, jurors: jurors)
    }
}

/// A reader of the JSON `encodedJSON()` writes: no whitespace is needed, but spaces between
/// tokens are accepted; strings with every JSON escape.
struct SavedStateCursor {
    let bytes: [UInt8]
    var at = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ reason: String) -> DomainState.SavedStateError {
        DomainState.SavedStateError(offset: at, reason: reason)
    }

    mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    mutating func expect(_ byte: UInt8) throws {
        guard take(byte) else { throw error("expected \"\(Character(Unicode.Scalar(byte)))\"") }
    }

    /// `{ "key": value, ... }`, `member` reading each value.
    mutating func object(_ member: (String, inout SavedStateCursor) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if take(UInt8(ascii: "}")) { return }
        repeat {
            let key = try string()
            try expect(UInt8(ascii: ":"))
            try member(key, &self)
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    mutating func array(_ element: (inout SavedStateCursor) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if take(UInt8(ascii: "]")) { return }
        repeat { try element(&self) } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
    }

    mutating func strings() throws -> [String] {
        var list: [String] = []
        try array { list.append(try $0.string()) }
        return list
    }

    mutating func bool() throws -> Bool {
        skipSpace()
        if bytes[at...].starts(with: "true".utf8) {
            at += 4
            return true
        }
        if bytes[at...].starts(with: "false".utf8) {
            at += 5
            return false
        }
        throw error("expected true or false")
    }

    mutating func integer() throws -> Int64 {
        skipSpace()
        let negative = at < bytes.count && bytes[at] == UInt8(ascii: "-")
        if negative { at += 1 }
        let start = at
        var value: Int64 = 0
        while at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(bytes[at] - 0x30))
            guard !o1, !o2 else { throw error("an integer out of range") }
            value = s
            at += 1
        }
        guard at > start else { throw error("expected an integer") }
        return negative ? -value : value
    }

    mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = at
        // The common case: no escapes.
        while at < bytes.count, bytes[at] != UInt8(ascii: "\""), bytes[at] != UInt8(ascii: "\\"), bytes[at] >= 0x20 { at += 1 }
        guard at < bytes.count else { throw error("an unterminated string") }
        if bytes[at] == UInt8(ascii: "\"") {
            defer { at += 1 }
            return try validated(bytes[start..<at])
        }
        var out = Array(bytes[start..<at])
        while true {
            guard at < bytes.count else { throw error("an unterminated string") }
            let b = bytes[at]
            at += 1
            switch b {
            case UInt8(ascii: "\""):
                return try validated(out[...])
            case UInt8(ascii: "\\"):
                guard at < bytes.count else { throw error("an unterminated string") }
                let e = bytes[at]
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes[at...].starts(with: "\\u".utf8) else { throw error("a lone surrogate") }
                        at += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("an invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw error("an invalid escape")
                }
            default:
                guard b >= 0x20 else { throw error("a control character in a string") }
                out.append(b)
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard at + 4 <= bytes.count else { throw error("a short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[at]
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x61...0x66: d = b - 0x61 + 10
            case 0x41...0x46: d = b - 0x41 + 10
            default: throw error("an invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            at += 1
        }
        return v
    }

    private func validated(_ utf8: ArraySlice<UInt8>) throws -> String {
        // Ids are ASCII as a rule: those need no further check.
        if utf8.allSatisfy({ $0 < 0x80 }) { return String(decoding: utf8, as: UTF8.self) }
        guard let s = String(validating: utf8, as: UTF8.self) else { throw error("a string that is not UTF-8") }
        return s
    }

    mutating func end() throws {
        skipSpace()
        guard at == bytes.count else { throw error("bytes after the state") }
    }
}
