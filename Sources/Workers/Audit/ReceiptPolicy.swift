import Crypto
import Events
import Foundation
import Logging
import Projections
import Synchronization

/// A ``WorkerHook`` that publishes a signed receipt of the log's head into a folder every
/// `everyEvents` new events or every `everyMinutes` minutes with new events: what a ministry
/// posts on its site each week. Files are `receipt-<position, 20 digits>.json`, written whole
/// (beside, synced, renamed), never overwritten. ``ReceiptFolder/check(_:publicKey:reader:)``
/// then shows the history was only ever extended.
public final class ReceiptPolicy: WorkerHook {
    public let reader: any LogReading
    public let directory: String
    public let everyEvents: Int64?
    public let everyMinutes: Double?
    /// The signing key's raw bytes (the key type itself is not `Sendable`).
    let keyBytes: Data
    let now: @Sendable () -> Timestamp
    let logger: Logger
    private let last = Mutex<(position: Int64, at: Timestamp)?>(nil)

    public init(
        reader: any LogReading, key: Curve25519.Signing.PrivateKey, directory: String, everyEvents: Int64? = nil,
        everyMinutes: Double? = nil, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
        logger: Logger = Logger(label: "hromada.receipts")
    ) {
        precondition(everyEvents.map { $0 > 0 } ?? true, "everyEvents must be > 0")
        precondition(everyMinutes.map { $0 > 0 } ?? true, "everyMinutes must be > 0")
        self.reader = reader
        self.keyBytes = key.rawRepresentation
        self.directory = directory
        self.everyEvents = everyEvents
        self.everyMinutes = everyMinutes
        self.now = now
        self.logger = logger
    }

    public func caughtUp(projections: ProjectionStore, source: any EventSource) throws {
        let head = try reader.head().position
        let current = now()
        let previous = last.withLock { last -> (position: Int64, at: Timestamp) in
            if let last { return last }
            let known = (position: ReceiptFolder.positions(in: directory).last ?? 0, at: current)
            last = known
            return known
        }
        guard head > previous.position else { return }
        var due = previous.position == 0
        if let everyEvents, head - previous.position >= everyEvents { due = true }
        if let everyMinutes, Double(current.milliseconds - previous.at.milliseconds) >= everyMinutes * 60_000 { due = true }
        guard due else { return }
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: keyBytes)
        let receipt = try Receipt.sign(reader: reader, position: head, key: key, now: current)
        try DurableFiles.makeDirectory(directory)
        let name = ReceiptFolder.fileName(position: head)
        let path = directory + "/" + name
        if !DurableFiles.exists(path) {
            let tmp = directory + "/.tmp-" + name
            try DurableFiles.writeFile(Data(receipt.fileBytes), to: tmp)
            if try !DurableFiles.renameItem(tmp, path) { try? FileManager.default.removeItem(atPath: tmp) }
            try DurableFiles.sync(directory, directory: true)
        }
        last.withLock { $0 = (head, current) }
        logger.info("receipt published", metadata: ["event.position": "\(head)", "file": "\(path)"])
    }
}

/// A folder of published receipts, checked as a whole.
public enum ReceiptFolder {
    static func fileName(position: Int64) -> String {
        let digits = String(position)
        return "receipt-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".json"
    }

    /// The positions of the receipt files in `directory`, ascending.
    static func positions(in directory: String) -> [Int64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Int64? in
            guard name.hasPrefix("receipt-"), name.hasSuffix(".json") else { return nil }
            return Int64(name.dropFirst(8).dropLast(5))
        }.sorted()
    }

    /// One receipt of the folder and its verdict.
    public struct Entry: Sendable, Hashable, Codable {
        public var file: String
        public var position: Int64?
        public var hash: String?
        public var signedAt: String?
        /// `nil` when the receipt holds; else why it is refused.
        public var refusal: String?
        public var refusalKind: String?
    }

    /// Checks every `*.json` receipt in `directory`, in position order: each is signed by
    /// `publicKey` and this log still has its hash at its position, so the history the receipts
    /// describe was only ever extended. Positions never go down with signing time.
    public static func check(
        _ directory: String, publicKey: Curve25519.Signing.PublicKey, reader: any LogReading
    ) throws -> [Entry] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".json") }
        var entries: [(entry: Entry, signedAt: Timestamp?)] = []
        for name in names {
            let path = directory + "/" + name
            let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
            var entry = Entry(file: name)
            var signedAt: Timestamp?
            do {
                let receipt = try Receipt.parse(bytes)
                entry.position = receipt.position
                entry.hash = receipt.hash
                entry.signedAt = receipt.signedAt.rfc3339
                signedAt = receipt.signedAt
                try receipt.verify(publicKey: publicKey)
                if case .failure(let refusal) = try receipt.check(against: reader) {
                    entry.refusal = refusal.reason
                    entry.refusalKind = refusal.kind.rawValue
                }
            } catch let refusal as Receipt.Refusal {
                entry.refusal = refusal.reason
                entry.refusalKind = refusal.kind.rawValue
            }
            entries.append((entry, signedAt))
        }
        entries.sort { ($0.entry.position ?? -1, $0.entry.file) < ($1.entry.position ?? -1, $1.entry.file) }
        // Signed later yet for an earlier position: the publisher's history went backwards.
        var latest: (Timestamp, Int64)?
        for i in entries.indices {
            guard let at = entries[i].signedAt, let position = entries[i].entry.position else { continue }
            if let (t, p) = latest, at < t, entries[i].entry.refusal == nil {
                entries[i].entry.refusal =
                    "signed at \(at.rfc3339), before the receipt for the earlier position \(p) (signed \(t.rfc3339)): the receipts do not describe a history that only grew"
                entries[i].entry.refusalKind = "out-of-order"
            }
            if latest == nil || at > latest!.0 { latest = (at, position) }
        }
        return entries.map(\.entry)
    }
}

extension ReceiptFolder.Entry {
    init(file: String) {
        self.init(file: file, position: nil, hash: nil, signedAt: nil, refusal: nil, refusalKind: nil)
    }
}
