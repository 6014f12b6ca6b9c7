import Foundation

extension Sequence where Element == [UInt8] {
    /// The lines, each followed by a newline (a JSON Lines file's bytes).
    public func joinedLines() -> [UInt8] {
        var out: [UInt8] = []
        for line in self {
            out += line
            out.append(0x0A)
        }
        return out
    }
}

/// The `hash` field of an export line: the 64 hex digits before its closing `"}`.
public func hashField(_ line: some Collection<UInt8>) -> String {
    String(decoding: line.dropLast(2).suffix(64), as: UTF8.self)
}

/// The `hash` field of an export line: the 64 hex digits before its closing `"}`.
public func hashField(_ line: Substring) -> String { hashField(line.utf8) }

/// The bytes of every file under a store's `log/`, by name.
public func logFiles(of store: URL) throws -> [String: Data] {
    let log = store.appendingPathComponent("log")
    var out: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: log.path) {
        out[name] = try Data(contentsOf: log.appendingPathComponent(name))
    }
    return out
}
