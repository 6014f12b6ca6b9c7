import Foundation

// The file store's conformance to the store protocols (LogStore.swift). No change of
// behaviour: each requirement is the method the file store already had.

extension EventStore: LogWriting {}

extension EventLogReader: LogReading {
    public var storeName: String { layout.root }

    /// Verifies the store's folder with ``LogVerifier`` (shallow: hashes and frames).
    public func verify(expect: String?, progress: ((Int64) -> Void)?) throws -> LogVerifier.Report {
        try LogVerifier(layout: layout).verify(expect: expect, progress: progress)
    }
}
