import Foundation
import GRDB

/// Reads the ids of stored events from the log for the writer, which confirms with it a match
/// of an id's ``IDKey`` in the index (the key is shorter than the id). Keeps the frame read
/// last: an import sent a second time asks for the ids of one frame's events one after another.
final class StoredIDs {
    let layout: StoreLayout
    private var frame: LogIndex.Frame?
    private var body: [UInt8] = []
    /// Where each line of `body` starts.
    private var starts: [Int] = []

    init(layout: StoreLayout) {
        self.layout = layout
    }

    /// The id of the event at `position`, from its frame in the log (which the index in `db`
    /// locates: frames the writer has written but not yet committed are there too).
    func id(at position: Int64, in db: Database) throws -> UUID {
        if frame == nil || position < frame!.firstPosition || position > frame!.lastPosition {
            try load(position, db)
        }
        let k = Int(position - frame!.firstPosition)
        let end = k + 1 < starts.count ? starts[k + 1] - 1 : body.count - 1
        let found = body.withUnsafeBufferPointer { b in
            EventCodec.storedPositionAndID(line: UnsafeBufferPointer(rebasing: b[starts[k]..<end]))
        }
        guard let found, found.position == position else {
            throw EventStoreError(.corruption, "the stored line at position \(position) does not open with its position and id")
        }
        return found.id
    }

    /// Forgets the frame kept: the writer abandoned a request, and its frames' bytes are gone.
    func forget() {
        frame = nil
        body = []
        starts = []
    }

    private func load(_ position: Int64, _ db: Database) throws {
        forget()
        guard let found = try LogIndex.frame(containing: position, in: db) else {
            throw EventStoreError(.corruption, "the index files an id at position \(position) but has no frame holding it")
        }
        let file = try PosixFile(path: layout.segmentPath(firstPosition: found.segment), flags: O_RDONLY)
        let lines = try EventLogReader.body(of: found, in: file)
        var starts = [0]
        starts.reserveCapacity(Int(found.count) + 1)
        for (i, b) in lines.enumerated() where b == 0x0A && i + 1 < lines.count { starts.append(i + 1) }
        guard starts.count == Int(found.count), lines.last == 0x0A else {
            throw EventStoreError(.corruption, "the frame at position \(found.firstPosition) does not hold \(found.count) lines")
        }
        (frame, body, self.starts) = (found, lines, starts)
    }
}
