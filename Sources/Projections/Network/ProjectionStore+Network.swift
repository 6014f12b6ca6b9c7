import GRDB

extension ProjectionStore {
    /// The communities in the network now, sorted by `communityId`.
    public func network() throws -> NetworkRegister {
        try storage("cannot read the network register", projection: "network") {
            try pool.read { db in
                let rows = try MemberRow.fetchAll(
                    db,
                    sql: """
                        SELECT m.communityId, c.name, c.oblast, m.joinedAt, m.sectors, m.directions,
                            (SELECT COUNT(*) FROM network_attendance a WHERE a.communityId = m.communityId)
                                AS seminarsAttended
                        FROM network_member m LEFT JOIN network_community c ON c.communityId = m.communityId
                        ORDER BY m.communityId
                        """)
                return NetworkRegister(asOf: try Self.asOf(db, "network"), rows: rows.map(\.member))
            }
        }
    }
}

/// One row of the register's query, by column name.
private struct MemberRow: Decodable, FetchableRecord {
    var communityId: String
    var name: String?
    var oblast: String?
    var joinedAt: String
    var sectors: JSONList
    var directions: JSONList
    var seminarsAttended: Int

    var member: NetworkRegister.Member {
        NetworkRegister.Member(
            communityId: communityId, name: name, oblast: oblast, joinedAt: joinedAt, sectors: sectors.values,
            directions: directions.values, seminarsAttended: seminarsAttended)
    }
}
