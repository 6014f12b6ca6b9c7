#if canImport(Glibc)
import Glibc
#endif
import Events
import Foundation
import Synchronization

/// Wakes followers when the log changes: inotify on the store folder (the index's WAL is written
/// at every commit) and on the log folder, with a poll as fallback. No busy polling. A store
/// that is not a folder (PostgreSQL) makes a watcher without inotify and calls ``notify()``
/// when its server says the log moved (LISTEN/NOTIFY).
///
/// A dedicated thread blocks in `poll(2)`; every follower gets its own `AsyncStream` of ticks.
public final class LogWatcher: Sendable {
    private let continuations = Mutex<[Int: AsyncStream<Void>.Continuation]>([:])
    private let nextID = Mutex(0)
    private let stopped = Mutex(false)
    private let onStop = Mutex<[@Sendable () -> Void]>([])
    private let fd: Int32
    private let pollInterval: Duration

    /// A watcher without inotify: it ticks on ``notify()`` and at least every `pollInterval`.
    public convenience init(pollInterval: Duration) {
        self.init(fd: -1, pollInterval: pollInterval)
    }

    /// Watches `fd` (an inotify descriptor, or -1 for none) from a thread of its own.
    private init(fd: Int32, pollInterval: Duration) {
        self.fd = fd
        self.pollInterval = pollInterval
        let thread = Thread { [self] in self.run() }
        thread.name = "hromada.log-watcher"
        thread.start()
    }

    /// Wakes every follower now (the log moved: a notification of the store's server).
    public func notify() { tick() }

    /// Runs `body` when the watcher stops (to end what feeds ``notify()``).
    public func whenStopped(_ body: @escaping @Sendable () -> Void) {
        onStop.withLock { $0.append(body) }
    }

    /// Watches `layout`; ticks at least every `pollInterval` even without a notification.
    public convenience init(layout: StoreLayout, pollInterval: Duration = .seconds(1)) {
        #if canImport(Glibc)
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd >= 0 {
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)
            _ = inotify_add_watch(fd, layout.root, mask)
            _ = inotify_add_watch(fd, layout.logDirectory, mask)
        }
        self.init(fd: fd, pollInterval: pollInterval)
        #else
        self.init(fd: -1, pollInterval: pollInterval)
        #endif
    }

    /// A stream of wake-ups: one at once, then one after each change (or poll interval).
    public func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = nextID.withLock { n in
            n += 1
            return n
        }
        continuations.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.continuations.withLock { $0.removeValue(forKey: id) }
        }
        continuation.yield()
        return stream
    }

    /// Stops the thread and finishes every stream.
    public func stop() {
        stopped.withLock { $0 = true }
        let all = continuations.withLock { c in
            defer { c.removeAll() }
            return Array(c.values)
        }
        for c in all { c.finish() }
        for body in onStop.withLock({ b in defer { b.removeAll() }; return b }) { body() }
    }

    private func tick() {
        let all = continuations.withLock { Array($0.values) }
        for c in all { c.yield() }
    }

    private func run() {
        let timeoutMs = Int32(pollInterval.components.seconds * 1000 + pollInterval.components.attoseconds / 1_000_000_000_000_000)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pollElapsed = 0
        while !stopped.withLock({ $0 }) {
            if fd >= 0 {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let n = poll(&pfd, 1, min(timeoutMs, 250))
                if n > 0 {
                    // drain, then give the writer a moment to finish its commit
                    while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
                    tick()
                    continue
                }
                // wake streams on the poll interval even when nothing was notified
                pollElapsed += Int(min(timeoutMs, 250))
                if pollElapsed >= Int(timeoutMs) {
                    pollElapsed = 0
                    tick()
                }
            } else {
                // no inotify: sleep in steps of 250 ms, so that stop() is seen promptly
                usleep(useconds_t(min(timeoutMs, 250)) * 1000)
                pollElapsed += Int(min(timeoutMs, 250))
                if pollElapsed >= Int(timeoutMs) {
                    pollElapsed = 0
                    tick()
                }
            }
        }
        if fd >= 0 { close(fd) }
    }
}
