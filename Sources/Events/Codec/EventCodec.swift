import Crypto
import Foundation

/// The codec layer: interchange lines to ``ProposedEvent``, and ``RecordedEvent`` to the
/// canonical stored line and back.
///
/// A stored line is compact JSON with keys in this fixed order:
///
///     {"position":P,"id":"…","stream":"…","version":V,"type":"…","occurredAt":"…",
///      "recordedAt":"…","data":{…},"metadata":{…}}
///
/// Its hash = SHA-256(previous event's hash as 32 raw bytes ‖ the stored line's bytes); the first
/// event's previous hash is 32 zero bytes. The hash is not stored in the line (the chain
/// derives it; each frame header carries its last event's hash): `read` and `export` write the
/// *export line*, the stored line with `,"hash":"<64 hex>"` before its closing brace.
public enum EventCodec {
    static let envelopeKeys: Set<String> = [
        "id", "stream", "type", "occurredAt", "expectedVersion", "data", "metadata", "recordedAt",
        "position", "version", "hash",
    ]

    /// Decodes one interchange line into a proposed event, checking the envelope's fields.
    /// - Throws: a ``Rejection`` naming the field and the rule.
    public static func decodeProposed(line: some Collection<UInt8>) throws(Rejection) -> ProposedEvent {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw Rejection(field: error.path.isEmpty ? "(line)" : error.fieldPath, reason: error.description)
        }
        return try decodeProposed(value)
    }

    /// Checks an already parsed envelope.
    public static func decodeProposed(_ value: JSONValue) throws(Rejection) -> ProposedEvent {
        guard case .object(let o) = value else {
            throw Rejection(field: "(line)", reason: "an event must be a JSON object, found \(value.typeName)")
        }
        for key in o.keys where !envelopeKeys.contains(key) {
            throw Rejection(field: key, reason: "unknown field of the event envelope")
        }
        func requiredString(_ key: String) throws(Rejection) -> String {
            guard let v = o[key], !v.isNull else { throw Rejection(field: key, reason: "is required") }
            guard let s = v.stringValue else { throw Rejection(field: key, reason: "must be a string, found \(v.typeName)") }
            return s
        }
        func timestamp(_ key: String, _ s: String) throws(Rejection) -> Timestamp {
            guard let t = Timestamp(rfc3339: s) else {
                if Timestamp.isOutOfRange(rfc3339: s) {
                    throw Rejection(field: key, reason: "\"\(s.prefix(40))\" falls outside years 0001–9999 in UTC")
                }
                throw Rejection(field: key, reason: "must be an RFC 3339 timestamp such as 2020-08-25T10:00:00Z, found \"\(s.prefix(40))\"")
            }
            return t
        }
        let stream = try requiredString("stream")
        try checkStreamName(stream)
        let type = try requiredString("type")
        guard !type.isEmpty, type.utf8.count <= 100 else { throw Rejection(field: "type", reason: "must be 1..100 bytes") }
        let occurredAt = try timestamp("occurredAt", try requiredString("occurredAt"))
        guard occurredAt >= ProposedEvent.earliestOccurredAt else {
            throw Rejection(
                field: "occurredAt",
                reason: "\(occurredAt.rfc3339) is before \(ProposedEvent.earliestOccurredAt.rfc3339), earlier than any record of this programme can be")
        }
        var id: UUID?
        if let v = o["id"], !v.isNull {
            guard let s = v.stringValue, let u = parseUUID(s) else {
                throw Rejection(field: "id", reason: "must be a UUID string")
            }
            id = u
        }
        var expectedVersion: Int64?
        if let v = o["expectedVersion"], !v.isNull {
            guard case .int(let n) = v, n >= -1 else {
                throw Rejection(field: "expectedVersion", reason: "must be an integer >= -1")
            }
            expectedVersion = n
        }
        guard let dataValue = o["data"], !dataValue.isNull else { throw Rejection(field: "data", reason: "is required") }
        guard case .object(let data) = dataValue else {
            throw Rejection(field: "data", reason: "must be a JSON object, found \(dataValue.typeName)")
        }
        var metadata: [String: JSONValue] = [:]
        if let v = o["metadata"], !v.isNull {
            guard case .object(let m) = v else { throw Rejection(field: "metadata", reason: "must be a JSON object") }
            metadata = m
        }
        var recordedAt: Timestamp?
        if let v = o["recordedAt"], !v.isNull {
            guard let s = v.stringValue else { throw Rejection(field: "recordedAt", reason: "must be a string") }
            recordedAt = try timestamp("recordedAt", s)
        }
        var exported: ProposedEvent.Exported?
        if let v = o["position"], !v.isNull {
            guard case .int(let p) = v, p >= 1 else { throw Rejection(field: "position", reason: "must be an integer >= 1") }
            var version: Int64?
            if let vv = o["version"], !vv.isNull {
                guard case .int(let n) = vv, n >= 0 else { throw Rejection(field: "version", reason: "must be an integer >= 0") }
                version = n
            }
            var hash: String?
            if let hv = o["hash"], !hv.isNull {
                guard let h = hv.stringValue, h.utf8.count == 64, h.utf8.allSatisfy({ isLowerHex($0) }) else {
                    throw Rejection(field: "hash", reason: "must be 64 lowercase hex digits")
                }
                hash = h
            }
            exported = .init(position: p, version: version, hash: hash)
        } else if o["version"] != nil || o["hash"] != nil {
            throw Rejection(field: o["version"] != nil ? "version" : "hash", reason: "is written by the store; only an exported line (with its position) may carry it")
        }
        return ProposedEvent(
            id: id, stream: stream, type: type, occurredAt: occurredAt, expectedVersion: expectedVersion,
            data: data, metadata: metadata, recordedAt: recordedAt, exported: exported)
    }

    /// Checks `<category>-<key>`, 1..200 bytes of `[A-Za-z0-9._:-]`.
    public static func checkStreamName(_ stream: String) throws(Rejection) {
        let bytes = stream.utf8
        guard (1...200).contains(bytes.count) else { throw Rejection(field: "stream", reason: "must be 1..200 bytes") }
        for b in bytes {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
                UInt8(ascii: "-"):
                continue
            default:
                throw Rejection(field: "stream", reason: "may hold only A-Z a-z 0-9 . _ : - (found \"\(stream.prefix(60))\")")
            }
        }
        guard let dash = bytes.firstIndex(of: UInt8(ascii: "-")), dash != bytes.startIndex,
            bytes.index(after: dash) != bytes.endIndex
        else {
            throw Rejection(field: "stream", reason: "must be <category>-<key>, found \"\(stream.prefix(60))\"")
        }
    }

    @inline(__always) static func isLowerHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66)
    }

    /// Length of an export line's tail `,"hash":"<64 hex>"}`.
    public static let hashTailCount = 75

    /// Appends the canonical stored line of an event (with its newline) to `out` and returns
    /// the event's hash, computed from `previousHash`.
    public static func encodeLine(
        position: Int64, id: UUID, stream: String, version: Int64, type: String, occurredAt: Timestamp,
        recordedAt: Timestamp, data: [String: JSONValue], metadata: [String: JSONValue],
        encoded: ProposedEvent.EncodedPayload? = nil, previousHash: [UInt8]?, into out: inout [UInt8]
    ) -> [UInt8] {
        let start = out.count
        out.append(contentsOf: #"{"position":"#.utf8)
        appendDecimal(position, into: &out)
        out.append(contentsOf: #","id":""#.utf8)
        appendUUID(id, into: &out)
        out.append(contentsOf: #"","stream":"#.utf8)
        let parts =
            encoded.map { ($0.bytes, $0.streamEnd, $0.middleEnd) }
            ?? lineParts(stream: stream, type: type, occurredAt: occurredAt, data: data, metadata: metadata)
        parts.0.withUnsafeBufferPointer { b in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[..<parts.1]))
            out.append(contentsOf: #","version":"#.utf8)
            appendDecimal(version, into: &out)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[parts.1..<parts.2]))
            recordedAt.appendRFC3339(into: &out)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[parts.2...]))
        }
        let digest = out.withUnsafeBufferPointer { buffer in
            chainHash(previous: previousHash, content: UnsafeBufferPointer(rebasing: buffer[start..<buffer.count]))
        }
        out.append(0x0A)
        return digest
    }

    /// Appends the export line of a stored line (no newline): `,"hash":"<hex>"` goes before its
    /// closing brace.
    public static func appendExportLine(stored: UnsafeBufferPointer<UInt8>, hash: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: stored[0..<(stored.count - 1)]))
        out.append(contentsOf: #","hash":""#.utf8)
        appendHex(hash, into: &out)
        out.append(contentsOf: "\"}".utf8)
    }

    /// The parts of a stored line that do not depend on the store, in one buffer (see
    /// ``ProposedEvent/EncodedPayload``): the stream as a JSON string, then `,"type":` through
    /// the opening quote of recordedAt's value, then its closing quote through the closing brace.
    static func lineParts(
        stream: String, type: String, occurredAt: Timestamp, data: [String: JSONValue], metadata: [String: JSONValue]
    ) -> (bytes: [UInt8], streamEnd: Int, middleEnd: Int) {
        var bytes: [UInt8] = []
        JSONValue.writeString(stream, into: &bytes)
        let streamEnd = bytes.count
        bytes.append(contentsOf: #","type":"#.utf8)
        JSONValue.writeString(type, into: &bytes)
        bytes.append(contentsOf: #","occurredAt":""#.utf8)
        occurredAt.appendRFC3339(into: &bytes)
        bytes.append(contentsOf: #"","recordedAt":""#.utf8)
        let middleEnd = bytes.count
        bytes.append(contentsOf: #"","data":"#.utf8)
        JSONValue.writeObject(data, into: &bytes)
        bytes.append(contentsOf: #","metadata":"#.utf8)
        JSONValue.writeObject(metadata, into: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return (bytes, streamEnd, middleEnd)
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits in either case), as
    /// `UUID(uuidString:)` does, without going through a formatted scan.
    public static func parseUUID(_ text: String) -> UUID? {
        var text = text
        text.makeContiguousUTF8()  // a no-op for native strings
        let parsed = text.utf8.withContiguousStorageIfAvailable { b -> UUID? in
            guard b.count == 36 else { return nil }
            var id = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).uuid
            let ok = withUnsafeMutableBytes(of: &id) { out -> Bool in
                var i = 0
                var n = 0
                while i < 36 {
                    if i == 8 || i == 13 || i == 18 || i == 23 {
                        guard b[i] == UInt8(ascii: "-") else { return false }
                        i += 1
                        continue
                    }
                    guard let hi = hexValue(b[i]), let lo = hexValue(b[i + 1]) else { return false }
                    out[n] = hi << 4 | lo
                    n += 1
                    i += 2
                }
                return true
            }
            return ok ? UUID(uuid: id) : nil
        }
        return parsed ?? nil
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    /// Appends the lowercase text of a UUID (36 bytes).
    public static func appendUUID(_ id: UUID, into out: inout [UInt8]) {
        withUnsafeBytes(of: id.uuid) { raw in
            for (n, byte) in raw.enumerated() {
                if n == 4 || n == 6 || n == 8 || n == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
    }

    /// SHA-256(previous ‖ content); a missing previous hash counts as 32 zero bytes.
    public static func chainHash(previous: [UInt8]?, content: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous ?? zeroHash)
        hasher.update(bufferPointer: UnsafeRawBufferPointer(content))
        // copied as bytes: `Array(digest)` goes through the generic Sequence copy, byte by byte
        return hasher.finalize().withUnsafeBytes { Array($0) }
    }

    static let zeroHash = [UInt8](repeating: 0, count: 32)

    /// Appends `value`'s decimal digits (what `String(value)` spells) without making a string:
    /// positions and versions are spelled in every stored line and checked in every line read.
    static func appendDecimal(_ value: Int64, into out: inout [UInt8]) {
        guard value >= 0 else { return out.append(contentsOf: String(value).utf8) }
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var index = out.count - 1
        rest = value
        repeat {
            out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        } while rest > 0
    }
    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendHex(_ digest: [UInt8], into out: inout [UInt8]) {
        for byte in digest {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0xF)])
        }
    }

    /// Lowercase hex of a digest.
    public static func hex(_ digest: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        appendHex(digest, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The position and id a stored line opens with (`{"position":N,"id":"<uuid>",`: every
    /// stored line is canonical), without parsing the rest; nil when it does not open so.
    static func storedPositionAndID(line: UnsafeBufferPointer<UInt8>) -> (position: Int64, id: UUID)? {
        let open = #"{"position":"#.utf8
        guard line.count > open.count, line.starts(with: open) else { return nil }
        var i = open.count
        var position: Int64 = 0
        let digitsStart = i
        while i < line.count, line[i] >= 0x30, line[i] <= 0x39, i - digitsStart < 18 {
            position = position * 10 + Int64(line[i] - 0x30)
            i += 1
        }
        let middle = #","id":""#.utf8
        guard i > digitsStart, line.count >= i + middle.count + 37,
            UnsafeBufferPointer(rebasing: line[i..<(i + middle.count)]).elementsEqual(middle)
        else { return nil }
        i += middle.count
        guard line[i + 36] == UInt8(ascii: "\""),
            let id = parseUUID(String(decoding: UnsafeBufferPointer(rebasing: line[i..<(i + 36)]), as: UTF8.self))
        else { return nil }
        return (position, id)
    }

    /// Decodes one export line (a stored line with its hash; without a newline) into a recorded event.
    /// - Throws: a ``Rejection`` when the line is not a well-formed event.
    public static func decodeRecorded(line: UnsafeBufferPointer<UInt8>) throws(Rejection) -> RecordedEvent {
        let value: JSONValue
        do {
            value = try JSONParser.parse(buffer: line)
        } catch {
            throw Rejection(field: "(line)", reason: error.description)
        }
        guard case .object(let o) = value,
            case .int(let position)? = o["position"],
            let idText = o["id"]?.stringValue, let id = parseUUID(idText),
            let stream = o["stream"]?.stringValue,
            case .int(let version)? = o["version"],
            let type = o["type"]?.stringValue,
            let occurredText = o["occurredAt"]?.stringValue, let occurredAt = Timestamp(rfc3339: occurredText),
            let recordedText = o["recordedAt"]?.stringValue, let recordedAt = Timestamp(rfc3339: recordedText),
            case .object(let data)? = o["data"],
            case .object(let metadata)? = o["metadata"],
            let hash = o["hash"]?.stringValue
        else {
            throw Rejection(field: "(line)", reason: "not a stored event")
        }
        // the hash is written back as it is (exportLine): anything but 64 lowercase hex digits
        // would make a line that is not JSON, or not an export line (found by the import fuzzer)
        guard hash.utf8.count == 64, hash.utf8.allSatisfy({ isLowerHex($0) }) else {
            throw Rejection(field: "hash", reason: "must be 64 lowercase hex digits")
        }
        return RecordedEvent(
            position: position, id: id, stream: stream, version: version, type: type, occurredAt: occurredAt,
            recordedAt: recordedAt, data: data, metadata: metadata, hash: hash)
    }

    /// The export line of a recorded event, without the newline (what `read` and `export` print).
    public static func exportLine(_ e: RecordedEvent) -> String {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"position":"#.utf8)
        appendDecimal(e.position, into: &out)
        out.append(contentsOf: #","id":""#.utf8)
        appendUUID(e.id, into: &out)
        out.append(contentsOf: #"","stream":"#.utf8)
        JSONValue.writeString(e.stream, into: &out)
        out.append(contentsOf: #","version":"#.utf8)
        appendDecimal(e.version, into: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONValue.writeString(e.type, into: &out)
        out.append(contentsOf: #","occurredAt":""#.utf8)
        out.append(contentsOf: e.occurredAt.rfc3339.utf8)
        out.append(contentsOf: #"","recordedAt":""#.utf8)
        out.append(contentsOf: e.recordedAt.rfc3339.utf8)
        out.append(contentsOf: #"","data":"#.utf8)
        JSONValue.writeObject(e.data, into: &out)
        out.append(contentsOf: #","metadata":"#.utf8)
        JSONValue.writeObject(e.metadata, into: &out)
        out.append(contentsOf: #","hash":""#.utf8)
        out.append(contentsOf: e.hash.utf8)
        out.append(contentsOf: "\"}".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
