import Foundation

/// Runs a producer on a thread of its own, at most `maxQueued` items ahead of the consumer:
/// one stage of a two-stage pipeline (parse while the writer writes; decompress while the
/// verifier hashes).
///
/// The producer gets an `emit` function that blocks while the queue is full and returns
/// `false` once the consumer has cancelled: the producer should then stop. An error the
/// producer throws reaches the consumer after the items emitted before it.
package final class Prefetch<Element>: @unchecked Sendable {
    // @unchecked: `items`, `finished`, `cancelled`, `threadDone` and `failure` are touched only
    // with `condition` locked; the producer closure runs on the thread alone.
    private let condition = NSCondition()
    /// The queue: `items[head...]`; taken slots are emptied at once and dropped in bulk.
    private var items: [Element?] = []
    private var head = 0
    private var finished = false
    private var cancelled = false
    private var threadDone = false
    private var failure: (any Error)?
    private let maxQueued: Int

    package init(maxQueued: Int = 4, produce: @escaping (_ emit: (Element) -> Bool) throws -> Void) {
        precondition(maxQueued > 0)
        self.maxQueued = maxQueued
        let box = UncheckedBox(produce)
        let thread = Thread { [self] in self.run(box.value) }
        thread.stackSize = 1 << 22
        thread.start()
    }

    private func run(_ produce: (_ emit: (Element) -> Bool) throws -> Void) {
        do {
            try produce { self.push($0) }
        } catch {
            condition.lock()
            failure = error
            condition.unlock()
        }
        condition.lock()
        finished = true
        threadDone = true
        condition.broadcast()
        condition.unlock()
    }

    private func push(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= maxQueued && !cancelled { condition.wait() }
        if cancelled { return false }
        if head >= 64 {
            items.removeFirst(head)
            head = 0
        }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The next item; `nil` once the producer has ended. Rethrows the producer's error after
    /// the items emitted before it.
    package func next() throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !finished { condition.wait() }
        if head < items.count {
            let item = items[head].take()!
            head += 1
            condition.broadcast()
            return item
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the producer: its next `emit` returns `false`. Waits up to `grace` for the thread
    /// to end; a producer blocked on input that has not arrived (a pipe) is left to end with its
    /// input, and nothing it produces is used.
    package func cancel(grace: TimeInterval = 0.5) {
        condition.lock()
        cancelled = true
        items.removeAll()
        head = 0
        condition.broadcast()
        let deadline = Date().addingTimeInterval(grace)
        while !threadDone && condition.wait(until: deadline) {}
        condition.unlock()
    }
}

/// Carries a non-Sendable value to another thread whose lifetime the caller bounds.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
