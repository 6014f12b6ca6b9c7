import Foundation
import Testing
import TestSupport

@testable import Events

/// An abandoned request puts the domain state back as it was when the request began. The writer
/// keeps, instead of a copy of the state, what each event is about to change
/// (``DomainState/Rollback``), and switches to a copy past ``DomainState/Rollback/journalLimit``
/// events: both ways must give back exactly the state before.
@Suite struct DomainRollbackTests {
    static func events() throws -> [ProposedEvent] {
        try Sample.lines().map { try EventCodec.decodeProposed(line: $0) }
    }

    /// Applies `events` as a request would, then abandons it.
    static func abandoned(_ events: ArraySlice<ProposedEvent>, from state: DomainState) -> (after: DomainState, restored: DomainState) {
        var state = state
        var rollback: DomainState.Rollback? = DomainState.Rollback()
        for e in events {
            state.apply(type: e.type, stream: e.stream, occurredAt: e.occurredAt, data: e.data, recordingInto: &rollback)
        }
        let after = state
        rollback?.restore(&state)
        return (after, state)
    }

    @Test(arguments: [0, 1, 300, 700])
    func aRequestOfEveryKindOfEventIsUndone(start: Int) throws {
        let events = try Self.events()
        var before = DomainState()
        for e in events[..<start] { before.apply(type: e.type, stream: e.stream, occurredAt: e.occurredAt, data: e.data) }
        // The rest of the sample: competitions, filings, scores and retractions, withdrawals,
        // winners, communities joining and leaving, seminars, practices published and unpublished.
        let (after, restored) = Self.abandoned(events[start...], from: before)
        let changed = after != before
        #expect(changed, "the request changed the state")
        let same = restored == before  // (a Bool: the states themselves are too long to print)
        #expect(same)
    }

    @Test func aRequestLongerThanTheJournalIsUndoneThroughACopy() throws {
        let events = try Self.events()
        var before = DomainState()
        for e in events { before.apply(type: e.type, stream: e.stream, occurredAt: e.occurredAt, data: e.data) }
        // New communities, then each joins the network: more entries than the journal keeps,
        // and entries changed twice (the oldest value must win).
        let n = DomainState.Rollback.journalLimit / 2 + 10
        var request: [ProposedEvent] = []
        for i in 0..<n {
            request.append(Fixtures.event("CommunityRegistered", "community-r\(i)", Fixtures.community("r\(i)")))
        }
        for i in 0..<n {
            request.append(Fixtures.event("CommunityJoinedNetwork", "community-r\(i)", ["communityId": .string("r\(i)")]))
        }
        // and the sample's own events again (scores of submissions that exist: changed in place)
        request += events
        #expect(request.count > DomainState.Rollback.journalLimit)
        let (after, restored) = Self.abandoned(request[...], from: before)
        #expect(after.communityCount == before.communityCount + n)
        let same = restored == before  // (a Bool: the states themselves are too long to print)
        #expect(same)
    }

    @Test func aRejectedAppendLeavesTheWritersStateAsBefore() throws {
        try withTemporaryDirectory { dir in
            let store = try TestStore.create(in: dir)
            let lines = try Sample.lines()
            try store.importLines(lines)
            try store.withWriter { writer in
                let before = writer.domainState
                // A request whose last event breaks a rule: a community registered twice.
                var request = [
                    Fixtures.event("CommunityRegistered", "community-x", Fixtures.community("x")),
                    Fixtures.event(
                        "CommunityJoinedNetwork", "community-x",
                        ["communityId": "x", "sectors": ["education"], "directions": ["strategic-planning"]]),
                ]
                request.append(Fixtures.event("CommunityRegistered", "community-x", Fixtures.community("x")))
                #expect(throws: EventStoreError.self) { try writer.append(request) }
                let same = writer.domainState == before
                #expect(same)
                // and the writer goes on from there: the same events without the bad one are taken
                _ = try writer.append(Array(request.dropLast()))
                #expect(writer.domainState.isNetworkMember(community: "x"))
            }
        }
    }
}
