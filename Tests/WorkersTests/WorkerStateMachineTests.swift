import Testing
import Workers

@Suite struct WorkerStateMachineTests {
    @Test func everyProjectionCatchesUpAtFirst() {
        let machine = WorkerStateMachine(projections: ["b", "a"])
        #expect(machine.next(now: 0, stale: []) == .catchUp(["a", "b"]))
    }

    @Test func aStaleProjectionIsRebuiltBeforeCatchingUp() {
        let machine = WorkerStateMachine(projections: ["a", "b"])
        #expect(machine.next(now: 0, stale: ["b"]) == .rebuild(["b"]))
    }

    @Test func aFailingProjectionBacksOffWhileTheOthersGoOn() {
        var machine = WorkerStateMachine(projections: ["a", "b", "c"], baseDelay: 0.5, maxDelay: 8)
        let first = machine.failed("b", error: "disk full", now: 10)
        #expect(first == 0.5)
        #expect(machine.next(now: 10.1, stale: []) == .catchUp(["a", "c"]))
        #expect(machine.health["b"]?.lastError == "disk full")
        // once its retry time has come, it is tried again with the others
        #expect(machine.next(now: 10.6, stale: []) == .catchUp(["a", "b", "c"]))
    }

    @Test func theBackoffDoublesUpToItsCeilingAndASuccessResetsIt() {
        var machine = WorkerStateMachine(projections: ["a"], baseDelay: 1, maxDelay: 5)
        let delays = (0..<5).map { machine.failed("a", error: "x", now: Double($0)) }
        #expect(delays == [1, 2, 4, 5, 5])
        #expect(machine.next(now: 4.5, stale: []) == .wait(until: 9))
        machine.succeeded("a")
        #expect(machine.health["a"] == WorkerStateMachine.Health())
        #expect(machine.next(now: 4.5, stale: []) == .catchUp(["a"]))
    }

    @Test func whenEveryProjectionWaitsTheWorkerWaitsForTheEarliestRetry() {
        var machine = WorkerStateMachine(projections: ["a", "b"], baseDelay: 2)
        machine.failed("a", error: "x", now: 0)
        machine.failed("b", error: "y", now: 1)
        #expect(machine.next(now: 1.5, stale: []) == .wait(until: 2))
        #expect(machine.nextRetry == 2)
    }
}
