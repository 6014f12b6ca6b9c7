import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A progress line on standard error for long work (`import`): done, rate, and time left when
/// the total is known. Shown only when standard error is a terminal, at most a few times a
/// second, and erased at the end, so that logs and pipes get nothing extra.
final class ProgressLine {
    private let label: String
    private let unit: String
    private let enabled: Bool
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var drawn = false

    /// - Parameters:
    ///   - label: what is being done (`importing`).
    ///   - unit: what is counted (`events`).
    ///   - force: draw even when standard error is not a terminal (tests).
    init(label: String, unit: String, force: Bool = false) {
        self.label = label
        self.unit = unit
        self.enabled = force || isatty(2) == 1
    }

    /// Reports `done` items; `fraction` (0...1) of the whole when known gives the time left.
    func update(done: Int, fraction: Double? = nil) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw >= 250_000_000 else { return }
        lastDraw = now
        let seconds = Double(now - start) / 1e9
        guard seconds >= 0.5 else { return }
        var text = "\(label): \(done) \(unit), \(Int(Double(done) / seconds))/s"
        if let fraction, fraction > 0.001, fraction < 1 {
            let left = seconds * (1 - fraction) / fraction
            text += String(format: ", %.0f%%, about %@ left", fraction * 100, Self.duration(left))
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        drawn = true
    }

    /// Erases the line (the final result is printed by the command).
    func finish() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        return s < 60 ? "\(s) s" : "\(s / 60) min \(s % 60) s"
    }
}

/// Rejected lines of an import grouped by what was wrong, for one summary at the end instead of
/// a line on stderr for each: the field and the reason with its particular values (numbers,
/// quoted texts) blanked, counted, with the first line of each group.
struct RejectionSummary {
    private(set) var total = 0
    private var groups: [String: (count: Int, firstLine: Int, example: String)] = [:]
    private var order: [String] = []

    mutating func add(line: Int, field: String, reason: String) {
        total += 1
        let key = "field \(Self.shape(of: field)): \(Self.shape(of: reason))"
        if let group = groups[key] {
            groups[key] = (group.count + 1, group.firstLine, group.example)
        } else {
            groups[key] = (1, line, "field \(field): \(reason)")
            order.append(key)
        }
    }

    /// The summary, most frequent first; at most `limit` groups, then how many more.
    func render(limit: Int = 12) -> String {
        guard total > 0 else { return "" }
        var text = "rejected \(total) \(total == 1 ? "line" : "lines"), by reason:\n"
        let sorted = order.sorted { (groups[$0]!.count, groups[$1]!.firstLine) > (groups[$1]!.count, groups[$0]!.firstLine) }
        for key in sorted.prefix(limit) {
            let g = groups[key]!
            text += "  \(g.count) × \(g.example)" + (g.count > 1 ? " (first at line \(g.firstLine))" : " (line \(g.firstLine))") + "\n"
        }
        if sorted.count > limit { text += "  … and \(sorted.count - limit) more kinds\n" }
        return text
    }

    /// `is at version 3, not 2` and `is at version 7, not 6` have one shape.
    static func shape(of reason: String) -> String {
        var out = ""
        var inQuote: Character? = nil
        var lastWasDigit = false
        for ch in reason {
            if let q = inQuote {
                if ch == q || (q == "«" && ch == "»") {
                    inQuote = nil
                    out.append(ch)
                }
                continue
            }
            if ch == "\"" || ch == "«" {
                inQuote = ch
                out.append(ch)
                out.append("…")
                continue
            }
            if ch.isNumber {
                if !lastWasDigit { out.append("N") }
                lastWasDigit = true
                continue
            }
            lastWasDigit = false
            out.append(ch)
        }
        return out
    }
}
