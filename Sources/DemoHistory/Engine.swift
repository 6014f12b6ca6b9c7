/// One planned event of a year: when it is recorded, how long before that it happened, and
/// what it is about. Its payload is decided when it is executed, against the state the log
/// has reached by then, so every emitted event is valid where it stands.
struct Action {
    enum Kind: UInt8 {
        case register, join, leave, announce, extend, file, amend, withdraw, score, retract, winners
        case publishFromSubmission, publish, revise, unpublish, seminar
    }
    var time: Int64      // recordedAt, epoch seconds
    var seq: Int32       // plan order: ties keep it
    var lag: Int32       // occurredAt = time - lag
    var kind: Kind
    var flag: UInt8
    var a: Int32
    var b: Int32
}

/// The state of the year being generated.
struct YearState {
    var year = 0
    var competitionId: [UInt8] = []
    var competitionVersion: Int32 = -1
    var deadlineDays = 0
    var extendedDays = 0
    var winnersDone = [false, false, false]
    var winners: [Int32] = []
    var jurors = 7
    var subCommunity: [Int32] = []
    var subTheme: [UInt8] = []
    var subSector: [UInt8] = []
    var subTitle: [UInt8] = []
    var subDirections: [UInt8] = []
    var subForms: [UInt8] = []
    var subQuality: [Float] = []
    var subVersion: [Int32] = []
    var subWithdrawn: [Bool] = []
    var subPublished: [Bool] = []
    var slotJuror: [Int16] = []   // 6 per submission, -1 empty
    var slotTotal: [Int16] = []   // the juror's current total, -1 none
}

final class Engine {
    static let slots = 6
    static let minJurors = 3

    let target: Int
    let startYear: Int
    let years: Int
    let subsPerYear: [Int]
    let regsPerYear: [Int]
    var rng: Xoshiro256

    var out = JSONOut()
    var text: [UInt8] = []
    var tmp: [UInt8] = []

    let communities: [Community]
    var registered = 0
    var communityVersion: [Int32]
    var isMember: [Bool]
    var members: [Int32] = []
    var memberPos: [Int32]

    var practiceCommunity: [Int32] = []
    var practiceVersion: [Int32] = []
    var practiceSector: [UInt8] = []
    var practiceProtected: [Bool] = []
    var live: [Int32] = []
    var livePos: [Int32] = []

    var y = YearState()
    var actions: [Action] = []
    var seq: Int32 = 0
    var emitted = 0
    var plannedRegistered = 0
    var plannedMembers = 0
    var plannedLive = 0

    /// Years, communities and submissions per year for a target count of events.
    static func shape(target: Int) -> (years: Int, communities: Int, submissions: [Int]) {
        let t = Double(max(target, 1))
        // 4 years up to 5,000 events, then one more year per doubling, at most 8
        var years = 4
        var threshold = 5000
        while target >= threshold && years < 8 {
            years += 1
            threshold *= 2
        }
        let communities = min(1469, max(60, target / 16))
        let budget = max(0, t * 1.06 - Double(communities) * 1.6)
        let weights = (0..<years).map { 1 + 0.12 * Double($0) }
        let total = weights.reduce(0, +)
        let subs = weights.map { max(6, Int((budget * $0 / total - 14) / 5.5)) }
        return (years, communities, subs)
    }

    init(seed: UInt64, target: Int, startYear: Int) {
        self.target = target
        self.startYear = startYear
        rng = Xoshiro256(seed: seed)
        let s = Engine.shape(target: target)
        years = s.years
        subsPerYear = s.submissions
        communities = CommunityFactory.make(count: s.communities, rng: &rng)
        let c = communities.count
        communityVersion = [Int32](repeating: -1, count: c)
        isMember = [Bool](repeating: false, count: c)
        memberPos = [Int32](repeating: -1, count: c)
        // registrations: most in the first year, the rest spread (more in the reform year 2020)
        var regs = [Int](repeating: 0, count: years)
        let first = min(c, 6 + Int(Double(max(0, c - 6)) * (years == 1 ? 1 : 0.55)))
        regs[0] = first
        if years > 1 {
            let w = (1..<years).map { startYear + $0 == 2020 ? 3.0 : 1.0 }
            let total = w.reduce(0, +)
            var left = c - first
            for k in 1..<years {
                let n = k == years - 1 ? left : min(left, Int(Double(c - first) * w[k - 1] / total + 0.5))
                regs[k] = n
                left -= n
            }
        }
        regsPerYear = regs
    }

    func run(_ emit: ([UInt8]) throws -> Void) rethrows {
        guard target > 0 else { return }
        for k in 0..<years {
            planYear(k)
            for act in actions {
                out.reset()
                guard execute(act) else { continue }
                try emit(out.bytes)
                emitted += 1
                if emitted >= target { return }
            }
        }
    }

    // MARK: - Planning

    @inline(__always) func day(_ m: Int, _ d: Int) -> Int { Civil.days(y.year, m, d) }

    /// A time during office hours on a day in `from...to`.
    func workTime(_ from: Int, _ to: Int) -> Int64 {
        let d = rng.range(from, max(from, to))
        return Int64(d) * 86_400 + Int64(rng.range(8 * 3600, 18 * 3600 + 3599))
    }

    /// Moves a time outside office hours forward to the next opening (never backwards).
    func office(_ t: Int64) -> Int64 {
        let s = t % 86_400
        if s < 8 * 3600 { return t - s + 8 * 3600 + s % 3600 }
        if s >= 19 * 3600 { return t - s + 86_400 + 8 * 3600 + s % 3600 }
        return t
    }

