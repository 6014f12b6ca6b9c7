import GRDB

extension ProjectionStore {
    /// The communities in the network now, sorted by `communityId`.
    public func network() throws -> NetworkRegister {
        try storage("cannot read the network register", projection: "network") {
            try pool.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT m.communityId, c.name, c.oblast, m.joinedAt, m.sectors, m.directions,
                            (SELECT COUNT(*) FROM network_attendance a WHERE a.communityId = m.communityId)
                        FROM network_member m LEFT JOIN network_community c ON c.communityId = m.communityId
                        ORDER BY m.communityId
                        """)
                return NetworkRegister(
                    asOf: try Self.asOf(db, "network"),
                    rows: rows.map {
                        NetworkRegister.Member(
                            communityId: $0[0], name: $0[1], oblast: $0[2], joinedAt: $0[3],
                            sectors: JSONText.decode($0[4]), directions: JSONText.decode($0[5]), seminarsAttended: $0[6])
                    })
            }
        }
    }
}
