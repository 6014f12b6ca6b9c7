#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A deterministic generator of a realistic, rule-abiding multi-year history of the programme:
/// communities of every oblast, yearly competitions «Кращі практики місцевого самоврядування»
/// (three themes, five criteria, deadlines sometimes extended, submissions, amendments,
/// withdrawals, jury scores with re-scores and retractions, winners per theme), the network of
/// communities (joins, leaves), regional seminars and the practices catalog.
///
/// The same seed and target always give the same bytes. Events are streamed in log order
/// (`recordedAt` never decreases); only one year's plan is held in memory at a time.
public struct HistoryGenerator: Sendable {
    public let seed: UInt64
    public let targetEvents: Int
    public let startYear: Int

    public init(seed: UInt64 = 2020, targetEvents: Int, startYear: Int = 2018) {
        self.seed = seed
        self.targetEvents = max(0, targetEvents)
        self.startYear = startYear
    }

    /// Emits events in log order (recordedAt non-decreasing), each as one JSON Lines line
    /// (UTF-8 bytes of a JSON object, no newline), in the interchange format of spec section 1.
    /// Stops after exactly `targetEvents` events (a small target can end with fewer).
    public func generate(_ emit: (_ line: [UInt8]) throws -> Void) rethrows {
        let engine = Engine(seed: seed, target: targetEvents, startYear: startYear)
        try engine.run(emit)
    }

    /// Convenience: writes the JSONL to a file path; returns the number of events.
    public func write(toPath path: String) throws -> Int {
        guard let file = fopen(path, "wb") else {
            throw GeneratorError(message: "cannot open \(path) for writing: \(String(cString: strerror(errno)))")
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 21)
        var count = 0
        func flush() throws {
            guard !buffer.isEmpty else { return }
            let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            guard written == buffer.count else {
                throw GeneratorError(message: "cannot write to \(path): \(String(cString: strerror(errno)))")
            }
            buffer.removeAll(keepingCapacity: true)
        }
        do {
            try generate { line in
                buffer.append(contentsOf: line)
                buffer.append(0x0A)
                count += 1
                if buffer.count >= 1 << 20 { try flush() }
            }
            try flush()
        } catch {
            fclose(file)
            throw error
        }
        guard fclose(file) == 0 else {
            throw GeneratorError(message: "cannot close \(path): \(String(cString: strerror(errno)))")
        }
        return count
    }

    /// The shape the generator picks for a target: years, communities and submissions per year.
    public var plan: (years: Int, communities: Int, submissionsPerYear: [Int]) {
        let p = Engine.shape(target: targetEvents)
        return (p.years, p.communities, p.submissions)
    }
}

public struct GeneratorError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
