import Crypto
import Events
import Foundation

/// A signed receipt: a small JSON document in which the publisher of a store states, with an
/// Ed25519 signature, that the store's history had `hash` at `position` when it signed.
///
/// The document (docs/AUDIT.md, "Receipt format"):
///
///     {"algorithm":"Ed25519","format":"hromada-ledger-receipt 1",
///      "hash":"<64 hex: the chain hash at position>","position":N,
///      "publicKey":"<base64 of the raw 32-byte Ed25519 public key>",
///      "recordedAt":"<RFC 3339: that event's recordedAt>",
///      "signature":"<base64 of the 64-byte Ed25519 signature>",
///      "signedAt":"<RFC 3339: the time of signing>",
///      "store":"<64 hex: the chain hash at position 1, which names the history>"}
///
/// The signature is over the **signed bytes**: the canonical JSON (``JSONValue/canonicalBytes``:
/// compact, keys sorted by their UTF-8 bytes, integers in decimal, strings with only `"`, `\`
/// and control characters escaped) of the document without its `signature` member. Every value
/// in the document is ASCII, so Python's
/// `json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()` gives the same bytes.
public struct Receipt: Sendable, Hashable {
    /// The `format` member of every receipt this build writes and reads.
    public static let format = "hromada-ledger-receipt 1"
    /// The `algorithm` member.
    public static let algorithm = "Ed25519"

    /// The chain hash at position 1 (lowercase hex): two logs with the same first event hash
    /// share their history from its start; any other store has another one.
    public var store: String
    public var position: Int64
    /// The chain hash at `position` (lowercase hex).
    public var hash: String
    /// The recordedAt of the event at `position`.
    public var recordedAt: Timestamp
    /// When the receipt was signed.
    public var signedAt: Timestamp
    /// The signer's public key: the raw 32 bytes.
    public var publicKey: [UInt8]
    /// The Ed25519 signature of ``signedBytes`` (64 bytes); empty before signing.
    public var signature: [UInt8]

    public init(
        store: String, position: Int64, hash: String, recordedAt: Timestamp, signedAt: Timestamp,
        publicKey: [UInt8], signature: [UInt8] = []
    ) {
        self.store = store
        self.position = position
        self.hash = hash
        self.recordedAt = recordedAt
        self.signedAt = signedAt
        self.publicKey = publicKey
        self.signature = signature
    }

    /// The members of the document other than `signature`.
    var unsignedMembers: [String: JSONValue] {
        [
            "format": .string(Self.format), "algorithm": .string(Self.algorithm),
            "store": .string(store), "position": .int(position), "hash": .string(hash),
            "recordedAt": .string(recordedAt.rfc3339), "signedAt": .string(signedAt.rfc3339),
            "publicKey": .string(Data(publicKey).base64EncodedString()),
        ]
    }

    /// The bytes the signature is over: the canonical JSON of the document without `signature`.
    public var signedBytes: [UInt8] { JSONValue.object(unsignedMembers).canonicalBytes }

    /// The whole document, signature included.
    public var document: JSONValue {
        var members = unsignedMembers
        members["signature"] = .string(Data(signature).base64EncodedString())
        return .object(members)
    }

    /// The document as a file holds it: its canonical JSON and a newline.
    public var fileBytes: [UInt8] { document.canonicalBytes + [0x0A] }

    // MARK: - signing

    /// The receipt of `reader`'s log at `position` (the head when nil), signed with `key` at `now`.
    /// - Throws: ``EventStoreError`` `.notFound` when the log is empty or has no such position.
    public static func sign(
        reader: any LogReading, position: Int64? = nil, key: Curve25519.Signing.PrivateKey, now: Timestamp = .now()
    ) throws -> Receipt {
        let head = try reader.head()
        guard head.position >= 1 else {
            throw EventStoreError(.notFound, "the log of \(reader.storeName) is empty: there is nothing to sign")
        }
        let at = position ?? head.position
        guard at >= 1, at <= head.position else {
            throw EventStoreError(.notFound, "the log has no position \(at) (its head is position \(head.position))")
        }
        guard let first = try reader.hash(at: 1), let event = try reader.event(at: at) else {
            throw EventStoreError(.notFound, "the log has no event at position \(at)")
        }
        var receipt = Receipt(
            store: first, position: at, hash: event.hash, recordedAt: event.recordedAt, signedAt: now,
            publicKey: Array(key.publicKey.rawRepresentation))
        receipt.signature = Array(try key.signature(for: receipt.signedBytes))
        return receipt
    }

