import Foundation

/// An instant with millisecond precision, read from and written as RFC 3339 in UTC.
///
/// The canonical text is `YYYY-MM-DDTHH:MM:SSZ`, with `.sss` only when the milliseconds are not
/// zero; an offset such as `+02:00` is accepted on input and converted to UTC.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The current time of the system clock.
    public static func now() -> Timestamp {
        Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.milliseconds < b.milliseconds }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public var description: String { rfc3339 }

    /// Parses an RFC 3339 date-time (`2020-08-25T10:00:00Z`, fractions and offsets allowed).
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                let d = Int(b[i]) - 48
                guard d >= 0, d <= 9 else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard b.count >= 20, let year = num(0, 4), b[4] == 0x2D, let month = num(5, 2), b[7] == 0x2D,
            let day = num(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let hour = num(11, 2), b[13] == 0x3A, let minute = num(14, 2), b[16] == 0x3A,
            let second = num(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Timestamp.daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var millis = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 3 { millis = millis * 10 + Int(b[i]) - 48 }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            // Fewer than three digits scale up (.5 = 500 ms); more are truncated toward the
            // past (.123456 = 123 ms): the log keeps milliseconds.
            for _ in min(digits, 3)..<3 { millis *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetMinutes = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "+") ? 1 : -1
            guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = num(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        let value = seconds * 1000 + Int64(millis)
        // An offset can carry 0000-01-01T00:30:00+01:00 or 9999-12-31T23:59:59-01:00 outside
        // the four-digit years that the canonical text (and so every reader) can hold.
        guard Timestamp.representable.contains(value) else { return nil }
        milliseconds = value
    }

    /// Whether `text` is a well-formed RFC 3339 date-time whose instant in UTC falls outside
    /// years 0001–9999 (for an error message that says so, rather than "not RFC 3339").
    public static func isOutOfRange(rfc3339 text: String) -> Bool {
        guard Timestamp(rfc3339: text) == nil, text.utf8.count >= 20 else { return false }
        // Parse again with the year moved into the middle of the range; if that parses, only the
        // range was wrong.
        var b = Array(text.utf8)
        guard b[0...3].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        let year = b[0...3].reduce(0) { $0 * 10 + Int($1) - 48 }
        guard year <= 1 || year >= 9999 else { return false }
        // Keep leap-day validity: 2000 is a leap year, as 0000 and 9996 are.
        let probe = Array((year == 0 ? "2000" : year == 1 ? "2001" : year == 9999 ? "2999" : "2000").utf8)
        b.replaceSubrange(0...3, with: probe)
        return Timestamp(rfc3339: String(decoding: b, as: UTF8.self)) != nil
    }

    /// The instants the canonical text can hold: 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59.999Z.
    public static let representable: ClosedRange<Int64> =
        (Int64(daysFromCivil(year: 1, month: 1, day: 1)) * 86_400_000)...(Int64(daysFromCivil(year: 10000, month: 1, day: 1)) * 86_400_000 - 1)

    /// Parses a calendar date `YYYY-MM-DD` as its first instant (00:00:00Z).
    public init?(date text: String) {
        guard let parts = Timestamp.parseDate(text) else { return nil }
        milliseconds = Int64(Timestamp.daysFromCivil(year: parts.year, month: parts.month, day: parts.day)) * 86_400_000
    }

    /// The canonical RFC 3339 text in UTC.
    public var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendRFC3339(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the canonical RFC 3339 text (see ``rfc3339``) as UTF-8 bytes.
    public func appendRFC3339(into out: inout [UInt8]) {
        let totalSeconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let millis = Int(milliseconds - totalSeconds * 1000)
        let days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
        let secs = Int(totalSeconds - days * 86_400)
        let (y, m, d) = Timestamp.civilFromDays(Int(days))
        func digits(_ v: Int, _ n: Int) {
            if v < 0 {
                out.append(UInt8(ascii: "-"))
                digits(-v, n)
                return
            }
            var scale = 1
            for _ in 1..<n { scale *= 10 }
            if v >= scale * 10 { out.append(contentsOf: String(v / (scale * 10)).utf8) }  // a year beyond 9999
            var v = v % (scale * 10)
            while scale > 0 {
                out.append(UInt8(48 + v / scale))
                v %= scale
                scale /= 10
            }
        }
        digits(y, 4)
        out.append(UInt8(ascii: "-"))
        digits(m, 2)
        out.append(UInt8(ascii: "-"))
        digits(d, 2)
        out.append(UInt8(ascii: "T"))
        digits(secs / 3600, 2)
        out.append(UInt8(ascii: ":"))
        digits(secs / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        digits(secs % 60, 2)
        if millis != 0 {
            out.append(UInt8(ascii: "."))
            digits(millis, 3)
        }
        out.append(UInt8(ascii: "Z"))
    }

    /// The UTC calendar date `YYYY-MM-DD` of this instant.
    public var dateString: String { String(rfc3339.prefix(10)) }

    /// Parses `YYYY-MM-DD` into its parts, checking the calendar.
    public static func parseDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == 0x2D, b[7] == 0x2D else { return nil }
        func num(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<(from + count) {
                let d = Int(b[i]) - 48
                guard d >= 0, d <= 9 else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let y = num(0, 4), y >= 1, let m = num(5, 2), let d = num(8, 2), (1...12).contains(m), d >= 1,
            d <= daysIn(month: m, year: y)
        else { return nil }
        return (y, m, d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    package static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    package static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
