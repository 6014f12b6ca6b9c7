import GRDB

extension ProjectionStore {
    /// Every seminar with its attendance, sorted by date then `seminarId`.
    public func seminars() throws -> SeminarList {
        try storage("cannot read the seminars", projection: "seminars") {
            try pool.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT seminarId, title, date, oblast, city, direction, participants, communityIds
                        FROM seminars_seminar ORDER BY date, seminarId
                        """)
                return SeminarList(
                    asOf: try Self.asOf(db, "seminars"),
                    rows: rows.map {
                        SeminarList.Seminar(
                            seminarId: $0[0], title: $0[1], date: $0[2], oblast: $0[3], city: $0[4], direction: $0[5],
                            participants: $0[6], communityIds: JSONText.decode($0[7]))
                    })
            }
        }
    }
}
