import Dispatch
import Events
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT) and SIGTERM for one-shot commands, so that an interrupted command leaves
/// nothing half-done behind.
///
/// - Long work that can stop between steps (a rebuild) asks ``requested`` and stops itself,
///   cleaning up as it goes; the command then exits 130.
/// - Everything else: the scratch folders of this process are removed and the process exits
///   130 at once. A second signal always does this.
///
/// Long-running services (workers) use swift-service-lifecycle's own signal handling instead.
enum Interrupt {
    private static let state = Mutex<(installed: Bool, cooperative: Bool, count: Int)>((false, false, 0))
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    /// Installs the handlers. With `cooperative`, the first signal only sets ``requested``.
    static func install(cooperative: Bool = false) {
        let first = state.withLock { s -> Bool in
            s.cooperative = cooperative
            defer { s.installed = true }
            return !s.installed
        }
        guard first else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { received(sig) }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a signal asked the command to stop.
    static var requested: Bool { state.withLock { $0.count > 0 } }

    private static func received(_ sig: Int32) {
        let (cooperative, count) = state.withLock { s -> (Bool, Int) in
            s.count += 1
            return (s.cooperative, s.count)
        }
        if cooperative && count == 1 {
            printError("interrupted: stopping after the current step (again to stop at once)")
            return
        }
        ScratchFolders.removeAll()
        _exit(130)
    }
}
