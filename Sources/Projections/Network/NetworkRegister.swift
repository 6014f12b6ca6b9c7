/// The network register (spec sections 5 and 6): the communities in the network now, sorted by
/// `communityId`.
///
/// JSON: `{"asOf", "rows": [{"communityId", "name", "oblast", "joinedAt", "sectors",
/// "directions", "seminarsAttended"}]}`; `joinedAt` is the `occurredAt` of the latest join.
public struct NetworkRegister: Sendable, Hashable, Codable {
    public var asOf: AsOf
    public var rows: [Member]

    public init(asOf: AsOf, rows: [Member]) {
        self.asOf = asOf
        self.rows = rows
    }

    /// One community of the network.
    public struct Member: Sendable, Hashable, Codable {
        public var communityId: String
        public var name: String?
        public var oblast: String?
        /// RFC 3339: when it (last) joined, business time.
        public var joinedAt: String
        /// The sectors it is ready to share.
        public var sectors: [String]
        public var directions: [String]
        /// Seminars it attended (any time, wherever held).
        public var seminarsAttended: Int

        public init(
            communityId: String, name: String?, oblast: String?, joinedAt: String, sectors: [String],
            directions: [String], seminarsAttended: Int
        ) {
            self.communityId = communityId
            self.name = name
            self.oblast = oblast
            self.joinedAt = joinedAt
            self.sectors = sectors
            self.directions = directions
            self.seminarsAttended = seminarsAttended
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(communityId, forKey: .communityId)
            try c.encode(name, forKey: .name)
            try c.encode(oblast, forKey: .oblast)
            try c.encode(joinedAt, forKey: .joinedAt)
            try c.encode(sectors, forKey: .sectors)
            try c.encode(directions, forKey: .directions)
            try c.encode(seminarsAttended, forKey: .seminarsAttended)
        }
    }
}
