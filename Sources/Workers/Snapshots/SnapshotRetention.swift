import Events

/// Which snapshots `prune` keeps: the newest `keepLast`, plus (optionally) the newest of each
/// day for the last `dailyForDays` days, and the newest of each month before that for
/// `monthlyForMonths` months (nil: every month). Everything else goes.
///
/// Days and months are UTC calendar days and months of a snapshot's `recordedAt` (the time of
/// the history it shows), counted back from a reference time (usually now).
public struct SnapshotRetention: Sendable, Hashable {
    /// The newest snapshots kept whatever their time.
    public var keepLast: Int
    /// One a day (the newest of that day) for this many days before the reference time.
    public var dailyForDays: Int?
    /// One a month (the newest of that month) for this many months before the daily window;
    /// nil keeps one for every month.
    public var monthlyForMonths: Int?
    /// Whether the monthly tier applies at all.
    public var monthly: Bool

    /// Keeps the newest `count` snapshots only.
    public static func keep(_ count: Int) -> SnapshotRetention {
        SnapshotRetention(keepLast: count, dailyForDays: nil, monthlyForMonths: nil, monthly: false)
    }

    /// One a day for `days` days, one a month after (for `months` months, or forever), and the
    /// newest `keepLast` in any case.
    public static func daily(
        forDays days: Int = 31, thenMonthlyForMonths months: Int? = nil, keepLast: Int = 1
    ) -> SnapshotRetention {
        SnapshotRetention(keepLast: keepLast, dailyForDays: days, monthlyForMonths: months, monthly: true)
    }

    public init(keepLast: Int, dailyForDays: Int?, monthlyForMonths: Int?, monthly: Bool) {
        self.keepLast = keepLast
        self.dailyForDays = dailyForDays
        self.monthlyForMonths = monthlyForMonths
        self.monthly = monthly
    }

    /// The names to keep among `snapshots` (name and time), judged at `reference`.
    public func kept(_ snapshots: [(name: String, time: Timestamp)], reference: Timestamp) -> Set<String> {
        let newestFirst = snapshots.sorted { ($0.time, $0.name) > ($1.time, $1.name) }
        var keep = Set(newestFirst.prefix(max(0, keepLast)).map(\.name))
        let dayMs: Int64 = 86_400_000
        let dailyStart = dailyForDays.map { Timestamp(milliseconds: reference.milliseconds - Int64($0) * dayMs) }
        var daysSeen = Set<String>()
        var monthsSeen = Set<String>()
        let refMonth = Self.monthIndex(reference)
        let dailyStartMonth = dailyStart.map(Self.monthIndex) ?? refMonth
        for s in newestFirst {
            if let dailyStart, s.time > dailyStart, s.time <= reference {
                if daysSeen.insert(s.time.dateString).inserted { keep.insert(s.name) }
            } else if monthly, s.time <= (dailyStart ?? reference) {
                let month = Self.monthIndex(s.time)
                if let limit = monthlyForMonths, dailyStartMonth - month >= limit { continue }
                if monthsSeen.insert(String(s.time.dateString.prefix(7))).inserted { keep.insert(s.name) }
            }
        }
        return keep
    }

    /// Months since year 0, for counting months back.
    static func monthIndex(_ t: Timestamp) -> Int {
        let text = t.dateString
        let year = Int(text.prefix(4)) ?? 0
        let month = Int(text.dropFirst(5).prefix(2)) ?? 1
        return year * 12 + month - 1
    }
}
