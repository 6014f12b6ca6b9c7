import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Scratch folders (time travel, snapshot restores, benchmarks) named after the process that
/// owns them, `<parent>/hromada-<kind>-<pid>-<uuid>`, so that nothing is left behind:
///
/// - a process removes its own when done (``remove(_:)``), and all of them at once when it is
///   interrupted (``removeAll()``, called from a signal handler's cleanup);
/// - a process killed with -9 cannot clean up: the next one to create a scratch folder of the
///   same kind under the same parent removes those whose owning process no longer exists
///   (``sweep(parent:kind:)``).
package enum ScratchFolders {
    private static let live = Mutex<Set<String>>([])

    /// Creates and registers a fresh folder, after sweeping dead processes' folders of `kind`.
    package static func create(parent: String, kind: String) throws -> String {
        sweep(parent: parent, kind: kind)
        let path = "\(parent)/hromada-\(kind)-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        live.withLock { _ = $0.insert(path) }
        return path
    }

    /// Removes a folder this process created.
    package static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        live.withLock { _ = $0.remove(path) }
    }

    /// Removes every folder this process created and has not removed yet.
    package static func removeAll() {
        let all = live.withLock { folders -> Set<String> in
            defer { folders.removeAll() }
            return folders
        }
        for path in all { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Removes `hromada-<kind>-<pid>-*` folders under `parent` whose process is gone.
    /// - Returns: the folders removed.
    @discardableResult
    package static func sweep(parent: String, kind: String) -> [String] {
        let prefix = "hromada-\(kind)-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return [] }
        var removed: [String] = []
        for name in names where isLeftOfDeadProcess(name, prefix: prefix) {
            let path = parent + "/" + name
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(path) }
        }
        return removed
    }

    /// The kinds of scratch folders this project makes.
    package static let kinds = ["state", "restore", "replay"]

    /// Sweeps every kind under `parent` (what a command does as it starts).
    @discardableResult
    package static func sweepAll(parent: String) -> [String] {
        kinds.flatMap { sweep(parent: parent, kind: $0) }
    }

    /// Whether `name` is `<prefix><pid>-…` for a pid other than ours whose process is gone:
    /// what a process killed with -9 left (scratch folders, snapshot writers' `.tmp-` folders).
    package static func isLeftOfDeadProcess(_ name: String, prefix: String) -> Bool {
        guard name.hasPrefix(prefix) else { return false }
        let rest = name.dropFirst(prefix.count)
        guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0, pid != getpid() else {
            return false
        }
        return !isAlive(pid)
    }

    /// Whether a process with this id exists (EPERM: it exists, owned by someone else).
    static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
