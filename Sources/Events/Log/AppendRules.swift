import Foundation

/// The checks every backend runs on a proposed event once it knows the event's id is new and
/// its stream's last version, and the encoding of its stored line: one implementation for the
/// file store's ``LogWriter`` and the PostgreSQL store, so that the two accept the same events
/// and write the same bytes.
package enum AppendRules {
    /// Where the chain stands before the event: the position it gets, the previous event's hash
    /// and `recordedAt` (milliseconds; `Int64.min` on an empty log).
    package struct Tail: Sendable {
        package var nextPosition: Int64
        package var lastHash: [UInt8]?
        package var lastRecordedAt: Int64
        package init(nextPosition: Int64, lastHash: [UInt8]?, lastRecordedAt: Int64) {
            self.nextPosition = nextPosition
            self.lastHash = lastHash
            self.lastRecordedAt = lastRecordedAt
        }
    }

    /// What an admitted event is stored with.
    package struct Admitted: Sendable {
        package var position: Int64
        package var version: Int64
        package var recordedAt: Int64
    }

    /// Checks `event` against its stream's last version (nil: a new stream), the chain's tail,
    /// the clock (`now`, milliseconds) and, with `validate`, the catalog's payload checks and the
    /// business rules of `domain`. Changes nothing.
    /// - Throws: a ``Rejection`` naming the field, or ``EventStoreError`` `.wrongExpectedVersion`.
    package static func admit(
        _ event: ProposedEvent, validate: Bool, streamLastVersion: Int64?, tail: Tail, now: Int64, domain: DomainState
    ) throws -> Admitted {
        if validate, let rejection = event.encodedPayload?.payloadRejection { throw rejection }
        let version = (streamLastVersion ?? -1) + 1
        if let expected = event.expectedVersion {
            let actual = streamLastVersion ?? -1
            if expected != actual {
                throw VersionConflict(stream: event.stream, expected: expected, actual: actual == -1 ? nil : actual).error
            }
        }
        let position = tail.nextPosition
        let lastRecordedAt = tail.lastRecordedAt
        if let given = event.recordedAt, given.milliseconds > now + ProposedEvent.maxClockSkewMilliseconds {
            throw Rejection(
                field: "recordedAt",
                reason: "\(given.rfc3339) is later than this machine's clock (\(Timestamp(milliseconds: now).rfc3339)) plus 5 minutes of skew; a future recordedAt would hold every later event at that time")
        }
        var recordedAt = event.recordedAt?.milliseconds ?? max(now, lastRecordedAt)
        if event.occurredAt.milliseconds > max(recordedAt, now) + ProposedEvent.maxClockSkewMilliseconds {
            throw Rejection(
                field: "occurredAt",
                reason: "\(event.occurredAt.rfc3339) is in the future (the clock says \(Timestamp(milliseconds: max(recordedAt, now)).rfc3339), 5 minutes of skew allowed); an event is recorded after it happens")
        }
        if event.recordedAt != nil, recordedAt < lastRecordedAt {
            throw Rejection(
                field: "recordedAt",
                reason: "\(event.recordedAt!.rfc3339) is before the log's last recordedAt \(Timestamp(milliseconds: lastRecordedAt).rfc3339); recordedAt never decreases")
        }
        if recordedAt < lastRecordedAt { recordedAt = lastRecordedAt }
        if let exported = event.exported {
            guard exported.position == position else {
                throw Rejection(field: "position", reason: "this exported event had position \(exported.position); the log's next position is \(position)")
            }
            if let v = exported.version, v != version {
                throw Rejection(field: "version", reason: "this exported event had version \(v); its stream's next version here is \(version)")
            }
        }
        if validate { try domain.check(event, payloadChecked: event.encodedPayload?.payloadChecked ?? false) }
        return Admitted(position: position, version: version, recordedAt: recordedAt)
    }

    /// Appends the stored line of an admitted event (with its newline) to `lines` and returns its
    /// chain hash; an exported event's hash must be the one computed here.
    /// - Throws: a ``Rejection`` of field `hash` (and `lines` is as it was).
    package static func encode(
        _ event: ProposedEvent, id: UUID, _ admitted: Admitted, previousHash: [UInt8]?, into lines: inout [UInt8]
    ) throws -> [UInt8] {
        let start = lines.count
        let digest = EventCodec.encodeLine(
            position: admitted.position, id: id, stream: event.stream, version: admitted.version, type: event.type,
            occurredAt: event.occurredAt, recordedAt: Timestamp(milliseconds: admitted.recordedAt), data: event.data,
            metadata: event.metadata, encoded: event.encodedPayload, previousHash: previousHash, into: &lines)
        if let expectedHash = event.exported?.hash, expectedHash != EventCodec.hex(digest) {
            lines.removeLast(lines.count - start)
            throw Rejection(
                field: "hash",
                reason: "the exported hash does not match the event's bytes and the previous hash here (altered export, or a different history)")
        }
        return digest
    }
}
