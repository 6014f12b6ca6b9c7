import Events
import Foundation

/// `GET /api/v1/events?from=P`: the log's export lines *after* position P (`from=0`: from the
/// first event), in order, as `admin export` writes them (one stored event per line, each carrying its position
/// and hash), then, with `follow=true`, each new line as it is committed — what KurrentDB calls
/// a catch-up subscription.
///
/// A client keeps the position of the last line it has and reconnects with it: it gets every
/// later line exactly once, whatever happened to the connection. Lines are read in batches on a
/// blocking lane; the stream waits for the client (a slow reader holds no more than one batch
/// in memory). While following, an empty line is sent every keep-alive interval (NDJSON readers
/// skip empty lines); a graceful shutdown ends the stream after the batch being sent.
struct CatchUpSubscription: Sendable {
    let models: ReadModelService
    let feed: LiveFeed
    /// The lines read and sent at a time.
    static let batch = 1000

    /// - Parameters:
    ///   - positions: read before the subscription (its head is the `X-Head-Position` header).
    func answer(after start: Int64, limit: Int?, follow: Bool, positions: ModelPositions) -> API.Answer {
        let head = positions.head
        let reader = models.reader
        let models = self.models
        // Subscribed before the first read: a line committed meanwhile wakes the loop.
        let updates: AsyncStream<LiveFeed.Update>? = follow ? feed.subscribe(from: positions) : nil
        return API.Answer(
            status: 200, contentType: "application/x-ndjson; charset=utf-8",
            headers: ["Cache-Control": "no-store", "X-Head-Position": String(head)]
        ) { writer in
            var iterator = updates?.makeAsyncIterator()
            var next = start + 1
            var sent = 0
            while true {
                let want = min(Self.batch, limit.map { $0 - sent } ?? Self.batch)
                let from = next
                let (text, count, last) = try await models.blocking {
                    var text = ""
                    var count = 0
                    var last = from - 1
                    try reader.forEachLine(from: from) { position, line in
                        text += String(decoding: line, as: UTF8.self)
                        text += "\n"
                        count += 1
                        last = position
                        return count < want
                    }
                    return (text, count, last)
                }
                if count > 0 {
                    try await writer.write(text)
                    sent += count
                    next = last + 1
                }
                if let limit, sent >= limit { return }
                if count == want { continue }
                // Caught up with the head.
                guard iterator != nil else { return }
                waiting: while true {
                    switch await iterator?.next() {
                    case .none:
                        return  // the service stops
                    case .some(.keepAlive):
                        try await writer.write("\n")
                    case .some(.moved(let positions, _)):
                        if positions.head >= next { break waiting }
                    }
                }
            }
        }
    }
}
