import ArgumentParser
import Events
import Foundation
import PostgresStore

/// `admin bench-appenders --writers N --appends M`: appends per second with N writers at once,
/// each on a connection of its own (a PostgreSQL store) appending M single-event appends, each
/// acknowledged (committed) before the next. A folder store takes one writer at a time, so it
/// runs with one.
struct BenchAppenders: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-appenders", abstract: "Single-event appends per second with N writers at once (one connection each).",
        shouldDisplay: false)
    @OptionGroup var global: GlobalOptions
    @Option var writers: Int = 1
    @Option var appends: Int = 500

    func validate() throws {
        if writers < 1 || appends < 1 { throw ValidationError("--writers and --appends must be at least 1") }
    }

    func run() throws {
        global.bootstrapLogging()
        do {
            if try global.postgres() == nil, writers > 1 {
                throw EventStoreError(.invalidArgument, "a folder store has one writer at a time: --writers 1")
            }
            let stores = try (0..<writers).map { _ in try global.logWriter(wait: true) }
            defer { stores.forEach { $0.close() } }
            let oblasts = ["UA-05", "UA-07", "UA-12", "UA-18", "UA-26", "UA-32", "UA-46", "UA-53", "UA-63", "UA-71"]
            let run = UUID().uuidString.prefix(8).lowercased()
            let lock = NSLock()
            nonisolated(unsafe) var latencies: [Double] = []
            nonisolated(unsafe) var failures: [String] = []
            let start = ContinuousClock.now
            DispatchQueue.concurrentPerform(iterations: writers) { w in
                var mine: [Double] = []
                do {
                    for i in 0..<appends {
                        let id = "bench-\(run)-\(w)-\(i)"
                        let event = ProposedEvent(
                            stream: "community-\(id)", type: "CommunityRegistered", occurredAt: .now(), expectedVersion: -1,
                            data: [
                                "communityId": .string(id), "name": .string("Громада \(i)"), "oblast": .string(oblasts[i % oblasts.count]),
                                "kind": "rural", "settlements": 3, "population": 4200, "council": ["name": .string("Рада \(i)")],
                            ], metadata: ["actor": "bench"])
                        let t0 = ContinuousClock.now
                        _ = try stores[w].append([event])
                        mine.append(elapsed(since: t0))
                    }
                } catch {
                    lock.lock(); failures.append("\(error)"); lock.unlock()
                }
                lock.lock(); latencies += mine; lock.unlock()
            }
            let seconds = elapsed(since: start)
            if let first = failures.first { throw EventStoreError(.io, "an appender failed: \(first)") }
            let total = writers * appends
            print(
                #"{"writers":\#(writers),"appends":\#(total),"seconds":\#(String(format: "%.4f", seconds)),"perSecond":\#(String(format: "%.1f", Double(total) / seconds)),"p50ms":\#(ms(percentile(latencies, 50))),"p99ms":\#(ms(percentile(latencies, 99)))}"#)
        } catch { throw fail(error) }
    }
}
