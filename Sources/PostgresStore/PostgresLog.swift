import Events
import Foundation
import NIOCore
import PostgresNIO

/// One row of `batches`.
struct BatchRow {
    var first: Int64
    var last: Int64
    var firstRecordedAt: Int64
    var lastRecordedAt: Int64
    var lastHash: [UInt8]
    var rawLength: Int
    var body: [UInt8]

    var count: Int { Int(last - first + 1) }

    static let columns = "first_position, last_position, first_recorded_at, last_recorded_at, last_hash, raw_length, body"

    init(_ row: PostgresRow) throws {
        let r = row.makeRandomAccess()
        first = try r[0].decode(Int64.self, context: .default)
        last = try r[1].decode(Int64.self, context: .default)
        firstRecordedAt = try r[2].decode(Int64.self, context: .default)
        lastRecordedAt = try r[3].decode(Int64.self, context: .default)
        lastHash = try r[4].decode(ByteBuffer.self, context: .default).bytes
        rawLength = Int(try r[5].decode(Int32.self, context: .default))
        body = try r[6].decode(ByteBuffer.self, context: .default).bytes
    }
}

/// The export lines of one batch, chain-checked: `exported[ends[k-1]..<ends[k]]` is the line of
/// position `first + k`.
struct BatchLines {
    var first: Int64
    var exported: [UInt8] = []
    var ends: [Int] = []
    var hashes: [[UInt8]] = []

    func line(at position: Int64, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        let k = Int(position - first)
        let start = k == 0 ? 0 : ends[k - 1]
        try exported.withUnsafeBufferPointer { all in try body(UnsafeBufferPointer(rebasing: all[start..<ends[k]])) }
    }

    var last: Int64 { first + Int64(ends.count) - 1 }
}

/// Reading the log's tables, for the reader and for a writer folding what others appended.
enum PostgresLog {
    /// Up to `limit` batches whose last position is `position` or later, in order.
    static func batches(_ s: PostgresSession, from position: Int64, limit: Int) throws -> [BatchRow] {
        let at = s.location
        return try s.rows(
            "SELECT \(unescaped: BatchRow.columns) FROM \(unescaped: at.table("batches")) WHERE last_position >= \(position) ORDER BY first_position LIMIT \(limit)"
        ).map(BatchRow.init)
    }

    /// The chain hash before position `first` (nil at the start of the log).
    static func hashBefore(_ s: PostgresSession, _ first: Int64) throws -> [UInt8]? {
        guard first > 1 else { return nil }
        let at = s.location
        guard
            let row = try s.rows(
                "SELECT last_hash FROM \(unescaped: at.table("batches")) WHERE last_position = \(first - 1)"
            ).first
        else {
            throw EventStoreError(.corruption, "\(at): no batch ends at position \(first - 1), before the batch at \(first) (run `admin verify`)")
        }
        return try row.at(0, ByteBuffer.self).bytes
    }

    /// A batch's problem, as verify reports it and readers throw it.
    struct Damage: Error {
        var position: Int64
        var reason: String
    }

