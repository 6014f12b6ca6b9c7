import Events

/// Civil calendar arithmetic in UTC: the log's own (``Timestamp``), with the generator's helpers.
enum Civil {
    static func days(_ year: Int, _ month: Int, _ day: Int) -> Int {
        Timestamp.daysFromCivil(year: year, month: month, day: day)
    }

    static func civil(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let (y, m, d) = Timestamp.civilFromDays(z0)
        return (y, m, d)
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