    func push(_ kind: Action.Kind, _ time: Int64, lag: Int = 0, a: Int = -1, b: Int = -1, flag: UInt8 = 0) {
        actions.append(Action(time: time, seq: seq, lag: Int32(lag), kind: kind, flag: flag, a: Int32(a), b: Int32(b)))
        seq &+= 1
    }

    func smallLag() -> Int { rng.range(5, 2400) }

    func planYear(_ k: Int) {
        actions.removeAll(keepingCapacity: true)
        y = YearState()
        y.year = startYear + k
        y.competitionId = Array("bp-\(y.year)".utf8)
        let lastDay = day(12, 28)

        // communities registered in January-March
        let regs = regsPerYear[k]
        var times: [Int64] = []
        if k == 0 {
            let six = min(6, regs)
            times = (0..<six).map { _ in workTime(day(1, 10), day(1, 11)) }.sorted()
            times += (six..<regs).map { _ in workTime(day(1, 12), day(3, 25)) }.sorted()
        } else {
            times = (0..<regs).map { _ in workTime(day(1, 12), day(3, 25)) }.sorted()
        }
        for (i, t) in times.enumerated() { push(.register, t, lag: rng.range(60, 3600), a: plannedRegistered + i) }
        plannedRegistered += regs

        // the network
        if k == 0 {
            for i in 0..<min(6, regs) { push(.join, workTime(day(2, 1), day(2, 20)), lag: smallLag(), a: i) }
            plannedMembers += min(6, regs)
        }
        let joins = k == 0 ? Int(0.3 * Double(max(0, plannedRegistered - 6))) : Int(0.12 * Double(max(0, plannedRegistered - plannedMembers)) + 0.5)
        for _ in 0..<joins { push(.join, workTime(day(k == 0 ? 4 : 1, k == 0 ? 1 : 5), day(12, 20)), lag: smallLag()) }
        plannedMembers += joins
        let leaves = max(1, Int(0.04 * Double(plannedMembers) + 0.5))
        for _ in 0..<leaves { push(.leave, workTime(day(6, 1), day(12, 20)), lag: smallLag()) }
        plannedMembers -= leaves

        // the competition
        let announced = Int64(day(4, 9)) * 86_400 + 10 * 3600
        push(.announce, announced + Int64(rng.range(20, 600)), lag: 0, a: 0)
        actions[actions.count - 1].lag = Int32(actions[actions.count - 1].time - announced)
        let deadline = y.year == 2020 ? day(8, 25) : day(8, rng.range(20, 31))
        let extended = k == 1 || (y.year != 2020 && k > 1 && rng.chance(0.3))
        y.deadlineDays = deadline
        y.extendedDays = extended ? deadline + rng.range(7, 21) : deadline
        if extended { push(.extend, workTime(deadline - 6, deadline - 2), lag: smallLag()) }
        let effective = y.extendedDays
        let winnersDay = max(day(10, 15), effective + 50)
        let scoreStart = Int64(effective + 5) * 86_400
        let scoreEnd = Int64(winnersDay - 2) * 86_400

        // submissions, filed before the (extended) deadline
        let n = subsPerYear[k]
        var fileTimes = (0..<n).map { _ in rng.chance(0.4) ? workTime(effective - 14, effective) : workTime(day(4, 10), effective) }
        fileTimes.sort()
        y.jurors = max(7, n / 100)
        y.subCommunity = (0..<n).map { _ in Int32(rng.int(plannedRegistered)) }
        y.subTheme = (0..<n).map { _ in UInt8(rng.weighted(Texts.themeWeights)) }
        y.subQuality = (0..<n).map { _ in Float(0.35 + 0.55 * rng.unit()) }
        if n >= 12 {
            for (town, i) in rng.distinct(min(6, plannedRegistered), of: n).enumerated() {
                y.subCommunity[i] = Int32(town)
                y.subQuality[i] = min(0.97, y.subQuality[i] + 0.15)
            }
        }
        y.subSector = y.subTheme.map { th in
            let options = Texts.themeSectors[Int(th)]
            return UInt8(options[rng.weighted(options.map { $0.1 })].0)
        }
        y.subTitle = y.subSector.map { UInt8(rng.int(Texts.sectors[Int($0)].titles.count)) }
        y.subDirections = (0..<n).map { i in randomDirections(governance: y.subSector[i] == UInt8(Texts.governance)) }
        y.subForms = (0..<n).map { _ in randomForms() }
        y.subVersion = [Int32](repeating: -1, count: n)
        y.subWithdrawn = [Bool](repeating: false, count: n)
        y.subPublished = [Bool](repeating: false, count: n)
        y.slotJuror = [Int16](repeating: -1, count: n * Engine.slots)
        y.slotTotal = [Int16](repeating: -1, count: n * Engine.slots)
        for i in 0..<n { push(.file, fileTimes[i], lag: rng.range(0, 1800), a: i) }

        var withdrawAt = [Int64](repeating: .max, count: n)
        for i in rng.distinct(max(1, Int(0.05 * Double(n) + 0.5)), of: n) {
            let t = min(office(fileTimes[i] + Int64(rng.range(86_400, 40 * 86_400))), scoreEnd - 3 * 86_400)
            withdrawAt[i] = t
            push(.withdraw, t, lag: rng.range(60, 3600), a: i)
        }
        for i in rng.distinct(max(1, Int(0.06 * Double(n) + 0.5)), of: n) {
            let t = office(fileTimes[i] + Int64(rng.range(3600, 10 * 86_400)))
            if t >= scoreStart || t >= withdrawAt[i] { continue }
            push(.amend, t, lag: rng.range(0, 1800), a: i)
        }

        // the jury
        let lastScore = scoreEnd - 2 * 86_400
        for i in 0..<n {
            let stop = min(scoreEnd, withdrawAt[i])
            if stop <= scoreStart { continue }
            let r = rng.unit()
            let panel = r < 0.05 ? 2 : r < 0.35 ? 3 : r < 0.8 ? 4 : 5
            var used = 0
            func newJuror() -> Int? {
                guard used < Engine.slots else { return nil }
                for _ in 0..<50 {
                    let j = Int16(rng.int(y.jurors))
                    var taken = false
                    for s in 0..<used where y.slotJuror[i * Engine.slots + s] == j { taken = true }
                    if !taken {
                        y.slotJuror[i * Engine.slots + used] = j
                        used += 1
                        return used - 1
                    }
                }
                return nil
            }
            for _ in 0..<panel {
                guard let slot = newJuror() else { break }
                let t = office(scoreStart + Int64(rng.int(Int(lastScore - scoreStart))))
                if t >= stop { continue }
                let late = rng.chance(0.03)
                let lag = late ? min(Int(t - scoreStart), rng.range(2 * 86_400, 5 * 86_400)) : rng.range(10, 1800)
                push(.score, t, lag: lag, a: i, b: slot)
                if rng.chance(0.07) {
                    let t2 = office(t + Int64(rng.range(3600, 8 * 86_400)))
                    if t2 < stop { push(.score, t2, lag: rng.range(10, 1800), a: i, b: slot, flag: 1) }
                }
                if rng.chance(0.03) {
                    let t3 = office(t + Int64(rng.range(3600, 6 * 86_400)))
                    if t3 < stop {
                        push(.retract, t3, lag: rng.range(10, 1800), a: i, b: slot)
                        if rng.chance(0.5), let replacement = newJuror() {
                            let t4 = office(t3 + Int64(rng.range(3600, 3 * 86_400)))
                            if t4 < stop { push(.score, t4, lag: rng.range(10, 1800), a: i, b: replacement) }
                        }
                    }
                }
            }
        }
        for th in 0..<3 {
            let occurred = Int64(winnersDay) * 86_400 + Int64(11 + th) * 3600
            let lag = rng.range(60, 900)
            push(.winners, occurred + Int64(lag), lag: lag, a: th)
        }

        // the catalog
        let fromSubmissions = max(3, Int(0.10 * Double(n) + 0.5))
        for _ in 0..<fromSubmissions { push(.publishFromSubmission, workTime(winnersDay + 2, day(12, 20)), lag: smallLag()) }
        let standalone = max(2, Int(0.04 * Double(n) + 0.5))
        for _ in 0..<standalone { push(.publish, workTime(day(2, 1), day(12, 20)), lag: smallLag()) }
        if k == 0 {
            for i in 0..<min(6, regs) { push(.publish, workTime(day(11, 15), day(12, 15)), lag: smallLag(), a: i, flag: 1) }
            plannedLive += min(6, regs)
        }
        plannedLive += fromSubmissions + standalone
        let revisions = Int(0.25 * Double(plannedLive) + 0.5)
        for _ in 0..<revisions { push(.revise, workTime(day(1, 15), lastDay), lag: smallLag()) }
        let unpublish = k > 0 ? max(1, Int(0.03 * Double(plannedLive) + 0.5)) : 0
        for _ in 0..<unpublish { push(.unpublish, workTime(day(2, 1), lastDay), lag: smallLag()) }
        plannedLive -= unpublish

        // regional seminars «рівний рівному»
        let seminars = k == 0 ? 6 : max(4, n / 150)
        let seminarTimes = (0..<seminars).map { _ in Int64(rng.range(day(5, 10), day(11, 25))) * 86_400 + Int64(rng.range(14 * 3600, 19 * 3600)) }.sorted()
        for (i, t) in seminarTimes.enumerated() {
            push(.seminar, t, lag: rng.range(3 * 3600, 5 * 3600), a: k == 0 && i < min(6, regs) ? i : -1, b: i + 1)
        }

        actions.sort { $0.time != $1.time ? $0.time < $1.time : $0.seq < $1.seq }
    }

