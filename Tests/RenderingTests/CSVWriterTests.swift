import Events
import Rendering
import Testing

/// The CSV writer's quoting (RFC 4180) and the cells of the open-data table, on values the
/// sample history does not hold (quotes, line breaks, nulls, empty lists).
@Suite struct CSVWriterTests {
    @Test func fieldsAreQuotedExactlyWhenTheyMustBe() {
        var writer = CSVWriter()
        writer.append(["plain", "кома, всередині", "лапки \"так\"", "рядок\nдругий", "cr\rlf", ""])
        writer.append(["a"])
        #expect(
            writer.text
                == "\u{FEFF}plain,\"кома, всередині\",\"лапки \"\"так\"\"\",\"рядок\nдругий\",\"cr\rlf\",\r\na\r\n")
    }

    @Test func cellsOfEveryTypeReadAsDocumented() throws {
        let document: JSONValue = [
            "asOf": ["position": 7, "recordedAt": "2020-01-01T00:00:00Z"],
            "rows": [
                [
                    "seminarId": "s-1", "title": "«Рівний рівному», 2020", "date": nil, "oblast": "UA-53", "city": nil,
                    "direction": "budget-process", "participants": 12, "communities": 2, "communityIds": ["a", "b"],
                ],
                [
                    "seminarId": "s-2", "title": "без громад", "date": "2020-02-02", "oblast": nil, "city": "Полтава",
                    "direction": nil, "participants": 0, "communities": 0, "communityIds": [],
                ],
            ],
        ]
        let table = try OpenDataTable(model: .seminars, document: document)
        #expect(table.asOf["position"] == 7)
        #expect(
            table.csv
                == "\u{FEFF}seminarId,date,title,oblast,city,direction,participants,communities,communityIds\r\n"
                + "s-1,,\"«Рівний рівному», 2020\",UA-53,,budget-process,12,2,a; b\r\n"
                + "s-2,2020-02-02,без громад,,Полтава,,0,0,\r\n")
        #expect(
            table.jsonLines.split(separator: "\n").last
                == "{\"seminarId\":\"s-2\",\"date\":\"2020-02-02\",\"title\":\"без громад\",\"oblast\":null,\"city\":\"Полтава\",\"direction\":null,\"participants\":0,\"communities\":0,\"communityIds\":[]}")
    }

    @Test func aDocumentOfAnotherShapeIsRefused() {
        #expect(throws: OpenDataError.self) { try OpenDataTable(model: .regions, document: ["asOf": nil]) }
    }
}
