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
                for row in try CommunityCounts.fetchAll(
                    db,
                    sql: """
                        SELECT oblast, COUNT(*) AS communities, SUM(member) AS members,
                            SUM(CASE WHEN member = 1 THEN population ELSE 0 END) AS population
                        FROM regions_community WHERE registered = 1 AND oblast IS NOT NULL GROUP BY oblast
                        """)
                {
                    update(row.oblast) {
                        $0.communities = row.communities
                        $0.networkMembers = row.members
                        $0.networkPopulation = row.population
                    }
                }
                for row in try CompetitionCount.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, s.competitionId, COUNT(*) AS count
                        FROM regions_submission s JOIN regions_community c ON c.communityId = s.communityId
                        WHERE s.withdrawn = 0 GROUP BY c.oblast, s.competitionId
                        """)
                {
                    update(row.oblast) { $0.submissions[row.competitionId] = row.count }
                }
                // Each scored submission's exact mean, summed in submission order per oblast.
                var sums: [String: (sum: Double, count: Int, perCompetition: [String: (Double, Int)])] = [:]
                for row in try ScoredSubmission.fetchAll(
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
                    let oblast = row.oblast
                    let competition = row.competitionId
                    let score = Double(row.total) / Double(row.jurors)
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
                for row in try OblastCount.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, COUNT(*) AS count
                        FROM regions_submission s JOIN regions_community c ON c.communityId = s.communityId
                        WHERE s.place IS NOT NULL GROUP BY c.oblast
                        """)
                {
                    update(row.oblast) { $0.winners = row.count }
                }
                for row in try SeminarCounts.fetchAll(
                    db,
                    sql: """
                        SELECT oblast, COUNT(*) AS seminars, SUM(participants) AS participants FROM regions_seminar
                        WHERE oblast IS NOT NULL GROUP BY oblast
                        """)
                {
                    update(row.oblast) {
                        $0.seminars = row.seminars
                        $0.seminarParticipants = row.participants
                    }
                }
                for row in try OblastCount.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, COUNT(DISTINCT a.communityId) AS count
                        FROM regions_attendance a JOIN regions_community c ON c.communityId = a.communityId
                        WHERE c.registered = 1 GROUP BY c.oblast
                        """)
                {
                    update(row.oblast) { $0.seminarCommunities = row.count }
                }
                for row in try OblastCount.fetchAll(
                    db,
                    sql: """
                        SELECT c.oblast, COUNT(*) AS count
                        FROM regions_practice p JOIN regions_community c ON c.communityId = p.communityId
                        GROUP BY c.oblast
                        """)
                {
                    update(row.oblast) { $0.practices = row.count }
                }
                return RegionalStatistics(
                    asOf: try Self.asOf(db, "regions"),
                    rows: regions.values.sorted { $0.oblast < $1.oblast })
            }
        }
    }
}

// The rows of the regional queries, by column name. `oblast` is optional where a join can
// leave it NULL (a community registered without one); such rows count nowhere.

private struct CommunityCounts: Decodable, FetchableRecord {
    var oblast: String?
    var communities: Int
    var members: Int
    var population: Int64
}

private struct CompetitionCount: Decodable, FetchableRecord {
    var oblast: String?
    var competitionId: String
    var count: Int
}

private struct ScoredSubmission: Decodable, FetchableRecord {
    var oblast: String
    var competitionId: String
    var total: Int64
    var jurors: Int64
}

private struct OblastCount: Decodable, FetchableRecord {
    var oblast: String?
    var count: Int
}

private struct SeminarCounts: Decodable, FetchableRecord {
    var oblast: String?
    var seminars: Int
    var participants: Int64
}