    func randomDirections(governance: Bool) -> UInt8 {
        var mask: UInt8 = 0
        if governance && rng.chance(0.6) { mask |= 1 }
        let count = rng.chance(0.6) ? 1 : 2
        for d in rng.distinct(count, of: 3) { mask |= 1 << UInt8(d) }
        return mask
    }

    func randomForms() -> UInt8 {
        var mask: UInt8 = 0
        let p = [0.8, 0.6, 0.45, 0.35]
        for f in 0..<4 where rng.chance(p[f]) { mask |= 1 << UInt8(f) }
        return mask == 0 ? 1 : mask
    }

    // MARK: - Execution

    func execute(_ a: Action) -> Bool {
        switch a.kind {
        case .register: return register(a)
        case .join: return join(a)
        case .leave: return leave(a)
        case .announce: return announce(a)
        case .extend: return extend(a)
        case .file: return file(a)
        case .amend: return amend(a)
        case .withdraw: return withdraw(a)
        case .score: return score(a)
        case .retract: return retract(a)
        case .winners: return winners(a)
        case .publishFromSubmission: return publishFromSubmission(a)
        case .publish: return publish(a)
        case .revise: return revise(a)
        case .unpublish: return unpublish(a)
        case .seminar: return seminar(a)
        }
    }

    enum Stream {
        case community(Int), competition, submission(Int), practice(Int), seminar(Int)
    }

