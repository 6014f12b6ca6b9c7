import Testing

@testable import Rendering

/// `TextTable` lines columns up by characters, so Cyrillic cells align as Latin ones do.
struct TextTableTests {
    @Test func cyrillicCellsLineUp() {
        let table = TextTable(
            columns: [.init("назва"), .init("бали", .right)],
            rows: [["Бюджет участі", "36.33"], ["Ліс", "7"]])
        #expect(table.render() == [
            "назва" + String(repeating: " ", count: 11) + "бали",
            String(repeating: "─", count: 13) + "  " + String(repeating: "─", count: 5),
            "Бюджет участі  36.33",
            "Ліс" + String(repeating: " ", count: 16) + "7",
        ].map { $0 + "\n" }.joined())
    }

    @Test func longCellsAreCutAndMissingOnesAreEmpty() {
        let table = TextTable(columns: [.init("громада", maxWidth: 6), .init("область")], rows: [["Бюджет участі"]])
        let lines = table.render().split(separator: "\n")
        #expect(lines[2] == "Бюдже…")
        #expect(lines[0] == "грома…  область")
        #expect(TextTable.fixed(36.333) == "36.33" && TextTable.fixed(7) == "7.00")
    }
}
