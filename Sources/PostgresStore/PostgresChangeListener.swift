import Events
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// Calls `onChange` whenever a writer commits to the store: LISTEN on the store's channel
/// (``PostgresLocation/changesChannel``; every writer's commit sends a NOTIFY in its
/// transaction, delivered only when it commits). It calls `onChange` once more after each
/// connection is made, so that what was committed while it was away is not missed, and
/// reconnects with a growing delay (0.1 s to 2 s) when the connection is lost.
///
/// A notification only wakes the follower, which then reads the log from its checkpoint: a lost
/// or doubled notification costs a wake-up, never an event.
public final class PostgresChangeListener: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)
    private final class Count: Sendable {
        let value = Mutex(0)
    }
    private let made = Count()
    /// How many connections it made (the first and each reconnection).
    public var connections: Int { made.value.withLock { $0 } }

    public init(
        location: PostgresLocation, logger: Logger = Logger(label: "hromada.postgres.listen"),
        onChange: @escaping @Sendable () -> Void
    ) {
        let channel = location.changesChannel
        let work = Task { [made] in
            var delay = 0.1
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresSession.connect(location, id: 2, logger: logger).get()
                    made.value.withLock { $0 += 1 }
                    delay = 0.1
                    do {
                        try await connection.listen(on: channel) { notifications in
                            onChange()
                            for try await _ in notifications { onChange() }
                        }
                    } catch {
                        logger.info("the LISTEN connection ended", metadata: ["error": "\(PostgresSession.describe(error))"])
                    }
                    try? await connection.close()
                } catch {
                    logger.info("cannot connect to LISTEN; retrying", metadata: ["error": "\(PostgresSession.describe(error))", "retry.seconds": "\(delay)"])
                }
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 2)
            }
        }
        task.withLock { $0 = work }
    }

    /// Ends the LISTEN connection; no `onChange` afterwards.
    public func stop() {
        task.withLock { t in
            t?.cancel()
            t = nil
        }
    }

    deinit { stop() }
}