    func appendKey(_ s: Stream) {
        switch s {
        case .community(let c): out.bytes.append(contentsOf: communities[c].id)
        case .competition: out.bytes.append(contentsOf: y.competitionId)
        case .submission(let i):
            out.bytes.append(contentsOf: y.competitionId)
            out.bytes.append(0x2D)
            JSONOut.appendPadded(i + 1, width: 5, into: &out.bytes)
        case .practice(let p):
            out.bytes.append(UInt8(ascii: "p"))
            JSONOut.appendPadded(p + 1, width: 6, into: &out.bytes)
        case .seminar(let n):
            out.raw("sem-")
            JSONOut.appendInt(y.year, into: &out.bytes)
            out.bytes.append(0x2D)
            JSONOut.appendPadded(n, width: 3, into: &out.bytes)
        }
    }

    func idValue(_ s: Stream) {
        out.beginString()
        appendKey(s)
        out.endString()
    }

    func begin(_ type: StaticString, _ stream: Stream, _ a: Action, expectedVersion: Int32?) {
        out.openObject()
        out.key("id")
        out.beginString()
        JSONOut.appendUUID(&rng, into: &out.bytes)
        out.endString()
        out.key("stream")
        out.beginString()
        switch stream {
        case .community: out.raw("community-")
        case .competition: out.raw("competition-")
        case .submission: out.raw("submission-")
        case .practice: out.raw("practice-")
        case .seminar: out.raw("seminar-")
        }
        appendKey(stream)
        out.endString()
        out.key("type")
        out.string(type)
        out.key("occurredAt")
        out.timestamp(a.time - Int64(a.lag))
        out.key("recordedAt")
        out.timestamp(a.time)
        if let expectedVersion {
            out.key("expectedVersion")
            out.int(Int(expectedVersion))
        }
        out.key("data")
        out.openObject()
    }

    func end(_ actor: StaticString) {
        out.closeObject()
        out.key("metadata")
        out.openObject()
        out.key("actor")
        out.string(actor)
        out.key("source")
        out.string("demo")
        out.closeObject()
        out.closeObject()
    }

    func endJuror(_ juror: Int) {
        out.closeObject()
        out.key("metadata")
        out.openObject()
        out.key("actor")
        jurorValue(juror)
        out.key("source")
        out.string("demo")
        out.closeObject()
        out.closeObject()
    }

    func jurorValue(_ j: Int) {
        out.beginString()
        out.raw("juror-")
        JSONOut.appendPadded(j + 1, width: 3, into: &out.bytes)
        out.endString()
    }

    // MARK: communities and the network

    func register(_ a: Action) -> Bool {
        let c = Int(a.a)
        guard c == registered, c < communities.count else { return false }
        let m = communities[c]
        begin("CommunityRegistered", .community(c), a, expectedVersion: -1)
        out.key("communityId"); idValue(.community(c))
        out.key("name"); out.string(m.name)
        out.key("oblast"); out.string(Lexicon.oblasts[m.oblast].code)
        out.key("kind"); out.string(Lexicon.kindCode(m.kind))
        out.key("settlements"); out.int(m.settlements)
        out.key("population"); out.int(m.population)
        out.key("council")
        out.openObject()
        out.key("name"); out.string(m.council)
        if let v = m.address { out.key("address"); out.string(v) }
        if let v = m.phone { out.key("phone"); out.string(v) }
        if let v = m.email { out.key("email"); out.string(v) }
        if let v = m.website { out.key("website"); out.string(v) }
        if let v = m.head { out.key("head"); out.string(v) }
        out.closeObject()
        end("operator")
        registered += 1
        communityVersion[c] = 0
        return true
    }

    func join(_ a: Action) -> Bool {
        var c = Int(a.a)
        if c < 0 {
            guard registered > members.count else { return false }
            c = -1
            for _ in 0..<20 {
                let x = rng.int(registered)
                if !isMember[x] { c = x; break }
            }
            if c < 0 {
                let start = rng.int(registered)
                for d in 0..<registered where !isMember[(start + d) % registered] {
                    c = (start + d) % registered
                    break
                }
            }
        }
        guard c >= 0, c < registered, !isMember[c] else { return false }
        begin("CommunityJoinedNetwork", .community(c), a, expectedVersion: communityVersion[c])
        out.key("communityId"); idValue(.community(c))
        out.key("sectors")
        out.openArray()
        for s in rng.distinct(rng.range(1, 4), of: Texts.sectorCodes.count).sorted() { out.string(Texts.sectorCodes[s]) }
        out.closeArray()
        out.key("directions")
        out.openArray()
        for d in rng.distinct(rng.range(1, 3), of: 3).sorted() { out.string(Texts.directionCodes[d]) }
        out.closeArray()
        end("network-coordinator")
        communityVersion[c] += 1
        isMember[c] = true
        memberPos[c] = Int32(members.count)
        members.append(Int32(c))
        return true
    }

    func leave(_ a: Action) -> Bool {
        guard !members.isEmpty else { return false }
        var c = -1
        for _ in 0..<20 {
            let x = Int(members[rng.int(members.count)])
            if x >= 6 { c = x; break }
        }
        guard c >= 0 else { return false }
        begin("CommunityLeftNetwork", .community(c), a, expectedVersion: communityVersion[c])
        out.key("communityId"); idValue(.community(c))
        out.key("reason"); out.string(Texts.leaveReasons[rng.int(Texts.leaveReasons.count)])
        end("network-coordinator")
        communityVersion[c] += 1
        isMember[c] = false
        let pos = Int(memberPos[c])
        let last = members.removeLast()
        if pos < members.count {
            members[pos] = last
            memberPos[Int(last)] = Int32(pos)
        }
        memberPos[c] = -1
        return true
    }

    // MARK: the competition

