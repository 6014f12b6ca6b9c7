import ArgumentParser
import Events
import Foundation
import Rendering

/// `admin history STREAM [--json] [--until T]`: the audit trail of one stream.
struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The audit trail of one stream: every event with who (metadata.actor), when, and what changed.",
        discussion: """
            Amendments (SubmissionAmended, PracticeRevised) show each field's value before and after; \
            other events a short summary (a juror's total and the previous one on a re-score, a \
            retracted total, a withdrawal's reason, a deadline's old and new date, ...). \
            --json prints {"stream", "events": [{"id", "hash", "position", "version", "type", "recordedAt", \
            "occurredAt", "actor", "changes": [{"field", "before", "after"}], "summary", "details"}]}.
            """)
    @OptionGroup var global: GlobalOptions

    @Argument(help: "The stream, e.g. submission-bp-2020-00007.")
    var stream: String

    @Flag(help: "Print the audit trail as JSON.")
    var json = false

    @Option(help: "Only the events recorded at or before this time (a date, a date-time, or position:N).")
    var until: String?

    @Option(help: "Cut long values to this many characters in the human output (0: never).")
    var width: Int = 80

    func validate() throws {
        do { try EventCodec.checkStreamName(stream) } catch {
            throw ValidationError("STREAM: \(error.reason)")
        }
        if let until, TimePoint(until) == nil {
            throw ValidationError("--until must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N")
        }
        if width < 0 { throw ValidationError("--width must be >= 0") }
    }

    func run() throws {
        do {
            let reader = try global.logReader()
            guard try reader.streamVersion(stream) != nil else {
                throw EventStoreError(
                    .notFound, "stream \(stream) does not exist in the store at \(reader.storeName)")
            }
            // The whole stream feeds the "before" values; --until only cuts what is shown.
            var entries = StreamHistory.build(events: try reader.stream(stream))
            if let until = until.flatMap(TimePoint.init) {
                let last = try until.position(in: reader)
                entries = entries.filter { $0.position <= last }
            }
            let out = OutputBuffer()
            if json {
                out.write(HistoryDocument.json(stream: stream, entries: entries).canonicalString + "\n")
            } else {
                out.write(HistoryText.render(stream: stream, entries: entries, until: until, width: width))
            }
            out.flush()
        } catch { throw fail(error) }
    }
}
