/// Regional statistics (spec sections 5 and 6), one row per oblast, sorted by oblast code.
///
/// JSON: `{"asOf", "rows": [{"oblast", "communities", "networkMembers", "networkPopulation",
/// "submissions": {"<competitionId>": n}, "meanScore", "winners", "seminars",
/// "seminarParticipants", "seminarCommunities", "practices"}]}` plus, per row, `meanScores`
/// (the same mean per competition).
public struct RegionalStatistics: Sendable, Hashable, Codable {
    public var asOf: AsOf
    public var rows: [Region]

    public init(asOf: AsOf, rows: [Region]) {
        self.asOf = asOf
        self.rows = rows
    }

    /// The figures of one oblast.
    public struct Region: Sendable, Hashable, Codable {
        /// ISO 3166-2:UA code.
        public var oblast: String
        /// Communities registered.
        public var communities: Int = 0
        /// Communities in the network now.
        public var networkMembers: Int = 0
        /// Population of the network members.
        public var networkPopulation: Int64 = 0
        /// Submissions not withdrawn, per competition (competitions with none are left out).
        public var submissions: [String: Int] = [:]
        /// The mean of the scores of the oblast's scored, non-withdrawn submissions, across all
        /// competitions (each submission's score being the mean of its current jurors' totals);
        /// `nil` when none is scored.
        public var meanScore: Double?
        /// The same mean per competition.
        public var meanScores: [String: Double] = [:]
        /// Winner entries (places announced) of submissions of the oblast's communities.
        public var winners: Int = 0
        /// Seminars held in the oblast.
        public var seminars: Int = 0
        /// Participants of those seminars (sum).
        public var seminarParticipants: Int64 = 0
        /// Distinct communities of the oblast that attended any seminar, wherever it was held.
        public var seminarCommunities: Int = 0
        /// Practices published and not unpublished, of the oblast's communities.
        public var practices: Int = 0

        public init(oblast: String) { self.oblast = oblast }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(oblast, forKey: .oblast)
            try c.encode(communities, forKey: .communities)
            try c.encode(networkMembers, forKey: .networkMembers)
            try c.encode(networkPopulation, forKey: .networkPopulation)
            try c.encode(submissions, forKey: .submissions)
            try c.encode(meanScore, forKey: .meanScore)
            try c.encode(meanScores, forKey: .meanScores)
            try c.encode(winners, forKey: .winners)
            try c.encode(seminars, forKey: .seminars)
            try c.encode(seminarParticipants, forKey: .seminarParticipants)
            try c.encode(seminarCommunities, forKey: .seminarCommunities)
            try c.encode(practices, forKey: .practices)
        }
    }
}
