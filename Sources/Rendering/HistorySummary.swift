import Events

extension HistoryText {
    /// A short English sentence about `entry`, made from its facts (`details`, `changes`) only:
    /// `juror j-07 re-scored: 31 → 36 points`, `left the network: …`. Names and titles are quoted
    /// as recorded; a missing one reads `?`.
    public static func summary(of entry: StreamHistory.Entry) -> String {
        let facts = Facts(entry.details)
        switch entry.kind {
        case .submissionFiled: return filed(facts)
        case .practicePublished: return published(facts)
        case .submissionAmended: return amended("submission amended", entry.changes)
        case .practiceRevised: return amended("practice revised", entry.changes)
        case .submissionWithdrawn: return "submission withdrawn: \(reason(facts))"
        case .juryScoreAdded: return scored(facts)
        case .juryScoreRetracted: return retracted(facts)
        case .competitionAnnounced: return announced(facts)
        case .submissionDeadlineExtended: return extended(facts)
        case .winnersAnnounced: return winners(facts)
        case .communityRegistered: return registered(facts)
        case .communityJoinedNetwork: return joined(facts)
        case .communityLeftNetwork: return "left the network: \(reason(facts))"
        case .seminarHeld: return seminar(facts)
        case .practiceUnpublished: return "practice unpublished: \(reason(facts))"
        case nil:
            let payload = (facts.value("payload") ?? .object([:])).canonicalString
            return "an event of a type the catalog does not know: \(truncated(payload))"
        }
    }

    /// An entry's `details`, read by name.
    struct Facts {
        var values: [String: JSONValue]
        init(_ values: [String: JSONValue]) { self.values = values }

        func value(_ key: String) -> JSONValue? { values[key] }
        func string(_ key: String) -> String? { values[key]?.stringValue }
        func int(_ key: String) -> Int64? { values[key]?.intValue }
        func flag(_ key: String) -> Bool { values[key]?.boolValue ?? false }
        /// The number of elements of a list (0 when absent or not a list).
        func size(_ key: String) -> Int64 { Int64(values[key]?.arrayValue?.count ?? 0) }
    }

    static func reason(_ f: Facts) -> String { truncated(f.string("reason") ?? "no reason given") }

    static func filed(_ f: Facts) -> String {
        "submission \(quoted(f.string("title"))) filed: community \(f.string("communityId") ?? "?"), "
            + "competition \(f.string("competitionId") ?? "?"), theme \(f.string("themeCode") ?? "?")"
    }

    static func published(_ f: Facts) -> String {
        var text = "practice \(quoted(f.string("title"))) of community \(f.string("communityId") ?? "?") published"
        if let sector = f.string("sector") { text += ", sector \(sector)" }
        if let source = f.string("sourceSubmissionId") { text += ", from submission \(source)" }
        return text
    }

    static func amended(_ verb: String, _ changes: [StreamHistory.Change]) -> String {
        changes.isEmpty ? "\(verb): no field changed" : "\(verb): \(changes.map(\.field).joined(separator: ", "))"
    }

    static func scored(_ f: Facts) -> String {
        let juror = f.string("jurorId") ?? "?"
        let total = f.value("total") ?? .null
        var text: String
        if f.flag("rescore") {
            text = "juror \(juror) re-scored: \((f.value("previousTotal") ?? .null).canonicalString) → \(points(total))"
        } else {
            text = "juror \(juror) scored \(points(total))"
        }
        if f.flag("submissionWithdrawn") { text += " (the submission had been withdrawn)" }
        return text
    }

    static func retracted(_ f: Facts) -> String {
        let juror = f.string("jurorId") ?? "?"
        let reason = f.string("reason").map { ": " + truncated($0) } ?? ""
        guard f.flag("hadScore") else {
            return "juror \(juror) retracted a score (the stream holds no current score of theirs)\(reason)"
        }
        return "juror \(juror) retracted their score (\(points(f.value("retractedTotal") ?? .null)))\(reason)"
    }

    static func announced(_ f: Facts) -> String {
        var text = "competition \(quoted(f.string("title"))) announced"
        if let year = f.int("year") { text += " for \(year)" }
        text += ": \(count(f.int("themeCount") ?? 0, "theme")), \(count(f.int("criterionCount") ?? 0, "criterion", "criteria"))"
        if let deadline = f.string("submissionDeadline") { text += ", submissions until \(deadline)" }
        if let min = f.int("minJurors") { text += ", at least \(count(min, "juror"))" }
        return text
    }

    static func extended(_ f: Facts) -> String {
        let after = f.string("after") ?? "?"
        guard let before = f.string("before") else {
            return "submission deadline extended to \(after) (the stream holds no earlier deadline)"
        }
        return "submission deadline extended: \(before) → \(after)"
    }

    static func winners(_ f: Facts) -> String {
        let theme = f.string("themeCode") ?? "?"
        let name = f.string("themeTitle").map { " " + quoted($0) } ?? ""
        let places = (f.value("winners")?.arrayValue ?? []).map(place)
        return "winners of theme \(theme)\(name): \(places.isEmpty ? "none" : places.joined(separator: "; "))"
    }

    /// `place 1: submission-… (диплом I ступеня)`.
    static func place(_ winner: JSONValue) -> String {
        var text = "place \(winner["place"]?.intValue.map(String.init) ?? "?"): \(winner["submissionId"]?.stringValue ?? "?")"
        if let award = winner["award"]?.stringValue, !award.isEmpty { text += " (\(truncated(award, limit: 60)))" }
        return text
    }

    static func registered(_ f: Facts) -> String {
        var parts: [String] = []
        if let oblast = f.string("oblast") { parts.append(oblast) }
        if let kind = f.string("kind") { parts.append(kind) }
        if let n = f.int("settlements") { parts.append(count(n, "settlement")) }
        if let p = f.int("population") { parts.append("population \(p)") }
        let about = parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
        return "community \(quoted(f.string("name"))) registered" + about
    }

    static func joined(_ f: Facts) -> String {
        let verb = f.flag("rejoined") ? "rejoined the network" : "joined the network"
        return "\(verb): sectors \(display(f.value("sectors"), limit: 60)); directions \(display(f.value("directions"), limit: 60))"
    }

    static func seminar(_ f: Facts) -> String {
        var text = "seminar \(quoted(f.string("title"))) held"
        let place = [f.string("city"), f.string("oblast")].compactMap { $0 }.joined(separator: ", ")
        if !place.isEmpty { text += ", \(place)" }
        if let date = f.string("date") { text += ", \(date)" }
        if let n = f.int("participants") { text += ": \(count(n, "participant"))" }
        return text + ", \(count(f.size("communityIds"), "community", "communities"))"
    }
}
