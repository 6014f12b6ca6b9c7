/// CSV as RFC 4180 draws it, for spreadsheets: fields separated by commas, records ended by
/// CRLF, a field quoted (`"`, inner quotes doubled) when it holds a comma, a quote, CR or LF.
///
/// The text starts with the UTF-8 byte order mark: without it Excel opens a double-clicked
/// `.csv` in the machine's ANSI code page and Cyrillic turns to mojibake; LibreOffice and
/// Python's `utf-8-sig` read the mark as the encoding's signature and drop it.
public struct CSVWriter {
    /// The UTF-8 byte order mark, U+FEFF.
    public static let byteOrderMark = "\u{FEFF}"

    public private(set) var text = CSVWriter.byteOrderMark

    public init() {}

    /// Appends one record.
    public mutating func append(_ fields: [String]) {
        text += fields.map(Self.field).joined(separator: ",")
        text += "\r\n"
    }

    /// A field as it is written: quoted when it must be.
    static func field(_ value: String) -> String {
        let needsQuotes = value.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard needsQuotes else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