    func announce(_ a: Action) -> Bool {
        begin("CompetitionAnnounced", .competition, a, expectedVersion: -1)
        out.key("competitionId"); idValue(.competition)
        out.key("title"); out.string("Кращі практики місцевого самоврядування — \(y.year)")
        out.key("year"); out.int(y.year)
        out.key("themes")
        out.openArray()
        for t in Texts.themes {
            out.openObject()
            out.key("code"); out.string(t.code)
            out.key("title"); out.string(t.title)
            out.closeObject()
        }
        out.closeArray()
        out.key("criteria")
        out.openArray()
        for c in Texts.criteria {
            out.openObject()
            out.key("code"); out.string(c.code)
            out.key("title"); out.string(c.title)
            out.key("maxPoints"); out.int(c.max)
            out.closeObject()
        }
        out.closeArray()
        out.key("submissionDeadline"); out.date(days: y.deadlineDays)
        out.key("minJurors"); out.int(Engine.minJurors)
        end("jury-secretary")
        y.competitionVersion = 0
        return true
    }

    func extend(_ a: Action) -> Bool {
        guard y.competitionVersion >= 0, y.extendedDays > y.deadlineDays else { return false }
        begin("SubmissionDeadlineExtended", .competition, a, expectedVersion: y.competitionVersion)
        out.key("competitionId"); idValue(.competition)
        out.key("submissionDeadline"); out.date(days: y.extendedDays)
        end("jury-secretary")
        y.competitionVersion += 1
        y.deadlineDays = y.extendedDays
        return true
    }

    func file(_ a: Action) -> Bool {
        let i = Int(a.a)
        let c = Int(y.subCommunity[i])
        let occurred = a.time - Int64(a.lag)
        guard y.competitionVersion >= 0, c < registered, occurred < Int64(y.deadlineDays + 1) * 86_400 else { return false }
        let sector = Int(y.subSector[i])
        begin("SubmissionFiled", .submission(i), a, expectedVersion: -1)
        out.key("submissionId"); idValue(.submission(i))
        out.key("competitionId"); idValue(.competition)
        out.key("themeCode"); out.string(Texts.themes[Int(y.subTheme[i])].code)
        out.key("communityId"); idValue(.community(c))
        out.key("title"); titleValue(sector: sector, title: Int(y.subTitle[i]), community: c, suffix: nil)
        out.key("sector"); out.string(Texts.sectorCodes[sector])
        out.key("directions"); maskArray(y.subDirections[i], Texts.directionCodes)
        out.key("participationForms"); maskArray(y.subForms[i], Texts.formCodes)
        out.key("period")
        out.openObject()
        let from = (y.year - 1 - rng.range(0, 3)) * 12 + rng.int(12)
        out.key("from"); monthValue(from)
        if rng.chance(0.6) {
            let latest = y.year * 12 + 2
            out.key("to"); monthValue(min(latest, from + rng.range(3, 30)))
        }
        out.closeObject()
        out.key("problem"); textValue(limit: 1500) { chars in sentences(Texts.sectors[sector].problems, rng.range(2, 3), c, 1500, &chars) }
        out.key("activities"); activitiesValue(sector: sector, forms: y.subForms[i], community: c, limit: 3500)
        out.key("results"); textValue(limit: 1500) { chars in sentences(Texts.sectors[sector].results, rng.range(2, 3), c, 1500, &chars) }
        if rng.chance(0.7) {
            out.key("risks"); textValue(limit: 1000) { chars in sentences(Texts.risks, rng.range(1, 2), c, 1000, &chars) }
        }
        out.key("budget"); budgetValue()
        out.key("links")
        out.openArray()
        out.beginString()
        if let site = communities[c].website { out.bytes.append(contentsOf: site) } else {
            out.raw("https://"); out.bytes.append(contentsOf: communities[c].id); out.raw(".gov.ua")
        }
        out.raw("/praktyky/")
        appendKey(.submission(i))
        out.endString()
        if rng.chance(0.3) {
            out.beginString()
            out.raw("https://www.facebook.com/")
            out.bytes.append(contentsOf: communities[c].id)
            out.endString()
        }
        out.closeArray()
        end("operator")
        y.subVersion[i] = 0
        return true
    }

    func amend(_ a: Action) -> Bool {
        let i = Int(a.a)
        guard y.subVersion[i] >= 0, !y.subWithdrawn[i] else { return false }
        let c = Int(y.subCommunity[i])
        let sector = Int(y.subSector[i])
        begin("SubmissionAmended", .submission(i), a, expectedVersion: y.subVersion[i])
        out.key("submissionId"); idValue(.submission(i))
        out.key("changes")
        out.openObject()
        switch rng.int(4) {
        case 0:
            out.key("results"); textValue(limit: 1500) { chars in sentences(Texts.sectors[sector].results, 3, c, 1500, &chars) }
        case 1:
            out.key("risks"); textValue(limit: 1000) { chars in sentences(Texts.risks, 2, c, 1000, &chars) }
        case 2:
            let forms = randomForms() | y.subForms[i]
            y.subForms[i] = forms
            out.key("participationForms"); maskArray(forms, Texts.formCodes)
            out.key("activities"); activitiesValue(sector: sector, forms: forms, community: c, limit: 3500)
        default:
            out.key("title"); titleValue(sector: sector, title: Int(y.subTitle[i]), community: c, suffix: " (уточнена редакція)")
            out.key("budget"); budgetValue()
        }
        out.closeObject()
        end("operator")
        y.subVersion[i] += 1
        return true
    }