    /// Decompresses a batch and chains its lines from `previous`.
    /// - Throws: ``Damage`` when the body does not decompress to its length, holds another
    ///   number of lines, other positions, or ends on another hash than the row's.
    static func lines(of batch: BatchRow, previous: [UInt8]?, decompressor: ZstdDecompressor) throws(Damage) -> BatchLines {
        var raw: [UInt8] = []
        let ok = batch.body.withUnsafeBytes { decompressor.decompress($0, size: batch.rawLength, into: &raw) }
        guard ok else { throw Damage(position: batch.first, reason: "the batch's body is not a zstd frame of \(batch.rawLength) bytes") }
        if raw.count > batch.rawLength { raw.removeLast(raw.count - batch.rawLength) }
        var out = BatchLines(first: batch.first)
        out.exported.reserveCapacity(raw.count + batch.count * EventCodec.hashTailCount)
        out.ends.reserveCapacity(batch.count)
        var digest = previous
        var position = batch.first
        do {
            try raw.withUnsafeBufferPointer { buffer in
                var start = 0
                var prefix: [UInt8] = []
                while start < buffer.count {
                    let end = try ChainCheck.nextLine(buffer, from: start, position: position, prefix: &prefix)
                    let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
                    let hash = EventCodec.chainHash(previous: digest, content: line)
                    EventCodec.appendExportLine(stored: line, hash: hash, into: &out.exported)
                    out.ends.append(out.exported.count)
                    out.hashes.append(hash)
                    digest = hash
                    position += 1
                    start = end + 1
                }
            }
        } catch let failure as ChainCheck.Failure {
            throw Damage(position: failure.position, reason: failure.reason)
        } catch {
            throw Damage(position: position, reason: "\(error)")
        }
        guard out.ends.count == batch.count else {
            throw Damage(position: batch.first, reason: "the batch says positions \(batch.first)–\(batch.last), its body holds \(out.ends.count) events")
        }
        guard digest == batch.lastHash else {
            throw Damage(position: batch.last, reason: "hash chain broken: the batch's lines do not end on its last_hash")
        }
        return out
    }

    static func corruption(_ at: PostgresLocation, _ damage: Damage) -> EventStoreError {
        EventStoreError(.corruption, "\(at), table batches, position \(damage.position): \(damage.reason) (run `admin verify`)")
    }

    /// Calls `body` with each export line from `position` through `last`, until it returns false.
    static func forEachLine(
        _ s: PostgresSession, from position: Int64, through last: Int64, decompressor: ZstdDecompressor,
        cache: ((Int64) -> BatchLines?)? = nil, keep: ((BatchLines) -> Void)? = nil,
        _ body: (Int64, UnsafeBufferPointer<UInt8>) throws -> Bool
    ) throws {
        var next = max(position, 1)
        var previous: [UInt8]?? = .none
        while next <= last {
            if let cached = cache?(next) {
                for p in next...min(cached.last, last) {
                    var go = true
                    try cached.line(at: p) { go = try body(p, $0) }
                    if !go { return }
                }
                previous = .some(cached.hashes.last)
                next = cached.last + 1
                continue
            }
            let rows = try batches(s, from: next, limit: last - next < 4096 ? 1 : 8)
            if rows.isEmpty { return }
            for batch in rows {
                guard batch.first <= next else {
                    throw corruption(s.location, Damage(position: next, reason: "no batch holds this position, the next one starts at \(batch.first)"))
                }
                let before: [UInt8]?
                if case .some(let known) = previous { before = known } else { before = try hashBefore(s, batch.first) }
                let lines: BatchLines
                do { lines = try Self.lines(of: batch, previous: before, decompressor: decompressor) } catch {
                    throw corruption(s.location, error)
                }
                keep?(lines)
                for p in next...min(batch.last, last) {
                    var go = true
                    try lines.line(at: p) { go = try body(p, $0) }
                    if !go { return }
                }
                previous = .some(batch.lastHash)
                next = batch.last + 1
                if next > last { return }
            }
        }
    }

    /// The head row: position, chain hash, recordedAt (ms; Int64.min when empty).
    static func head(_ s: PostgresSession, forUpdate: Bool = false) throws -> (position: Int64, hash: [UInt8]?, recordedAt: Int64) {
        let at = s.location
        let sql = "SELECT position, hash, recorded_at FROM \(at.table("head"))" + (forUpdate ? " FOR UPDATE" : "")
        guard let row = try s.rows(PostgresQuery(unsafeSQL: sql)).first else {
            throw EventStoreError(.corruption, "\(at): the head row is missing")
        }
        let r = row.makeRandomAccess()
        let hash = try r[1].decode(ByteBuffer?.self, context: .default)?.bytes
        return (try r[0].decode(Int64.self, context: .default), hash, try r[2].decode(Int64.self, context: .default))
    }
}
