extension Timestamp: Codable {
    /// A timestamp decodes from its RFC 3339 text (`2020-05-01T10:00:00.123Z`, any offset).
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let t = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 time: \(text)"))
        }
        self = t
    }

    /// A timestamp encodes as its canonical RFC 3339 text (UTC, `Z`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rfc3339)
    }
}