    func withdraw(_ a: Action) -> Bool {
        let i = Int(a.a)
        guard y.subVersion[i] >= 0, !y.subWithdrawn[i] else { return false }
        begin("SubmissionWithdrawn", .submission(i), a, expectedVersion: y.subVersion[i])
        out.key("submissionId"); idValue(.submission(i))
        out.key("reason"); out.string(Texts.withdrawReasons[rng.int(Texts.withdrawReasons.count)])
        end("operator")
        y.subVersion[i] += 1
        y.subWithdrawn[i] = true
        return true
    }

    func score(_ a: Action) -> Bool {
        let i = Int(a.a)
        let slot = i * Engine.slots + Int(a.b)
        guard y.subVersion[i] >= 0, !y.subWithdrawn[i], !y.winnersDone[Int(y.subTheme[i])] else { return false }
        let juror = Int(y.slotJuror[slot])
        begin("JuryScoreAdded", .submission(i), a, expectedVersion: nil)
        out.key("submissionId"); idValue(.submission(i))
        out.key("jurorId"); jurorValue(juror)
        out.key("scores")
        out.openObject()
        var total = 0
        let q = Double(y.subQuality[i])
        for c in Texts.criteria {
            let noise = (rng.unit() + rng.unit() - 1) * 0.18
            let p = min(c.max, max(0, Int((q + noise) * Double(c.max) + 0.5)))
            total += p
            out.key(c.code); out.int(p)
        }
        out.closeObject()
        if a.flag == 1 {
            out.key("comment"); out.string(Texts.rescoreComments[rng.int(Texts.rescoreComments.count)])
        } else if rng.chance(0.4) {
            out.key("comment"); out.string(Texts.juryComments[rng.int(Texts.juryComments.count)])
        }
        endJuror(juror)
        y.slotTotal[slot] = Int16(total)
        y.subVersion[i] += 1
        return true
    }

    func retract(_ a: Action) -> Bool {
        let i = Int(a.a)
        let slot = i * Engine.slots + Int(a.b)
        guard y.subVersion[i] >= 0, y.slotTotal[slot] >= 0 else { return false }
        begin("JuryScoreRetracted", .submission(i), a, expectedVersion: nil)
        out.key("submissionId"); idValue(.submission(i))
        out.key("jurorId"); jurorValue(Int(y.slotJuror[slot]))
        out.key("reason"); out.string(Texts.retractReasons[rng.int(Texts.retractReasons.count)])
        end("jury-secretary")
        y.slotTotal[slot] = -1
        y.subVersion[i] += 1
        return true
    }

    func winners(_ a: Action) -> Bool {
        let theme = Int(a.a)
        guard y.competitionVersion >= 0, !y.winnersDone[theme] else { return false }
        y.winnersDone[theme] = true
        var ranked: [(sub: Int, mean: Double, jurors: Int)] = []
        for i in 0..<y.subTheme.count where Int(y.subTheme[i]) == theme && y.subVersion[i] >= 0 && !y.subWithdrawn[i] {
            var sum = 0, count = 0
            for s in 0..<Engine.slots where y.slotTotal[i * Engine.slots + s] >= 0 {
                sum += Int(y.slotTotal[i * Engine.slots + s])
                count += 1
            }
            if count > 0 { ranked.append((i, Double(sum) / Double(count), count)) }
        }
        let full = ranked.filter { $0.jurors >= Engine.minJurors }
        if full.count >= 3 { ranked = full }
        ranked.sort { $0.mean != $1.mean ? $0.mean > $1.mean : $0.sub < $1.sub }
        guard !ranked.isEmpty else { return false }
        begin("WinnersAnnounced", .competition, a, expectedVersion: y.competitionVersion)
        out.key("competitionId"); idValue(.competition)
        out.key("themeCode"); out.string(Texts.themes[theme].code)
        out.key("winners")
        out.openArray()
        for (place, r) in ranked.prefix(3).enumerated() {
            out.openObject()
            out.key("submissionId"); idValue(.submission(r.sub))
            out.key("place"); out.int(place + 1)
            out.key("award"); out.string(Texts.awards[place])
            out.closeObject()
            y.winners.append(Int32(r.sub))
        }
        if ranked.count > 3, rng.chance(0.7),
           let special = ranked.dropFirst(3).first(where: { communities[Int(y.subCommunity[$0.sub])].kind != .urban }) {
            out.openObject()
            out.key("submissionId"); idValue(.submission(special.sub))
            out.key("place"); out.int(4)
            out.key("award"); out.string(Texts.specialAward)
            out.closeObject()
            y.winners.append(Int32(special.sub))
        }
        out.closeArray()
        end("jury-secretary")
        y.competitionVersion += 1
        return true
    }

    // MARK: the catalog

    func publishFromSubmission(_ a: Action) -> Bool {
        var pick = -1
        for w in y.winners where !y.subPublished[Int(w)] {
            pick = Int(w)
            break
        }
        if pick < 0, !y.subTheme.isEmpty {
            for _ in 0..<30 {
                let i = rng.int(y.subTheme.count)
                if y.subVersion[i] >= 0, !y.subWithdrawn[i], !y.subPublished[i] { pick = i; break }
            }
        }
        guard pick >= 0 else { return false }
        y.subPublished[pick] = true
        return publishPractice(a, community: Int(y.subCommunity[pick]), sector: Int(y.subSector[pick]), title: Int(y.subTitle[pick]),
                               directions: y.subDirections[pick], forms: y.subForms[pick], source: pick, protected: false)
    }

    func publish(_ a: Action) -> Bool {
        var c = Int(a.a)
        if c < 0 {
            guard registered > 0 else { return false }
            c = !members.isEmpty && rng.chance(0.8) ? Int(members[rng.int(members.count)]) : rng.int(registered)
        }
        guard c < registered else { return false }
        let sector = rng.int(Texts.sectorCodes.count)
        return publishPractice(a, community: c, sector: sector, title: rng.int(Texts.sectors[sector].titles.count),
                               directions: randomDirections(governance: sector == Texts.governance), forms: randomForms(),
                               source: nil, protected: a.flag == 1)
    }

