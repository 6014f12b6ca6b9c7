import Events
import PostgresStore
import Workers

/// The watcher of a PostgreSQL store's log: woken by the server's notifications (LISTEN/NOTIFY)
/// and, should they stop coming (a connection lost, a network cut), by its poll.
enum PostgresChanges {
    static func watcher(_ location: PostgresLocation, pollInterval: Duration) -> LogWatcher {
        let watcher = LogWatcher(pollInterval: pollInterval)
        let listener = PostgresChangeListener(location: location) { [weak watcher] in watcher?.notify() }
        watcher.whenStopped { listener.stop() }
        return watcher
    }
}
