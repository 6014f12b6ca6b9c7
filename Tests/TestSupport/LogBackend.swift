import Events
import Foundation
import PostgresStore
import Testing

/// A backend of the log under test: the folder store, or the PostgreSQL store on the tests'
/// throwaway server. Suites that hold for every store take it as an argument
/// (`@Test(arguments: LogBackend.allCases)`), so that both backends run the same assertions.
public enum LogBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case file
    case postgres

    public var testDescription: String { rawValue }

    /// A fresh, empty, initialised store of this backend, removed when the value goes.
    public func makeStore() throws -> any BackendStore {
        switch self {
        case .file: try FileBackendStore()
        case .postgres: try PostgresBackendStore()
        }
    }
}

/// An empty store of one backend.
public protocol BackendStore: AnyObject {
    func writer() throws -> any LogWriting
    func reader() throws -> any LogReading
    /// The folder, for a folder store (nil for PostgreSQL).
    var layout: StoreLayout? { get }
}

public final class FileBackendStore: BackendStore {
    public let folder: TemporaryFolder
    public let storeLayout: StoreLayout
    public var layout: StoreLayout? { storeLayout }

    public init() throws {
        folder = try TemporaryFolder()
        storeLayout = StoreLayout(root: folder.url.appendingPathComponent("store").path)
        try storeLayout.initialize()
    }

    public func writer() throws -> any LogWriting { try EventStore(layout: storeLayout) }
    public func reader() throws -> any LogReading { try EventLogReader(layout: storeLayout) }
}

/// A store in a fresh schema of the test server.
public final class PostgresBackendStore: BackendStore {
    public let location: PostgresLocation
    public var layout: StoreLayout? { nil }

    public init() throws {
        location = try PostgresServer.shared().newLocation()
        try PostgresLogStore.initialize(location)
    }

    public func writer() throws -> any LogWriting { try PostgresLogStore(location: location) }
    public func reader() throws -> any LogReading { try PostgresLogReader(location: location) }
}