    // MARK: - reading

    /// Why a document is not a receipt (malformed), or why a receipt is refused.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Kind: String, Sendable, Hashable, Codable {
            /// Not a receipt document of this format.
            case malformed
            /// Signed by another key than the one the auditor trusts.
            case wrongKey = "wrong-key"
            /// The signature does not hold: the receipt was altered after signing, or forged.
            case badSignature = "bad-signature"
            /// A receipt of another store (another hash at position 1).
            case otherStore = "other-store"
            /// A position later than this log's head.
            case beyondHead = "beyond-head"
            /// This log has another hash (or recordedAt) at that position: history was rewritten.
            case rewritten
        }
        public var kind: Kind
        public var reason: String
        public init(_ kind: Kind, _ reason: String) {
            self.kind = kind
            self.reason = reason
        }
        public var description: String { reason }
    }

    /// Reads a receipt document (the signature is not checked here: see ``verify(publicKey:)``).
    public static func parse(_ bytes: [UInt8]) throws(Refusal) -> Receipt {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch {
            throw Refusal(.malformed, "the receipt is not JSON: \(error)")
        }
        guard let members = value.objectValue else { throw Refusal(.malformed, "the receipt is not a JSON object") }
        func string(_ name: String) throws(Refusal) -> String {
            guard let s = members[name]?.stringValue else {
                throw Refusal(.malformed, "the receipt has no \(name) string")
            }
            return s
        }
        func hex64(_ name: String) throws(Refusal) -> String {
            let s = try string(name)
            guard s.utf8.count == 64, s.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw Refusal(.malformed, "the receipt's \(name) is not 64 lowercase hex digits")
            }
            return s
        }
        func time(_ name: String) throws(Refusal) -> Timestamp {
            let s = try string(name)
            guard let t = Timestamp(rfc3339: s) else { throw Refusal(.malformed, "the receipt's \(name) is not an RFC 3339 time") }
            return t
        }
        func base64(_ name: String, count: Int) throws(Refusal) -> [UInt8] {
            guard let data = Data(base64Encoded: try string(name)), data.count == count else {
                throw Refusal(.malformed, "the receipt's \(name) is not the base64 of \(count) bytes")
            }
            return Array(data)
        }
        let format = try string("format")
        guard format == Self.format else {
            throw Refusal(.malformed, "the receipt's format is \"\(format)\"; this build reads \"\(Self.format)\"")
        }
        guard try string("algorithm") == Self.algorithm else {
            throw Refusal(.malformed, "the receipt's algorithm is not \(Self.algorithm)")
        }
        let known: Set<String> = ["format", "algorithm", "store", "position", "hash", "recordedAt", "signedAt", "publicKey", "signature"]
        if let extra = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw Refusal(.malformed, "the receipt has a member \(extra) that format \"\(Self.format)\" does not define")
        }
        guard let position = members["position"]?.intValue, position >= 1 else {
            throw Refusal(.malformed, "the receipt has no position (an integer >= 1)")
        }
        return Receipt(
            store: try hex64("store"), position: position, hash: try hex64("hash"), recordedAt: try time("recordedAt"),
            signedAt: try time("signedAt"), publicKey: try base64("publicKey", count: 32),
            signature: try base64("signature", count: 64))
    }

    // MARK: - verifying

    /// Checks that the receipt names `publicKey` and that its signature holds for it.
    public func verify(publicKey: Curve25519.Signing.PublicKey) throws(Refusal) {
        let trusted = Array(publicKey.rawRepresentation)
        guard self.publicKey == trusted else {
            throw Refusal(
                .wrongKey,
                "the receipt is signed by another key (\(ReceiptKeys.fingerprint(self.publicKey))) than the public key given (\(ReceiptKeys.fingerprint(trusted)))")
        }
        guard publicKey.isValidSignature(signature, for: signedBytes) else {
            throw Refusal(
                .badSignature,
                "the signature does not hold: the receipt was altered after it was signed, or forged")
        }
    }

    /// Checks that `reader`'s log is the receipt's store and still has its hash at its position.
    public func check(against reader: any LogReading) throws -> Result<Void, Refusal> {
        let head = try reader.head()
        guard let first = try reader.hash(at: 1) else {
            return .failure(Refusal(.otherStore, "the log of \(reader.storeName) is empty: it is not the store the receipt names"))
        }
        guard first == store else {
            return .failure(
                Refusal(
                    .otherStore,
                    "the receipt is of another store: its history starts with hash \(store), this log's with \(first)"))
        }
        guard position <= head.position else {
            return .failure(
                Refusal(
                    .beyondHead,
                    "the receipt is for position \(position), beyond this log's head (position \(head.position)): this log lacks events the publisher had signed"))
        }
        guard let event = try reader.event(at: position) else {
            return .failure(Refusal(.beyondHead, "this log has no event at position \(position)"))
        }
        guard event.hash == hash else {
            return .failure(
                Refusal(
                    .rewritten,
                    "this log has hash \(event.hash) at position \(position), the receipt \(hash): the history was rewritten since it was signed"))
        }
        guard event.recordedAt == recordedAt else {
            return .failure(
                Refusal(
                    .rewritten,
                    "the event at position \(position) was recorded at \(event.recordedAt.rfc3339), the receipt says \(recordedAt.rfc3339)"))
        }
        return .success(())
    }
}

