import Foundation
import Testing
import TestSupport

@testable import Events

/// A process that opens one writer after another (the service, one per HTTP append) keeps the
/// domain state between them. The state a writer starts from must be the one a fresh writer folds
/// from the saved state and the log: after other processes appended, and never from another log.
@Suite struct DomainCacheTests {
    static func freshState(_ store: TestStore) throws -> DomainState {
        try store.withWriter { $0.domainState }
    }

    @Test func aKeptStateIsTakenOnlyForTheSameLogAndFoldsWhatOthersAppended() throws {
        try withTemporaryDirectory { dir in
            let lines = try Sample.lines()
            let store = try TestStore.create(in: dir, name: "a")
            let cache = DomainStateCache()
            var options = EventStoreOptions()
            options.domainCache = cache

            // A writer of this process imports the first part and leaves its state in the cache.
            try store.importLines(Array(lines[..<600]), options: options)
            #expect(cache.taken == 0)
            // Another process (no cache) appends the rest: its events change the state.
            try store.importLines(Array(lines[600...]))
            let fresh = try Self.freshState(store)
            let kept = try store.withWriter(options) { $0.domainState }
            #expect(cache.taken == 1, "the kept state was taken")
            #expect(kept == fresh, "the kept state folded forward equals a fresh fold")

            // A store with another log at the same position: the hash differs, nothing is taken.
            let other = try TestStore.create(in: dir, name: "b")
            try other.importLines(Array(lines[..<600]))
            _ = try other.withWriter { try $0.append([Sample.note("note-b", 1)], validate: false) }
            let otherKept = try other.withWriter(options) { $0.domainState }
            #expect(cache.taken == 1, "the state of store a is not taken for store b")
            #expect(otherKept == (try Self.freshState(other)))
        }
    }
}
