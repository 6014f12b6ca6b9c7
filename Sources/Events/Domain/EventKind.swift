/// The event types of the catalog (EVENTS.md section 3), for switching without comparing
/// strings: a `switch` over an event's ``RecordedEvent/kind`` lists every type, so that adding
/// one makes the compiler name every place that must decide what to do with it.
public enum EventKind: String, CaseIterable, Sendable, Hashable, Codable {
    case competitionAnnounced = "CompetitionAnnounced"
    case submissionDeadlineExtended = "SubmissionDeadlineExtended"
    case winnersAnnounced = "WinnersAnnounced"
    case submissionFiled = "SubmissionFiled"
    case submissionAmended = "SubmissionAmended"
    case submissionWithdrawn = "SubmissionWithdrawn"
    case juryScoreAdded = "JuryScoreAdded"
    case juryScoreRetracted = "JuryScoreRetracted"
    case communityRegistered = "CommunityRegistered"
    case communityJoinedNetwork = "CommunityJoinedNetwork"
    case communityLeftNetwork = "CommunityLeftNetwork"
    case seminarHeld = "SeminarHeld"
    case practicePublished = "PracticePublished"
    case practiceRevised = "PracticeRevised"
    case practiceUnpublished = "PracticeUnpublished"
}

extension RecordedEvent {
    /// The event's type in the catalog, or `nil` for a type the catalog does not know (the log
    /// may hold such events when they were appended without validation).
    public var kind: EventKind? { EventKind(rawValue: type) }
}
