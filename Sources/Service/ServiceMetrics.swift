import CoreMetrics
import Events
import Foundation
import Metrics
import Projections
import Prometheus
import Synchronization

/// `/metrics`: every figure the process records through swift-metrics (the log's appends and
/// fsyncs, the workers' events applied and rebuild progress, the HTTP requests), exported in the
/// Prometheus text format by swift-prometheus, plus the gauges read from the store at each scrape
/// (the head, the log's size, each projection's lag and its last replay check). docs/SERVICE.md
/// lists them.
public final class ServiceMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The process's metrics system, bootstrapped with a Prometheus registry the first time (the
    /// metrics system takes one backend per process, for its whole life).
    public static func bootstrap() -> ServiceMetrics {
        let registry = bootstrapped.withLock { current -> PrometheusCollectorRegistry in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.durationHistogramBuckets[LogMetrics.fsyncSeconds] = [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .seconds(1),
            ]
            factory.durationHistogramBuckets[Names.requestSeconds] = [
                .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .milliseconds(2500), .seconds(10),
            ]
            MetricsSystem.bootstrap(factory)
            current = registry
            return registry
        }
        return ServiceMetrics(registry: registry)
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    enum Names {
        static let requests = "hromada_http_requests_total"
        static let requestSeconds = "hromada_http_request_duration_seconds"
        static let headPosition = "hromada_log_head_position"
        static let logBytes = "hromada_log_bytes"
        static let lagEvents = "hromada_projection_lag_events"
        static let lagSeconds = "hromada_projection_lag_seconds"
        static let checkpoint = "hromada_projection_checkpoint_position"
        static let auditDifferences = "hromada_audit_differences"
        static let auditMatches = "hromada_audit_matches_log"
        static let auditChecked = "hromada_audit_checked_position"
        static let liveStreams = "hromada_live_streams"
        static let cacheAnswers = "hromada_answer_cache_requests"
        static let cacheEntries = "hromada_answer_cache_entries"
        static let cacheBytes = "hromada_answer_cache_bytes"
    }

    /// Counts a request and its time to the answer's head, by route (the path's template, so
    /// that a stream name does not make a series of its own), method and status.
    public func request(route: String, method: String, status: Int, duration: Duration) {
        Counter(label: Names.requests, dimensions: [("route", route), ("method", method), ("status", String(status))])
            .increment()
        Metrics.Timer(label: Names.requestSeconds, dimensions: [("route", route), ("method", method)])
            .recordNanoseconds(duration.nanoseconds)
    }

    /// The Prometheus text: the store's gauges read now, then every metric.
    func scrape(
        reader: any LogReading, projections store: ProjectionStore, liveStreams: Int,
        cache: (hits: UInt64, misses: UInt64, shared: UInt64, entries: Int, bytes: Int)? = nil
    ) throws -> String {
        if let cache {
            // Since the start: answered from the cache, built, waited for another request's build.
            for (result, n) in [("hit", cache.hits), ("miss", cache.misses), ("waited", cache.shared)] {
                Gauge(label: Names.cacheAnswers, dimensions: [("result", result)]).record(Int64(n))
            }
            Gauge(label: Names.cacheEntries).record(cache.entries)
            Gauge(label: Names.cacheBytes).record(cache.bytes)
        }
        let stats = try reader.stats()
        Gauge(label: Names.headPosition).record(stats.headPosition)
        Gauge(label: Names.logBytes).record(stats.logBytes)
        Gauge(label: Names.liveStreams).record(liveStreams)
        let headTime = stats.headRecordedAt.flatMap(Timestamp.init(rfc3339:))
        let statuses = try store.status()
        for s in statuses {
            let (events, seconds) = s.lag(behind: stats.headPosition, recordedAt: headTime)
            let projection = [("projection", s.name)]
            Gauge(label: Names.lagEvents, dimensions: projection).record(events)
            Gauge(label: Names.lagSeconds, dimensions: projection).record(seconds)
            Gauge(label: Names.checkpoint, dimensions: projection).record(s.checkpoint.position)
        }
        // A projection's last replay check, while it is of the tables being served (a rebuild
        // since makes it history: its series go until the next check).
        let generations = try store.generations()
        let current = Dictionary(
            try store.audits().filter { $0.isCurrent(in: generations) }.map { ($0.projection, $0) },
            uniquingKeysWith: { a, _ in a })
        for s in statuses {
            let projection = [("projection", s.name)]
            let gauges = [Names.auditDifferences, Names.auditMatches, Names.auditChecked].map {
                Gauge(label: $0, dimensions: projection)
            }
            guard let a = current[s.name] else {
                for g in gauges { g.destroy() }
                continue
            }
            gauges[0].record(a.differences)
            gauges[1].record(a.status == .equal ? 1 : 0)
            gauges[2].record(a.position)
        }
        return registry.emitToString()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
