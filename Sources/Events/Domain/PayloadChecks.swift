/// Building blocks of payload validation: typed reads of `JSONValue`s that throw a
/// ``Rejection`` naming the field's dotted path and the rule it breaks.
///
/// The hot path builds no strings: a field's path is only rendered when a rejection is thrown.

/// The path of a field: its parent (`data`, `data.period`, `data.themes[2]`) and its key.
/// An array element's path carries its index (`data.links[2]`).
struct FieldPath {
    var parent: String
    var key: String
    var index: Int

    init(_ parent: String, _ key: String, index: Int = -1) {
        self.parent = parent
        self.key = key
        self.index = index
    }

    var text: String { index >= 0 ? "\(parent).\(key)[\(index)]" : parent + "." + key }
    /// The path of element `i` of the array at this path.
    func at(_ i: Int) -> FieldPath { FieldPath(parent, key, index: i) }
    func element(_ i: Int) -> String { at(i).text }
    func fail(_ reason: String) -> Rejection { Rejection(field: text, reason: reason) }
}

extension Rejection {
    /// A rejection of a nested object's field (`.from`, or `` for the object itself) moved under
    /// the object's path: `data.period.from`.
    func under(_ path: FieldPath) -> Rejection {
        Rejection(field: path.text + field, reason: reason)
    }
}

/// Checks one field's value at a path.
typealias FieldCheck = @Sendable (JSONValue, FieldPath) throws(Rejection) -> Void

/// One field of an object shape.
struct FieldSpec: Sendable {
    var name: String
    var required: Bool
    var check: FieldCheck

    init(_ name: String, required: Bool = true, _ check: @escaping FieldCheck) {
        self.name = name
        self.required = required
        self.check = check
    }
}

/// The shape of a JSON object: its fields in the order they are checked (so the first problem
/// reported does not depend on dictionary order), and which keys it may hold.
/// (A class: looking a shape up shares it instead of copying its arrays.)
final class Shape: Sendable {
    let name: String
    let fields: [FieldSpec]
    let allowed: Set<String>
    /// Keys with a dedicated explanation when present (ids in an amendment's `changes`).
    let forbidden: [String: String]

    init(_ name: String, _ fields: [FieldSpec], forbidden: [String: String] = [:]) {
        self.name = name
        self.fields = fields
        self.allowed = Set(fields.map(\.name))
        self.forbidden = forbidden
    }

    /// Checks every field (a `null` counts as absent), then rejects keys the shape does not have.
    func validate(_ object: [String: JSONValue], at parent: String) throws(Rejection) {
        var found = 0
        for field in fields {
            guard let value = object[field.name] else {
                if field.required { throw FieldPath(parent, field.name).fail("is required") }
                continue
            }
            found += 1
            if value.isNull {
                if field.required { throw FieldPath(parent, field.name).fail("is required") }
                continue
            }
            try field.check(value, FieldPath(parent, field.name))
        }
        // every key found is a field: any other key is unknown
        if found != object.count { try rejectUnknownKeys(object, at: parent) }
    }

    /// Checks a partial object (amendments): every field optional, at least one present,
    /// `null` not allowed (a change sets a value).
    func validateChanges(_ object: [String: JSONValue], at parent: String) throws(Rejection) {
        var found = 0
        for field in fields {
            guard let value = object[field.name] else { continue }
            found += 1
            if value.isNull { throw FieldPath(parent, field.name).fail("must not be null; a change sets a new value") }
            try field.check(value, FieldPath(parent, field.name))
        }
        if found != object.count { try rejectUnknownKeys(object, at: parent) }
        if object.isEmpty {
            throw Rejection(
                field: parent,
                reason: "must hold at least one of \(fields.map(\.name).joined(separator: ", "))")
        }
    }

    private func rejectUnknownKeys(_ object: [String: JSONValue], at parent: String) throws(Rejection) {
        // report the first unknown key in sorted order, for a stable message
        guard let key = object.keys.filter({ !allowed.contains($0) }).sorted().first else { return }
        if let reason = forbidden[key] { throw FieldPath(parent, key).fail(reason) }
        throw FieldPath(parent, key).fail("is not a field of \(name) (its fields: \(fields.map(\.name).joined(separator: ", ")))")
    }
}

enum Check {
    // MARK: scalars