/// Ed25519 key files for receipts: a header line and the base64 of the raw 32-byte key.
///
///     hromada-ledger ed25519 private key      (mode 0600)
///     <base64 of the 32-byte seed>
///
///     hromada-ledger ed25519 public key       (mode 0644)
///     <base64 of the 32-byte public key>
public enum ReceiptKeys {
    public static let privateHeader = "hromada-ledger ed25519 private key"
    public static let publicHeader = "hromada-ledger ed25519 public key"

    /// The text of a key file.
    public static func text(header: String, raw: some DataProtocol) -> String {
        header + "\n" + Data(raw).base64EncodedString() + "\n"
    }

    /// Writes a new key pair; never overwrites: refuses when either file exists (the private one
    /// is created with O_EXCL, mode 0600; the public one 0644).
    @discardableResult
    public static func create(privatePath: String, publicPath: String) throws -> Curve25519.Signing.PrivateKey {
        for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw EventStoreError(.invalidArgument, "\(path) exists; refusing to overwrite a key file")
        }
        let key = Curve25519.Signing.PrivateKey()
        try write(text(header: privateHeader, raw: key.rawRepresentation), to: privatePath, mode: 0o600)
        do {
            try write(text(header: publicHeader, raw: key.publicKey.rawRepresentation), to: publicPath, mode: 0o644)
        } catch {
            unlink(privatePath)
            throw error
        }
        return key
    }

    static func write(_ text: String, to path: String, mode: mode_t) throws {
        let file = try PosixFile(path: path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode, failure: "cannot create \(path)")
        // open's mode is masked by the umask; say exactly what the file's mode is.
        guard fchmod(file.fd, mode) == 0 else { throw EventStoreError(.io, "cannot set the mode of \(path)") }
        let bytes = Array(text.utf8)
        do {
            try file.writeAll(bytes)
            try file.sync()
        } catch {
            throw EventStoreError(.io, "cannot write \(path)")
        }
    }

    static func read(_ path: String, header: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EventStoreError(.missingInput, "there is no key file \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EventStoreError(.io, "cannot read \(path)")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard lines.count == 2, lines[0] == header, let raw = Data(base64Encoded: lines[1]), raw.count == 32 else {
            throw EventStoreError(
                .invalidArgument, "\(path) is not a key file: its first line must be \"\(header)\" and its second the base64 of 32 bytes")
        }
        return Array(raw)
    }

    /// Reads a private key file.
    public static func loadPrivate(_ path: String) throws -> Curve25519.Signing.PrivateKey {
        let raw = try read(path, header: privateHeader)
        return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }

    /// Reads a public key file.
    public static func loadPublic(_ path: String) throws -> Curve25519.Signing.PublicKey {
        let raw = try read(path, header: publicHeader)
        return try Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }

    /// A short name of a public key: the first 16 hex digits of its SHA-256.
    public static func fingerprint(_ raw: some DataProtocol) -> String {
        SHA256.hash(data: Data(raw)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
