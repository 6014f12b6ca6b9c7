/// The closed vocabularies and text limits of the event catalog (EVENTS.md section 3).
public enum Vocabulary {
    /// `sector` of submissions and practices, `sectors` of network members.
    public static let sectors: [String] = [
        "education", "housing-utilities", "environment", "cultural-heritage", "youth-sports", "small-business",
        "governance",
    ]
    /// The cross-cutting `directions` (also a seminar's `direction`).
    public static let directions: [String] = ["budget-process", "administrative-services", "strategic-planning"]
    /// `participationForms`.
    public static let participationForms: [String] = ["informing", "consultation", "dialogue", "active-involvement"]
    /// A community's `kind`: міська, селищна, сільська.
    public static let communityKinds: [String] = ["urban", "settlement", "rural"]

    /// The ISO 3166-2:UA codes: 24 oblasts, Crimea (`UA-43`), Kyiv (`UA-30`) and Sevastopol (`UA-40`).
    public static let oblasts: [String] = oblastNumbers.map { $0 < 10 ? "UA-0\($0)" : "UA-\($0)" }

    static let oblastNumbers: [Int] = [
        5, 7, 9, 12, 14, 18, 21, 23, 26, 30, 32, 35, 40, 43, 46, 48, 51, 53, 56, 59, 61, 63, 65, 68, 71, 74, 77,
    ]
    /// Bit n set when `UA-nn` is a code (n < 78).
    static let oblastMask: (UInt64, UInt64) = {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for n in oblastNumbers {
            if n < 64 { low |= 1 << UInt64(n) } else { high |= 1 << UInt64(n - 64) }
        }
        return (low, high)
    }()

    /// Whether `code` is an ISO 3166-2:UA code such as `UA-32` (no allocation, no lookup table of strings).
    public static func isOblast(_ code: String) -> Bool {
        var it = code.utf8.makeIterator()
        guard it.next() == UInt8(ascii: "U"), it.next() == UInt8(ascii: "A"), it.next() == UInt8(ascii: "-"),
            let d1 = it.next(), let d2 = it.next(), it.next() == nil,
            d1 &- 0x30 < 10, d2 &- 0x30 < 10
        else { return false }
        let n = Int(d1 - 0x30) * 10 + Int(d2 - 0x30)
        return n < 64 ? oblastMask.0 & (1 << UInt64(n)) != 0 : oblastMask.1 & (1 << UInt64(n - 64)) != 0
    }
}

/// Maximum lengths of text fields, in characters (Unicode scalar values).
///
/// The spec fixes `title`, `problem`, `activities`, `results` and `risks` (the practice description
/// form); the others are generous guards against runaway input, chosen here.
public enum TextLimits {
    public static let title = 300
    public static let problem = 1500
    public static let activities = 3500
    public static let results = 1500
    public static let risks = 1000
    /// Names of communities, councils and their contact fields, theme and criterion titles.
    public static let name = 300
    /// `reason` of withdrawals, retractions, leaving the network, unpublishing.
    public static let reason = 1000
    /// A juror's `comment`.
    public static let comment = 2000
    /// A winner's `award`.
    public static let award = 300
    /// A seminar's `city`.
    public static let city = 100
    /// A practice's `summary`.
    public static let summary = 1500
    /// A practice's `body` (the whole description: problem, activities, results, risks fit).
    public static let body = 10_000
    /// One tag of a practice.
    public static let tag = 100
    /// One entry of `links`.
    public static let link = 2000
    /// One entry of `budget.sources`.
    public static let source = 300
}
