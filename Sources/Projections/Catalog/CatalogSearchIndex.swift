import Foundation
import GRDB

/// An in-memory copy of the catalog's search data at one content version, answering searches
/// with exactly what the FTS5 query answers (same matches, same BM25 scores, same order), in a
/// fraction of the time: FTS5 scores every matching row, and with a small vocabulary a common
/// word matches most of the catalog.
///
/// It is built from the `catalog_search` rows (the normalized text FTS5 indexes, whose words are
/// separated by single spaces, so splitting on spaces gives FTS5's tokens), keyed by the
/// projection's generation and `catalog_state.contentVersion`, and used only while both match.
/// Immutable once built.
final class CatalogSearchIndex: Sendable {
    struct Key: Hashable, Sendable {
        var generation: Int
        var contentVersion: Int64
    }

    /// The BM25 column weights of the FTS5 query: title, summary, body, tags.
    static let weights: [Double] = [10.0, 3.0, 1.0, 5.0]

    let key: Key
    /// Documents in `practiceId` order (the order of ties and of listings).
    let docids: [Int64]
    /// Tokens of each document, all columns.
    let lengths: [Int32]
    let totalTokens: Int64
    /// Facet values per document, as indexes into `values` (-1: none).
    let sector: [Int32]
    let oblast: [Int32]
    let community: [Int32]
    let directions: [[Int32]]
    let forms: [[Int32]]
    let values: [String]
    let valueIds: [String: Int32]
    /// Terms (UTF-8) in one buffer, `termOffsets[t]..<termOffsets[t + 1]`.
    let termBytes: [UInt8]
    let termOffsets: [Int]
    /// Term ids in byte order, for prefix ranges.
    let sortedTerms: [Int32]
    /// Postings of term t: `postingStart[t]..<postingStart[t + 1]` into `postingDoc` (document
    /// indexes, ascending) and `postingFreq` (the weighted frequency: Σ weight(column) × count).
    let postingStart: [Int]
    let postingDoc: [Int32]
    let postingFreq: [Double]

