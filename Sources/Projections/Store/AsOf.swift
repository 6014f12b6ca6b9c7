import Events

/// The last event a read model reflects: `{"position": P, "recordedAt": "…"}` in every answer.
///
/// Position 0 and a `null` time mean that no event has been applied yet.
public struct AsOf: Sendable, Hashable, Codable {
    public var position: Int64
    public var recordedAt: Timestamp?

    public init(position: Int64, recordedAt: Timestamp?) {
        self.position = position
        self.recordedAt = recordedAt
    }

    /// Nothing applied yet.
    public static let start = AsOf(position: 0, recordedAt: nil)

    enum CodingKeys: String, CodingKey { case position, recordedAt }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        position = try c.decode(Int64.self, forKey: .position)
        if let text = try c.decodeIfPresent(String.self, forKey: .recordedAt) {
            guard let t = Timestamp(rfc3339: text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .recordedAt, in: c, debugDescription: "not an RFC 3339 timestamp")
            }
            recordedAt = t
        } else {
            recordedAt = nil
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(position, forKey: .position)
        try c.encode(recordedAt?.rfc3339, forKey: .recordedAt)
    }
}
