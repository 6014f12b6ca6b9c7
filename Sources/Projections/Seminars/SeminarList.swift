/// The regional seminars with their attendance, sorted by date then `seminarId`.
///
/// JSON: `{"asOf", "rows": [{"seminarId", "title", "date", "oblast", "city", "direction",
/// "participants", "communities", "communityIds"}]}` — `communities` counts the attending
/// communities, `communityIds` lists them.
public struct SeminarList: Sendable, Hashable, Codable {
    public var asOf: AsOf
    public var rows: [Seminar]

    public init(asOf: AsOf, rows: [Seminar]) {
        self.asOf = asOf
        self.rows = rows
    }

    /// One seminar.
    public struct Seminar: Sendable, Hashable, Codable {
        public var seminarId: String
        public var title: String?
        /// `YYYY-MM-DD`.
        public var date: String?
        public var oblast: String?
        public var city: String?
        public var direction: String?
        /// People who took part.
        public var participants: Int
        /// How many communities attended.
        public var communities: Int
        public var communityIds: [String]

        public init(
            seminarId: String, title: String?, date: String?, oblast: String?, city: String?, direction: String?,
            participants: Int, communityIds: [String]
        ) {
            self.seminarId = seminarId
            self.title = title
            self.date = date
            self.oblast = oblast
            self.city = city
            self.direction = direction
            self.participants = participants
            self.communities = communityIds.count
            self.communityIds = communityIds
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(seminarId, forKey: .seminarId)
            try c.encode(title, forKey: .title)
            try c.encode(date, forKey: .date)
            try c.encode(oblast, forKey: .oblast)
            try c.encode(city, forKey: .city)
            try c.encode(direction, forKey: .direction)
            try c.encode(participants, forKey: .participants)
            try c.encode(communities, forKey: .communities)
            try c.encode(communityIds, forKey: .communityIds)
        }
    }
}
