import Events
import GRDB

extension ProjectionStore {
    /// The regional statistics: every oblast for which anything counts, sorted by code.
    public func regions() throws -> RegionalStatistics {
        try storage("cannot read the regional statistics", projection: "regions") {
            try pool.read { db in
                var regions: [String: RegionalStatistics.Region] = [:]
                func update(_ oblast: String?, _ body: (inout RegionalStatistics.Region) -> Void) {
                    guard let oblast else { return }
                    body(&regions[oblast, default: RegionalStatistics.Region(oblast: oblast)])
                }
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT oblast, COUNT(*), SUM(member), SUM(CASE WHEN member = 1 THEN population ELSE 0 END)
                        FROM regions_community WHERE registered = 1 AND oblast IS NOT NULL GROUP BY oblast
                        """)
                {
                    update(row[0]) {
                        $0.communities = row[1]
                        $0.networkMembers = row[2]
                        $0.networkPopulation = row[3]
                    }
                }
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, s.competitionId, COUNT(*)
                        FROM regions_submission s JOIN regions_community c ON c.communityId = s.communityId
                        WHERE s.withdrawn = 0 GROUP BY c.oblast, s.competitionId
                        """)
                {
                    update(row[0]) { $0.submissions[row[1]] = row[2] }
                }
                // Each scored submission's exact mean, summed in submission order per oblast.
                var sums: [String: (sum: Double, count: Int, perCompetition: [String: (Double, Int)])] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, s.competitionId, sc.total, sc.jurors
                        FROM (SELECT submissionId, SUM(total) AS total, COUNT(*) AS jurors
                              FROM regions_score GROUP BY submissionId) sc
                        JOIN regions_submission s ON s.submissionId = sc.submissionId
                        JOIN regions_community c ON c.communityId = s.communityId
                        WHERE s.withdrawn = 0 AND c.oblast IS NOT NULL
                        ORDER BY s.submissionId
                        """)
                {
                    let oblast: String = row[0]
                    let competition: String = row[1]
                    let score = Double(row[2] as Int64) / Double(row[3] as Int64)
                    var entry = sums[oblast] ?? (0, 0, [:])
                    entry.sum += score
                    entry.count += 1
                    let c = entry.perCompetition[competition] ?? (0, 0)
                    entry.perCompetition[competition] = (c.0 + score, c.1 + 1)
                    sums[oblast] = entry
                }
                for (oblast, entry) in sums {
                    update(oblast) {
                        $0.meanScore = entry.sum / Double(entry.count)
                        $0.meanScores = entry.perCompetition.mapValues { $0.0 / Double($0.1) }
                    }
                }
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, COUNT(*)
                        FROM regions_submission s JOIN regions_community c ON c.communityId = s.communityId
                        WHERE s.place IS NOT NULL GROUP BY c.oblast
                        """)
                {
                    update(row[0]) { $0.winners = row[1] }
                }
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT oblast, COUNT(*), SUM(participants) FROM regions_seminar
                        WHERE oblast IS NOT NULL GROUP BY oblast
                        """)
                {
                    update(row[0]) {
                        $0.seminars = row[1]
                        $0.seminarParticipants = row[2]
                    }
                }
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, COUNT(DISTINCT a.communityId)
                        FROM regions_attendance a JOIN regions_community c ON c.communityId = a.communityId
                        WHERE c.registered = 1 GROUP BY c.oblast
                        """)
                {
                    update(row[0]) { $0.seminarCommunities = row[1] }
                }
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, COUNT(*)
                        FROM regions_practice p JOIN regions_community c ON c.communityId = p.communityId
                        GROUP BY c.oblast
                        """)
                {
                    update(row[0]) { $0.practices = row[1] }
                }
                return RegionalStatistics(
                    asOf: try Self.asOf(db, "regions"),
                    rows: regions.values.sorted { $0.oblast < $1.oblast })
            }
        }
    }
}
