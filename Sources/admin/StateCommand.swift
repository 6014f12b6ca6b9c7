import ArgumentParser
import Events
import Foundation
import Rendering
import Projections
import Workers

/// `admin state --at T --out DIR`: every read model as of T, written as canonical JSON, with a
/// digest that two auditors can compare.
struct State: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconstruct every read model as of T into DIR; print what it used and the state's digest.",
        discussion: """
            The state is rebuilt beside the live read models (never touching them): from the newest \
            usable snapshot at or before T, then the events after it up to T. DIR receives one canonical \
            JSON file per answer and SHA256SUMS; the digest is the SHA-256 of SHA256SUMS, the same for \
            the same history and T on any machine.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "The time: a date (its end, UTC), a date-time, or position:N.") var at: String
    @Option(help: "The folder to write (must not exist, or be empty).") var out: String
    @Option(help: "Where snapshots are looked for (default: ./snapshots).") var snapshots: String = "./snapshots"
    @Flag(name: .customLong("no-snapshots"), help: "Replay from the first event, ignoring snapshots.")
    var noSnapshots = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if TimePoint(at) == nil {
            throw ValidationError("--at must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N")
        }
        if out.isEmpty { throw ValidationError("--out must not be empty") }
    }

    func run() throws {
        Interrupt.install()
        global.bootstrapLogging()
        do {
            let point = TimePoint(at)!
            let reader = try global.logReader()
            if let warning = try point.beyondHeadWarning(reader: reader) { printError(warning) }
            let machine = TimeMachine(reader: reader, snapshots: SnapshotStore(directory: snapshots))
            let past = try machine.state(at: point.position(in: reader), useSnapshots: !noSnapshots)
            defer { past.discard() }
            let digest = try StateDigest.write(past.store, to: out)
            let r = past.report
            if json {
                let object: JSONValue = [
                    "at": .string(point.description), "position": .int(r.position),
                    "recordedAt": r.recordedAt.map(JSONValue.string) ?? .null,
                    "snapshot": r.snapshot.map(JSONValue.string) ?? .null, "snapshotPosition": .int(r.snapshotPosition),
                    "eventsReplayed": .int(Int64(r.eventsReplayed)),
                    "skipped": .array(r.skipped.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) }),
                    "out": .string(out), "files": .int(Int64(digest.files.count)), "digest": .string(digest.digest),
                ]
                printJSON(object)
            } else {
                print("state as of \(point): position \(r.position)\(r.recordedAt.map { " (recorded at \($0))" } ?? " (before the first event)")")
                print(timeTravelSummary(r))
                for s in r.skipped { print("  skipped snapshot \(s.name): \(s.reason)") }
                print("wrote \(digest.files.count) files and \(StateDigest.sumsFileName) to \(out)")
                print("digest sha256:\(digest.digest)")
            }
        } catch { throw fail(error) }
    }
}

/// One line saying how a past state was rebuilt.
func timeTravelSummary(_ r: TimeTravelReport) -> String {
    if let snapshot = r.snapshot {
        return "from snapshot \(snapshot) (position \(r.snapshotPosition)) + \(r.eventsReplayed) events replayed"
    }
    return "replayed \(r.eventsReplayed) events from the start (no usable snapshot at or before it)"
}
