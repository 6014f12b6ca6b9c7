import Foundation
import Synchronization
import Testing

@testable import Service

@Suite struct AnswerCacheTests {
    let asOf5 = #"{"position":5,"recordedAt":"2021-01-01T00:00:00.000Z"}"#
    let asOf9 = #"{"position":9,"recordedAt":"2021-02-01T00:00:00.000Z"}"#

    @Test func aTemplateIsTheAnswerWithItsAsOfWrittenAnew() throws {
        let body = #"{"asOf":\#(asOf5),"rows":[1,2]}"#
        let template = try #require(AnswerCache.Template(body: body, asOfs: [asOf5]))
        #expect(template.render(asOf: asOf5) == body)
        #expect(template.render(asOf: asOf9) == #"{"asOf":\#(asOf9),"rows":[1,2]}"#)
        // Every board of a competition carries the same as-of: each one is re-dated.
        let boards = #"[{"asOf":\#(asOf5),"x":"a"},{"asOf":\#(asOf5),"x":"b"}]"#
        let both = try #require(AnswerCache.Template(body: boards, asOfs: [asOf9, asOf5]))
        #expect(both.render(asOf: asOf9) == #"[{"asOf":\#(asOf9),"x":"a"},{"asOf":\#(asOf9),"x":"b"}]"#)
    }

    @Test func anAnswerWithAnotherAsOfIsNotOneToReDate() {
        // An as-of that is none of those the answer was built with: not cut.
        #expect(AnswerCache.Template(body: #"{"asOf":\#(asOf9),"rows":[]}"#, asOfs: [asOf5]) == nil)
        // Two different as-ofs in one answer: not cut either.
        #expect(AnswerCache.Template(body: #"[{"asOf":\#(asOf5)},{"asOf":\#(asOf9)}]"#, asOfs: [asOf5, asOf9]) == nil)
        // Text that only looks like one inside a string is escaped, and is not an as-of.
        let quoted = #"{"note":"\"asOf\":{}","asOf":\#(asOf5)}"#
        let template = AnswerCache.Template(body: quoted, asOfs: [asOf5])
        #expect(template?.render(asOf: asOf9) == #"{"note":"\"asOf\":{}","asOf":\#(asOf9)}"#)
    }

    @Test func requestsThatMissTogetherShareOneBuild() async throws {
        let cache = AnswerCache()
        let key = AnswerCache.Key(request: "/api/v1/leaderboard?x", version: "leaderboard:7:g1:running:3")
        let builds = Builds()
        let waiters = 9
        let answers = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0...waiters {
                group.addTask {
                    try await cache.flight(key) {
                        builds.n.withLock { $0 += 1 }
                        // Held until every other request waits on this build (or 10 s have passed).
                        let deadline = ContinuousClock.now + .seconds(10)
                        while cache.counts.shared < UInt64(waiters), ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(5))
                        }
                        return AnswerCache.Built(answer: "the board", template: AnswerCache.Template(fixed: "the board"))
                    }.answer
                }
            }
            var all: [String?] = []
            for try await a in group { all.append(a) }
            return all
        }
        #expect(builds.n.withLock { $0 } == 1)
        #expect(answers == Array(repeating: "the board", count: waiters + 1) as [String?])
        #expect(cache.counts.shared == UInt64(waiters))
        // Kept: the next request is a hit.
        #expect(cache.lookup(key)?.render(asOf: "") == "the board")
        // A build whose answer is not the key's keeps nothing; the next miss builds again.
        let other = AnswerCache.Key(request: "/api/v1/regions", version: "regions:1:g0:running:1")
        #expect(try await cache.flight(other) { AnswerCache.Built(answer: "moved", template: nil) }.answer == "moved")
        #expect(cache.lookup(other) == nil)
    }

    @Test func whileANewVersionIsBuiltThePreviousAnswerIsServedAsOfItsOwnPosition() async throws {
        let cache = AnswerCache()
        let request = "/api/v1/leaderboard?competition=bp-2025&limit=100"
        let old = AnswerCache.Key(request: request, version: "leaderboard:5:g1:running:3")
        let new = AnswerCache.Key(request: request, version: "leaderboard:9:g1:running:3")
        let template = try #require(AnswerCache.Template(body: #"{"asOf":\#(asOf5),"rows":[1]}"#, asOfs: [asOf5]))
        cache.store(template, under: old)
        cache.noteLatest(old, template, asOf: asOf5, position: 5)
        // No build of the new version running: nothing to serve but a build.
        #expect(cache.previous(whileBuilding: new) == nil)
        let release = Mutex(false)
        let building = Task {
            try await cache.flight(new) {
                while !release.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                return AnswerCache.Built(answer: "new", template: nil)
            }
        }
        var previous: (template: AnswerCache.Template, asOf: String)?
        for _ in 0..<2_000 where previous == nil {
            previous = cache.previous(whileBuilding: new)
            if previous == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        // The answer of the rows before the change, labelled with the position they were read at.
        let served = try #require(previous)
        #expect(served.template.render(asOf: served.asOf) == #"{"asOf":\#(asOf5),"rows":[1]}"#)
        // The same version's own build is never answered with itself.
        #expect(cache.previous(whileBuilding: old) == nil)
        // An earlier position never replaces a later one.
        cache.noteLatest(old, template, asOf: asOf9, position: 9)
        cache.noteLatest(old, template, asOf: asOf5, position: 5)
        #expect(cache.previous(whileBuilding: new)?.asOf == asOf9)
        // Asked as one step (what the service does), a miss during the build gets the previous
        // answer at once, without waiting for the build and without starting another.
        let never: @Sendable () async throws -> AnswerCache.Built = {
            Issue.record("a second build of a version being built")
            return AnswerCache.Built(answer: "second", template: nil)
        }
        guard case .previous(let t, let a) = try await cache.previousOrFlight(new, build: never) else {
            Issue.record("a miss during the build waited for it")
            return
        }
        #expect(t.render(asOf: a) == #"{"asOf":\#(asOf9),"rows":[1]}"#)
        // Not asking for the previous answer: the running build is joined.
        let sharedBefore = cache.counts.shared
        let joined = Task { try await cache.previousOrFlight(new, servingPrevious: false, build: never) }
        for _ in 0..<2_000 where cache.counts.shared == sharedBefore { try await Task.sleep(for: .milliseconds(5)) }
        release.withLock { $0 = true }
        guard case .built(let b) = try await joined.value else {
            Issue.record("a request not asking for the previous answer got it")
            return
        }
        #expect(b.answer == "new")
        #expect(try await building.value.answer == "new")
        #expect(cache.previous(whileBuilding: new) == nil)
    }

    @Test func theLeastRecentlyUsedGoFirstWhenFull() {
        let cache = AnswerCache(capacity: 4_000)
        for i in 0..<10 {
            cache.store(AnswerCache.Template(fixed: String(repeating: "x", count: 900)), under: .init(request: "r\(i)", version: "v"))
        }
        let kept = (0..<10).filter { cache.lookup(.init(request: "r\($0)", version: "v")) != nil }
        #expect(kept == [6, 7, 8, 9])
        #expect(cache.counts.bytes <= 4_000)
    }
}

final class Builds: Sendable {
    let n = Mutex(0)
}
