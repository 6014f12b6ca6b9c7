/// Civil calendar arithmetic in UTC (Howard Hinnant's algorithms), Foundation-free.
enum Civil {
    static func days(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(_ z0: Int) -> (year: Int, month: Int, day: Int) {
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

    /// Seconds since the epoch at the start of that day.
    static func seconds(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        Int64(days(year, month, day)) * 86_400
    }

    @inline(__always) static func two(_ v: Int, into out: inout [UInt8]) {
        out.append(UInt8(48 + v / 10))
        out.append(UInt8(48 + v % 10))
    }

    @inline(__always) static func four(_ v: Int, into out: inout [UInt8]) {
        two(v / 100, into: &out)
        two(v % 100, into: &out)
    }

    /// `YYYY-MM-DD` of a day number.
    static func writeDate(days: Int, into out: inout [UInt8]) {
        let (y, m, d) = civil(days)
        four(y, into: &out)
        out.append(0x2D)
        two(m, into: &out)
        out.append(0x2D)
        two(d, into: &out)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` of an epoch second.
    static func writeTimestamp(_ seconds: Int64, into out: inout [UInt8]) {
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secs = Int(seconds - Int64(days) * 86_400)
        writeDate(days: days, into: &out)
        out.append(UInt8(ascii: "T"))
        two(secs / 3600, into: &out)
        out.append(0x3A)
        two(secs / 60 % 60, into: &out)
        out.append(0x3A)
        two(secs % 60, into: &out)
        out.append(UInt8(ascii: "Z"))
    }

    static func timestampString(_ seconds: Int64) -> String {
        var out: [UInt8] = []
        writeTimestamp(seconds, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func dateString(days: Int) -> String {
        var out: [UInt8] = []
        writeDate(days: days, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