    func publishPractice(_ a: Action, community c: Int, sector: Int, title: Int, directions: UInt8, forms: UInt8, source: Int?, protected: Bool) -> Bool {
        let p = practiceCommunity.count
        begin("PracticePublished", .practice(p), a, expectedVersion: -1)
        out.key("practiceId"); idValue(.practice(p))
        out.key("communityId"); idValue(.community(c))
        out.key("title"); titleValue(sector: sector, title: title, community: c, suffix: nil)
        out.key("sector"); out.string(Texts.sectorCodes[sector])
        out.key("directions"); maskArray(directions, Texts.directionCodes)
        out.key("participationForms"); maskArray(forms, Texts.formCodes)
        out.key("summary"); summaryValue(sector: sector, community: c)
        out.key("body"); bodyValue(sector: sector, forms: forms, community: c)
        if let source { out.key("sourceSubmissionId"); idValue(.submission(source)) }
        out.key("tags"); tagsValue(sector: sector, directions: directions, community: c, withTown: protected || rng.chance(0.2))
        end("catalog-editor")
        practiceCommunity.append(Int32(c))
        practiceVersion.append(0)
        practiceSector.append(UInt8(sector))
        practiceProtected.append(protected)
        livePos.append(Int32(live.count))
        live.append(Int32(p))
        return true
    }

    func revise(_ a: Action) -> Bool {
        guard !live.isEmpty else { return false }
        let p = Int(live[rng.int(live.count)])
        let c = Int(practiceCommunity[p])
        let sector = Int(practiceSector[p])
        begin("PracticeRevised", .practice(p), a, expectedVersion: practiceVersion[p])
        out.key("practiceId"); idValue(.practice(p))
        out.key("changes")
        out.openObject()
        switch rng.int(4) {
        case 0: out.key("summary"); summaryValue(sector: sector, community: c)
        case 1: out.key("tags"); tagsValue(sector: sector, directions: randomDirections(governance: false), community: c, withTown: rng.chance(0.3))
        case 2: out.key("body"); bodyValue(sector: sector, forms: randomForms(), community: c)
        default:
            out.key("participationForms"); maskArray(randomForms(), Texts.formCodes)
            out.key("directions"); maskArray(randomDirections(governance: sector == Texts.governance), Texts.directionCodes)
        }
        out.closeObject()
        end("catalog-editor")
        practiceVersion[p] += 1
        return true
    }

    func unpublish(_ a: Action) -> Bool {
        guard !live.isEmpty else { return false }
        var p = -1
        for _ in 0..<20 {
            let x = Int(live[rng.int(live.count)])
            if !practiceProtected[x] { p = x; break }
        }
        guard p >= 0 else { return false }
        begin("PracticeUnpublished", .practice(p), a, expectedVersion: practiceVersion[p])
        out.key("practiceId"); idValue(.practice(p))
        out.key("reason"); out.string(Texts.unpublishReasons[rng.int(Texts.unpublishReasons.count)])
        end("catalog-editor")
        practiceVersion[p] += 1
        let pos = Int(livePos[p])
        let last = live.removeLast()
        if pos < live.count {
            live[pos] = last
            livePos[Int(last)] = Int32(pos)
        }
        livePos[p] = -1
        return true
    }

    // MARK: seminars

    func seminar(_ a: Action) -> Bool {
        guard registered > 0 else { return false }
        var host = Int(a.a)
        if host < 0 || host >= registered {
            host = rng.int(registered)
            for _ in 0..<30 {
                let x = rng.int(registered)
                if communities[x].kind == .urban { host = x; break }
            }
        }
        let oblast = communities[host].oblast
        let wanted = min(registered, y.year == startYear ? rng.range(10, 14) : rng.range(5, 14))
        var attendees = [host]
        var tries = 0
        while attendees.count < wanted && tries < wanted * 20 {
            tries += 1
            let x = !members.isEmpty && rng.chance(0.5) ? Int(members[rng.int(members.count)]) : rng.int(registered)
            if communities[x].oblast != oblast && rng.chance(0.6) { continue }
            if attendees.contains(x) { continue }
            attendees.append(x)
        }
        var participants = rng.range(2, 12)
        for _ in attendees { participants += rng.range(1, 4) }
        let direction = rng.int(3)
        let occurred = a.time - Int64(a.lag)
        begin("SeminarHeld", .seminar(Int(a.b)), a, expectedVersion: -1)
        out.key("seminarId"); idValue(.seminar(Int(a.b)))
        let o = Lexicon.oblasts[oblast]
        let region = o.isCity ? "м. " + o.name : o.name + " область"
        out.key("title"); out.string("Регіональний семінар «рівний рівному»: \(Texts.directionTitles[direction]) (\(region))")
        out.key("direction"); out.string(Texts.directionCodes[direction])
        out.key("oblast"); out.string(o.code)
        out.key("city"); out.string(communities[host].centre)
        out.key("date"); out.date(days: Int(occurred / 86_400))
        out.key("participants"); out.int(participants)
        out.key("communityIds")
        out.openArray()
        for c in attendees { idValue(.community(c)) }
        out.closeArray()
        end("network-coordinator")
        return true
    }

    // MARK: - Values

    func maskArray(_ mask: UInt8, _ codes: [StaticString]) {
        out.openArray()
        for (i, code) in codes.enumerated() where mask & (1 << UInt8(i)) != 0 { out.string(code) }
        out.closeArray()
    }

