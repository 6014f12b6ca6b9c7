import Events

/// `--at` and `--until` values (and the API's `at=`): a date (its end), a date-time, or
/// `position:N`. Shared by the command line and the web service so that both mean the same.
public enum TimePoint: Sendable, CustomStringConvertible {
    case time(Timestamp)
    case position(Int64)

    public init?(_ text: String) {
        if text.hasPrefix("position:"), let p = Int64(text.dropFirst(9)), p >= 0 {
            self = .position(p)
        } else if let t = Timestamp(rfc3339: text) {
            self = .time(t)
        } else if let d = Timestamp(date: text) {
            // a date means the state at the end of that day (UTC)
            self = .time(Timestamp(milliseconds: d.milliseconds + 86_400_000 - 1))
        } else {
            return nil
        }
    }

    public func position(in reader: any LogReading) throws -> Int64 {
        switch self {
        case .position(let p): return min(p, try reader.head().position)
        case .time(let t): return try reader.lastPosition(recordedAtOrBefore: t)
        }
    }

    public var description: String {
        switch self {
        case .position(let p): return "position:\(p)"
        case .time(let t): return t.rfc3339
        }
    }
}
