/// A plain-text table for a terminal, aligned by characters: a column's width is the largest
/// `Character` count of its cells (Cyrillic letters are single-width, as are Latin ones).
public struct TextTable: Sendable, Hashable {
    public enum Alignment: Sendable, Hashable { case left, right }

    /// One column: its title, alignment and the width beyond which cells are cut with `…`.
    public struct Column: Sendable, Hashable {
        public var title: String
        public var alignment: Alignment
        public var maxWidth: Int

        public init(_ title: String, _ alignment: Alignment = .left, maxWidth: Int = 60) {
            self.title = title
            self.alignment = alignment
            self.maxWidth = max(1, maxWidth)
        }
    }

    public var columns: [Column]
    public var rows: [[String]]

    public init(columns: [Column], rows: [[String]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// The table: a header, a rule of `─`, the rows; two spaces between columns, no trailing
    /// spaces, a newline after each line.
    public func render() -> String {
        let cells = rows.map { row in
            columns.indices.map { i in TextTable.cut(i < row.count ? row[i] : "", columns[i].maxWidth) }
        }
        var widths = columns.map { TextTable.cut($0.title, $0.maxWidth).count }
        for row in cells {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ values: [String]) -> String {
            var text = ""
            for (i, value) in values.enumerated() {
                if i > 0 { text += "  " }
                let pad = String(repeating: " ", count: widths[i] - value.count)
                text += columns[i].alignment == .right ? pad + value : value + pad
            }
            while text.last == " " { text.removeLast() }
            return text + "\n"
        }
        var out = line(columns.map { TextTable.cut($0.title, $0.maxWidth) })
        out += line(widths.map { String(repeating: "─", count: $0) })
        for row in cells { out += line(row) }
        return out
    }

    /// `text` on one line, cut to `width` characters with a final `…` when longer.
    static func cut(_ text: String, _ width: Int) -> String {
        var flat = ""
        for ch in text { flat.append(ch.isNewline || ch == "\t" ? " " : ch) }
        guard flat.count > width else { return flat }
        return String(flat.prefix(width - 1)) + "…"
    }

    /// A number with exactly `digits` decimals, rounded half away from zero (`36.33`).
    public static func fixed(_ value: Double, digits: Int = 2) -> String {
        guard value.isFinite else { return String(value) }
        var scale = 1.0
        for _ in 0..<max(0, digits) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        let whole = Int64(scaled / scale)
        let fraction = Int64(scaled - Double(whole) * scale)
        var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let f = String(fraction)
            text += "." + String(repeating: "0", count: max(0, digits - f.count)) + f
        }
        return text
    }
}
