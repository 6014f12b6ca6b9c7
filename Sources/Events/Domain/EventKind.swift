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