    static func quoted(_ s: String) -> String {
        let scalars = s.unicodeScalars
        return scalars.count > 60 ? "\"\(String(String.UnicodeScalarView(scalars.prefix(60))))…\"" : "\"\(s)\""
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "the string " + quoted(s)
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        default: return v.typeName
        }
    }

    @inline(__always)
    static func string(_ v: JSONValue, _ p: FieldPath) throws(Rejection) -> String {
        guard case .string(let s) = v else { throw p.fail("must be a string, found \(v.typeName)") }
        return s
    }

    @inline(__always)
    static func object(_ v: JSONValue, _ p: FieldPath) throws(Rejection) -> [String: JSONValue] {
        guard case .object(let o) = v else { throw p.fail("must be an object, found \(v.typeName)") }
        return o
    }

    @inline(__always)
    static func array(_ v: JSONValue, _ p: FieldPath) throws(Rejection) -> [JSONValue] {
        guard case .array(let a) = v else { throw p.fail("must be an array, found \(v.typeName)") }
        return a
    }

    /// An integer JSON number (`5`, not `5.5` nor `"5"`) within `range`.
    static func integer(_ v: JSONValue, _ p: FieldPath, _ range: ClosedRange<Int64>) throws(Rejection) -> Int64 {
        let n: Int64
        switch v {
        case .int(let i): n = i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: n = Int64(d)
        case .double(let d): throw p.fail("must be an integer, found \(d)")
        default: throw p.fail("must be an integer, found \(v.typeName)")
        }
        guard range.contains(n) else {
            if n < range.lowerBound { throw p.fail("must be at least \(range.lowerBound), found \(n)") }
            throw p.fail("must be at most \(range.upperBound), found \(n)")
        }
        return n
    }

    static func integer(_ range: ClosedRange<Int64>) -> FieldCheck {
        { v, p throws(Rejection) in _ = try integer(v, p, range) }
    }

    /// A finite number, integer or fraction, >= `minimum`.
    static func number(minimum: Double) -> FieldCheck {
        { v, p throws(Rejection) in
            guard let d = v.doubleValue else { throw p.fail("must be a number, found \(v.typeName)") }
            guard d.isFinite else { throw p.fail("must be a finite number") }
            guard d >= minimum else { throw p.fail("must be at least \(Int64(minimum)), found \(describe(v))") }
        }
    }

    // MARK: identifiers

    /// Bits of the identifier bytes `[A-Za-z0-9._-]`: bytes 0..<64 and 64..<128.
    static let identifierBits: (UInt64, UInt64) = {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for b in Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".utf8) {
            if b < 64 { low |= 1 << UInt64(b) } else { high |= 1 << UInt64(b - 64) }
        }
        return (low, high)
    }()

    /// Whether `s` is 1..64 bytes of `[A-Za-z0-9._-]`.
    @inline(__always)
    static func isIdentifier(_ s: String) -> Bool {
        let count = s.utf8.count
        guard count > 0, count <= 64 else { return false }
        let (low, high) = identifierBits
        return s.utf8.withContiguousStorageIfAvailable { buffer -> Bool in
            for b in buffer {
                if b < 64 {
                    if low & (1 << UInt64(b)) == 0 { return false }
                } else if b >= 128 || high & (1 << UInt64(b - 64)) == 0 {
                    return false
                }
            }
            return true
        } ?? s.utf8.allSatisfy { b in
            b < 64 ? low & (1 << UInt64(b)) != 0 : b < 128 && high & (1 << UInt64(b - 64)) != 0
        }
    }

    static func identifier(_ v: JSONValue, _ p: FieldPath) throws(Rejection) -> String {
        let s = try string(v, p)
        guard isIdentifier(s) else {
            if s.isEmpty { throw p.fail("must not be empty (an identifier is 1..64 bytes of A-Z a-z 0-9 . _ -)") }
            if s.utf8.count > 64 { throw p.fail("has \(s.utf8.count) bytes; an identifier is 1..64 bytes") }
            throw p.fail("must be an identifier of A-Z a-z 0-9 . _ - (found \(quoted(s)))")
        }
        return s
    }

    static let identifierField: FieldCheck = { v, p throws(Rejection) in _ = try identifier(v, p) }

    // MARK: text

    /// The number of Unicode scalar values of `s`: same as `s.unicodeScalars.count`, counted over
    /// the UTF-8 bytes (every scalar has exactly one byte that is not a continuation byte).
    @inline(__always)
    static func characterCount(_ s: String) -> Int {
        let utf8 = s.utf8
        if let n = utf8.withContiguousStorageIfAvailable({ buffer -> Int in
            var count = 0
            for b in buffer where b & 0xC0 != 0x80 { count += 1 }
            return count
        }) {
            return n
        }
        return s.unicodeScalars.count
    }

    /// Whether the text is empty or only white space (the Unicode White_Space characters).
    @inline(__always)
    static func isBlank(_ s: String) -> Bool {
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case 0x0B, 0x0C, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: continue
            default: return false
            }
        }
        return true
    }

    /// A string of 1..`limit` characters (Unicode scalars), not only white space.
    static func text(_ v: JSONValue, _ p: FieldPath, limit: Int) throws(Rejection) -> String {
        let s = try string(v, p)
        if s.utf8.count > limit {  // bytes >= characters: only count when it may matter
            let n = characterCount(s)
            if n > limit { throw p.fail("has \(n) characters; the limit is \(limit)") }
        }
        if isBlank(s) { throw p.fail(s.isEmpty ? "must not be empty" : "must not be blank") }
        return s
    }

    static func text(limit: Int) -> FieldCheck {
        { v, p throws(Rejection) in _ = try text(v, p, limit: limit) }
    }

    // MARK: vocabularies

    static func oneOf(_ allowed: [String]) -> FieldCheck {
        { v, p throws(Rejection) in
            let s = try string(v, p)
            guard allowed.contains(s) else {
                throw p.fail("must be one of \(allowed.joined(separator: ", ")) (found \(quoted(s)))")
            }
        }
    }

    /// An array of distinct members of `allowed` (a subset; may be empty).
    static func subsetOf(_ allowed: [String]) -> FieldCheck {
        { v, p throws(Rejection) in
            let items = try array(v, p)
            var seen: UInt64 = 0
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else {
                    throw Rejection(field: p.element(i), reason: "must be a string, found \(item.typeName)")
                }
                guard let k = allowed.firstIndex(of: s) else {
                    throw Rejection(
                        field: p.element(i),
                        reason: "must be one of \(allowed.joined(separator: ", ")) (found \(quoted(s)))")
                }
                guard seen & (1 << UInt64(k)) == 0 else {
                    throw Rejection(field: p.element(i), reason: "\(quoted(s)) is listed twice")
                }
                seen |= 1 << UInt64(k)
            }
        }
    }

    /// An array whose every element passes `element` (may be empty).
    static func arrayOf(_ element: @escaping FieldCheck) -> FieldCheck {
        { v, p throws(Rejection) in
            let items = try array(v, p)
            for (i, item) in items.enumerated() {
                try element(item, p.at(i))
            }
        }
    }

    /// An array of distinct identifiers (may be empty).
    static let distinctIdentifiers: FieldCheck = { v, p throws(Rejection) in
        let items = try array(v, p)
        var seen = Set<String>(minimumCapacity: items.count)
        for (i, item) in items.enumerated() {
            let id = try identifier(item, p.at(i))
            guard seen.insert(id).inserted else {
                throw Rejection(field: p.element(i), reason: "\(quoted(id)) is listed twice")
            }
        }
    }

    static let oblast: FieldCheck = { v, p throws(Rejection) in
        let s = try string(v, p)
        guard Vocabulary.isOblast(s) else {
            throw p.fail("must be an ISO 3166-2:UA code (UA-05 ... UA-77, UA-30 Kyiv, UA-43 Crimea, UA-40 Sevastopol), found \(quoted(s))")
        }
    }

    // MARK: dates

    /// A calendar date `YYYY-MM-DD`, as days since 1970-01-01.
    static func day(_ v: JSONValue, _ p: FieldPath) throws(Rejection) -> Int {
        let s = try string(v, p)
        guard let d = Timestamp.parseDate(s) else { throw p.fail("must be a date YYYY-MM-DD, found \(quoted(s))") }
        return Timestamp.daysFromCivil(year: d.year, month: d.month, day: d.day)
    }

    static let date: FieldCheck = { v, p throws(Rejection) in _ = try day(v, p) }

    /// A month `YYYY-MM`, as `year * 12 + month - 1`.
    static func month(_ v: JSONValue, _ p: FieldPath) throws(Rejection) -> Int {
        let s = try string(v, p)
        let b = s.utf8
        var value = 0
        var ok = b.count == 7
        if ok {
            for (i, c) in b.enumerated() {
                if i == 4 {
                    if c != UInt8(ascii: "-") { ok = false }
                } else if c &- 0x30 < 10 {
                    value = value * 10 + Int(c - 0x30)
                } else {
                    ok = false
                }
            }
        }
        let year = value / 100
        let month = value % 100
        guard ok, (1...12).contains(month) else { throw p.fail("must be a month YYYY-MM, found \(quoted(s))") }
        return year * 12 + month - 1
    }
}
