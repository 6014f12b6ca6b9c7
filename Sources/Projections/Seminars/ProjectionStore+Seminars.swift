import GRDB

extension ProjectionStore {
    /// Every seminar with its attendance, sorted by date then `seminarId`.
    public func seminars() throws -> SeminarList {
        try storage("cannot read the seminars", projection: "seminars") {
            try pool.read { db in
                let rows = try SeminarRow.fetchAll(
                    db,
                    sql: """
                        SELECT seminarId, title, date, oblast, city, direction, participants, communityIds
                        FROM seminars_seminar ORDER BY date, seminarId
                        """)
                return SeminarList(asOf: try Self.asOf(db, "seminars"), rows: rows.map(\.seminar))
            }
        }
    }
}

/// One row of `seminars_seminar`, by column name.
private struct SeminarRow: Decodable, FetchableRecord {
    var seminarId: String
    var title: String?
    var date: String?
    var oblast: String?
    var city: String?
    var direction: String?
    var participants: Int
    var communityIds: JSONList

    var seminar: SeminarList.Seminar {
        SeminarList.Seminar(
            seminarId: seminarId, title: title, date: date, oblast: oblast, city: city, direction: direction,
            participants: participants, communityIds: communityIds.values)
    }
}