    func monthValue(_ index: Int) {
        out.beginString()
        Civil.four(index / 12, into: &out.bytes)
        out.bytes.append(0x2D)
        Civil.two(index % 12 + 1, into: &out.bytes)
        out.endString()
    }

    func budgetValue() {
        out.openObject()
        out.key("totalUAH"); out.int(rng.range(500, 80_000) * 100)
        out.key("sources")
        out.openArray()
        for s in rng.distinct(rng.range(1, 3), of: Texts.budgetSources.count).sorted() { out.string(Texts.budgetSources[s]) }
        out.closeArray()
        out.closeObject()
    }

    /// Writes `text` (built by `fill`) as a JSON string.
    func textValue(limit: Int, _ fill: (inout Int) -> Void) {
        text.removeAll(keepingCapacity: true)
        var chars = 0
        fill(&chars)
        out.string(text)
    }

    func titleValue(sector: Int, title: Int, community c: Int, suffix: String?) {
        tmp.removeAll(keepingCapacity: true)
        render(Texts.sectors[sector].titles[title], c)
        if let suffix { tmp.append(contentsOf: suffix.utf8) }
        out.string(tmp)
    }

    func activitiesValue(sector: Int, forms: UInt8, community c: Int, limit: Int) {
        textValue(limit: limit) { chars in
            sentences(Texts.sectors[sector].activities, rng.range(3, 5), c, limit, &chars)
            formSentences(forms, c, limit, &chars)
        }
    }

    func summaryValue(sector: Int, community c: Int) {
        textValue(limit: 1000) { chars in
            appendSentence(Texts.summaryLead, c, 1000, &chars)
            sentences(Texts.sectors[sector].activities, 1, c, 1000, &chars)
            sentences(Texts.sectors[sector].results, 1, c, 1000, &chars)
        }
    }

    func bodyValue(sector: Int, forms: UInt8, community c: Int) {
        textValue(limit: 6000) { chars in
            let s = Texts.sectors[sector]
            sentences(s.problems, rng.range(1, 2), c, 6000, &chars)
            paragraph(&chars)
            sentences(s.activities, rng.range(3, 5), c, 6000, &chars)
            formSentences(forms, c, 6000, &chars)
            paragraph(&chars)
            sentences(s.results, rng.range(2, 3), c, 6000, &chars)
        }
    }

    func tagsValue(sector: Int, directions: UInt8, community c: Int, withTown: Bool) {
        let tags = Texts.sectors[sector].tags
        out.openArray()
        for t in rng.distinct(rng.range(2, 4), of: tags.count) { out.string(tags[t]) }
        for d in 0..<3 where directions & (1 << UInt8(d)) != 0 {
            out.string(["бюджетний процес", "адміністративні послуги", "стратегічне планування"][d])
            break
        }
        if withTown { out.string(communities[c].centre) }
        out.closeArray()
    }

    func paragraph(_ chars: inout Int) {
        text.append(0x0A)
        text.append(0x0A)
        chars += 2
    }

    func formSentences(_ forms: UInt8, _ c: Int, _ limit: Int, _ chars: inout Int) {
        var added = 0
        for f in 0..<4 where forms & (1 << UInt8(f)) != 0 && added < 2 {
            appendSentence(Texts.formSentences[f], c, limit, &chars)
            added += 1
        }
    }

    /// Appends up to `k` distinct sentences of `pool` to `text`, keeping within `limit` characters.
    func sentences(_ pool: [Template], _ k: Int, _ c: Int, _ limit: Int, _ chars: inout Int) {
        var chosen: [Int] = []
        let k = min(k, pool.count)
        while chosen.count < k {
            let x = rng.int(pool.count)
            if !chosen.contains(x) { chosen.append(x) }
        }
        for x in chosen { appendSentence(pool[x], c, limit, &chars) }
    }

    func appendSentence(_ t: Template, _ c: Int, _ limit: Int, _ chars: inout Int) {
        tmp.removeAll(keepingCapacity: true)
        render(t, c)
        var n = 0
        for b in tmp where b & 0xC0 != 0x80 { n += 1 }
        let separator = text.isEmpty || text.last == 0x0A ? 0 : 1
        guard chars + separator + n <= limit else { return }
        if separator == 1 { text.append(0x20) }
        text.append(contentsOf: tmp)
        chars += separator + n
    }

    /// Renders a template into `tmp`.
    func render(_ t: Template, _ c: Int) {
        for seg in t.segments {
            switch seg {
            case .text(let bytes): tmp.append(contentsOf: bytes)
            case .slot(let slot):
                switch slot {
                case .g: tmp.append(contentsOf: communities[c].genitive)
                case .t: tmp.append(contentsOf: communities[c].centre)
                case .y: JSONOut.appendInt(y.year, into: &tmp)
                case .y1: JSONOut.appendInt(y.year - 1, into: &tmp)
                case .n: JSONOut.appendInt(Engine.many(rng.range(5, 30)), into: &tmp)
                case .m: JSONOut.appendInt(Engine.many(rng.range(45, 950)), into: &tmp)
                case .p: JSONOut.appendInt(rng.range(12, 85), into: &tmp)
                case .k: JSONOut.appendInt(rng.range(80, 4800), into: &tmp)
                }
            }
        }
    }

    /// A count whose noun takes the genitive plural in Ukrainian (5..20, x5..x9, x0, x11..x14).
    static func many(_ n: Int) -> Int {
        let last = n % 10, lastTwo = n % 100
        if (11...14).contains(lastTwo) { return n }
        if (1...4).contains(last) { return n + 5 - last }
        return n
    }
}