    /// Reads the catalog tables in `db` (a read transaction) and builds the index.
    init(_ db: Database, key: Key) throws {
        self.key = key
        var docids: [Int64] = []
        var lengths: [Int32] = []
        var totalTokens: Int64 = 0
        var sector: [Int32] = []
        var oblast: [Int32] = []
        var community: [Int32] = []
        var directions: [[Int32]] = []
        var forms: [[Int32]] = []
        var values: [String] = []
        var valueIds: [String: Int32] = [:]
        func intern(_ s: String?) -> Int32 {
            guard let s else { return -1 }
            if let id = valueIds[s] { return id }
            let id = Int32(values.count)
            values.append(s)
            valueIds[s] = id
            return id
        }
        var terms = TermTable()
        var scratch: [Double] = []
        var touched: [Int32] = []
        var pTerm: [Int32] = []
        var pDoc: [Int32] = []
        var pFreq: [Double] = []
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT p.docid, p.sector, p.oblast, p.communityId, p.directions, p.participationForms,
                    s.title, s.summary, s.body, s.tags
                FROM catalog_practice p JOIN catalog_search s ON s.rowid = p.docid
                ORDER BY p.practiceId
                """)
        while let row = try rows.next() {
            let doc = Int32(docids.count)
            docids.append(row[0])
            sector.append(intern(row[1]))
            oblast.append(intern(row[2]))
            community.append(intern(row[3]))
            directions.append(JSONText.decode(row[4]).map { intern($0) })
            forms.append(JSONText.decode(row[5]).map { intern($0) })
            var length: Int32 = 0
            for column in 0..<4 {
                let weight = Self.weights[column]
                guard let text = row[6 + column] as String? else { continue }
                var text2 = text
                text2.withUTF8 { bytes in
                    var start = 0
                    var i = 0
                    while i <= bytes.count {
                        if i == bytes.count || bytes[i] == 0x20 {
                            if i > start {
                                let t = Int(terms.id(of: UnsafeBufferPointer(rebasing: bytes[start..<i])))
                                if t >= scratch.count { scratch.append(contentsOf: repeatElement(0, count: t + 1 - scratch.count)) }
                                if scratch[t] == 0 { touched.append(Int32(t)) }
                                scratch[t] += weight
                                length += 1
                            }
                            start = i + 1
                        }
                        i += 1
                    }
                }
            }
            for t in touched {
                pTerm.append(t)
                pDoc.append(doc)
                pFreq.append(scratch[Int(t)])
                scratch[Int(t)] = 0
            }
            touched.removeAll(keepingCapacity: true)
            lengths.append(length)
            totalTokens += Int64(length)
        }
        // Postings grouped by term (a counting sort keeps documents ascending within a term).
        let termCount = terms.count
        var start = [Int](repeating: 0, count: termCount + 1)
        for t in pTerm { start[Int(t) + 1] += 1 }
        for t in 0..<termCount { start[t + 1] += start[t] }
        var fill = start
        var postingDoc = [Int32](repeating: 0, count: pTerm.count)
        var postingFreq = [Double](repeating: 0, count: pTerm.count)
        for i in pTerm.indices {
            let t = Int(pTerm[i])
            postingDoc[fill[t]] = pDoc[i]
            postingFreq[fill[t]] = pFreq[i]
            fill[t] += 1
        }
        let termBytes = terms.bytes
        let termOffsets = terms.offsets
        func term(_ t: Int32) -> ArraySlice<UInt8> {
            let i = Int(t)
            return termBytes[termOffsets[i]..<termOffsets[i + 1]]
        }
        let sortedTerms = (0..<Int32(termCount)).sorted { (a: Int32, b: Int32) -> Bool in
            term(a).lexicographicallyPrecedes(term(b))
        }
        self.docids = docids
        self.lengths = lengths
        self.totalTokens = totalTokens
        self.sector = sector
        self.oblast = oblast
        self.community = community
        self.directions = directions
        self.forms = forms
        self.values = values
        self.valueIds = valueIds
        self.termBytes = termBytes
        self.termOffsets = termOffsets
        self.sortedTerms = sortedTerms
        self.postingStart = start
        self.postingDoc = postingDoc
        self.postingFreq = postingFreq
    }

    /// What a search found: the total, the facets, and the first `limit` documents in order.
    struct Result {
        var total: Int
        var facets: CatalogPage.Facets
        var top: [(docid: Int64, relevance: Double?)]
    }

    /// Searches for documents holding, for every stem, a word that starts with it, as FTS5's
    /// `"stem"* AND ...` does, scoring with FTS5's `bm25(10, 3, 1, 5)` formula step by step.
    func search(stems: [String], filters: CatalogFilters, limit: Int) -> Result {
        let n = docids.count
        // Filters, as value ids (a value never seen matches nothing).
        func id(_ v: String?) -> Int32? { v.map { valueIds[$0] ?? -2 } }
        let fSector = id(filters.sector)
        let fDirection = id(filters.direction)
        let fForm = id(filters.form)
        let fOblast = id(filters.oblast)
        let fCommunity = id(filters.community)
        func passes(_ d: Int) -> Bool {
            if let f = fSector, sector[d] != f { return false }
            if let f = fOblast, oblast[d] != f { return false }
            if let f = fCommunity, community[d] != f { return false }
            if let f = fDirection, !directions[d].contains(f) { return false }
            if let f = fForm, !forms[d].contains(f) { return false }
            return true
        }
        var counts = FacetCounts(valueCount: values.count)
        var top = TopK(limit: limit)
        var total = 0
        if stems.isEmpty {
            for d in 0..<n where passes(d) {
                total += 1
                counts.add(self, d)
                top.offer(doc: d, score: 0)
            }
            return Result(
                total: total, facets: counts.facets(values), top: top.sorted.map { (docids[$0.doc], nil) })
        }
        // Weighted frequencies per phrase and document, and the documents each phrase hits.
        var freqs: [[Double]] = []
        var idf: [Double] = []
        for stem in stems {
            var freq = [Double](repeating: 0, count: n)
            var hits: Int64 = 0
            for t in termRange(prefix: Array(stem.utf8)) {
                let term = Int(sortedTerms[t])
                for p in postingStart[term]..<postingStart[term + 1] {
                    let d = Int(postingDoc[p])
                    if freq[d] == 0 { hits += 1 }
                    freq[d] += postingFreq[p]
                }
            }
            var value = log((Double(Int64(n) - hits) + 0.5) / (Double(hits) + 0.5))
            if value <= 0.0 { value = 1e-6 }
            idf.append(value)
            freqs.append(freq)
        }
        let k1 = 1.2
        let b = 0.75
        let avgdl = Double(totalTokens) / Double(n)
        docs: for d in 0..<n {
            for freq in freqs where freq[d] == 0 { continue docs }
            guard passes(d) else { continue }
            let length = Double(lengths[d])
            var score = 0.0
            for i in freqs.indices {
                let f = freqs[i][d]
                score += idf[i] * ((f * (k1 + 1.0)) / (f + k1 * (1 - b + b * length / avgdl)))
            }
            total += 1
            counts.add(self, d)
            top.offer(doc: d, score: -1.0 * score)
        }
        return Result(
            total: total, facets: counts.facets(values),
            top: top.sorted.map { (docids[$0.doc], -$0.score) })
    }

    /// The positions in `sortedTerms` of the terms starting with `prefix`.
    func termRange(prefix: [UInt8]) -> Range<Int> {
        func term(_ i: Int) -> ArraySlice<UInt8> {
            let t = Int(sortedTerms[i])
            return termBytes[termOffsets[t]..<termOffsets[t + 1]]
        }
        var low = 0
        var high = sortedTerms.count
        while low < high {
            let mid = (low + high) / 2
            if term(mid).lexicographicallyPrecedes(prefix) { low = mid + 1 } else { high = mid }
        }
        var end = low
        while end < sortedTerms.count, term(end).starts(with: prefix) { end += 1 }
        return low..<end
    }
}

/// Facet counts by value id.
struct FacetCounts {
    var sector: [Int]
    var direction: [Int]
    var form: [Int]
    var oblast: [Int]
    var community: [Int]

    init(valueCount: Int) {
        sector = Array(repeating: 0, count: valueCount)
        direction = sector
        form = sector
        oblast = sector
        community = sector
    }

    mutating func add(_ index: CatalogSearchIndex, _ d: Int) {
        if index.sector[d] >= 0 { sector[Int(index.sector[d])] += 1 }
        if index.oblast[d] >= 0 { oblast[Int(index.oblast[d])] += 1 }
        if index.community[d] >= 0 { community[Int(index.community[d])] += 1 }
        for v in index.directions[d] { direction[Int(v)] += 1 }
        for v in index.forms[d] { form[Int(v)] += 1 }
    }

    func facets(_ values: [String]) -> CatalogPage.Facets {
        func map(_ counts: [Int]) -> [String: Int] {
            var out: [String: Int] = [:]
            for (i, c) in counts.enumerated() where c > 0 { out[values[i]] = c }
            return out
        }
        var f = CatalogPage.Facets()
        f.sector = map(sector)
        f.direction = map(direction)
        f.form = map(form)
        f.oblast = map(oblast)
        f.community = map(community)
        return f
    }
}

/// The `limit` best (lowest score, then lowest document index) of the documents offered.
struct TopK {
    let limit: Int
    /// Small limits keep a sorted array; large ones collect everything and sort once.
    private var best: [(doc: Int, score: Double)] = []

    init(limit: Int) { self.limit = max(0, limit) }

    static func precedes(_ a: (doc: Int, score: Double), _ b: (doc: Int, score: Double)) -> Bool {
        a.score < b.score || (a.score == b.score && a.doc < b.doc)
    }

    mutating func offer(doc: Int, score: Double) {
        guard limit > 0 else { return }
        let item = (doc: doc, score: score)
        if limit > 64 {
            best.append(item)
            return
        }
        if best.count == limit, let last = best.last, !Self.precedes(item, last) { return }
        var i = best.count
        while i > 0, Self.precedes(item, best[i - 1]) { i -= 1 }
        best.insert(item, at: i)
        if best.count > limit { best.removeLast() }
    }

    var sorted: [(doc: Int, score: Double)] {
        guard limit > 64 else { return best }
        return Array(best.sorted(by: Self.precedes).prefix(limit))
    }
}

/// Term ids by their UTF-8 bytes: an open-addressing hash table over one byte buffer.
struct TermTable {
    private(set) var bytes: [UInt8] = []
    private(set) var offsets: [Int] = [0]
    private var slots: [Int32] = Array(repeating: -1, count: 1 << 12)

    var count: Int { offsets.count - 1 }

    mutating func id(of term: UnsafeBufferPointer<UInt8>) -> Int32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in term {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let existing = slots[slot]
            if existing < 0 { break }
            let a = offsets[Int(existing)]
            let e = offsets[Int(existing) + 1]
            if e - a == term.count, bytes[a..<e].elementsEqual(term) { return existing }
            slot = (slot + 1) & mask
        }
        let id = Int32(count)
        bytes.append(contentsOf: term)
        offsets.append(bytes.count)
        slots[slot] = id
        if count * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for t in 0..<count {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes[offsets[t]..<offsets[t + 1]] {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(t)
        }
    }
}
