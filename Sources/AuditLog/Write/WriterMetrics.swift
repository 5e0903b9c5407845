/// What the writer has done since the log was opened: for monitoring (the service exports them as Prometheus
/// metrics) and for tests that need to see group commit at work.
public struct WriterMetrics: Sendable, Equatable, Codable {
    /// Events acknowledged since open.
    public var eventsAppended: UInt64 = 0
    /// Group commits since open: each is one write of one or more blocks (and, with `.sync`, one fdatasync).
    public var commits: UInt64 = 0
    /// Time from the start of a commit to its acknowledgement.
    public var commitLatency = LatencyHistogram()
    /// Time spent in each fdatasync of a segment.
    public var syncLatency = LatencyHistogram()

    public init() {}

    /// Counts of durations in fixed buckets, as Prometheus histograms count them.
    public struct LatencyHistogram: Sendable, Equatable, Codable {
        /// Upper bounds of the buckets, in seconds; a last, unbounded bucket follows.
        public static let bucketBounds: [Double] = [
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
        ]
        /// Observations per bucket (not cumulative); one more than ``bucketBounds``.
        public var bucketCounts = [UInt64](repeating: 0, count: bucketBounds.count + 1)
        public var count: UInt64 = 0
        /// Sum of the observations, in seconds.
        public var sum: Double = 0

        public init() {}

        mutating func record(nanoseconds: UInt64) {
            let seconds = Double(nanoseconds) / 1e9
            let bucket = Self.bucketBounds.firstIndex { seconds <= $0 } ?? Self.bucketBounds.count
            bucketCounts[bucket] += 1
            count += 1
            sum += seconds
        }
    }
}

/// The writer's metrics, updated by the commit leader and the flusher, read from any thread.
final class MetricsRecorder: Sendable {
    private let metrics = Locked(WriterMetrics())

    var snapshot: WriterMetrics { metrics.withLock { $0 } }

    func recordCommit(events: Int, nanoseconds: UInt64) {
        metrics.withLock {
            $0.eventsAppended += UInt64(events)
            $0.commits += 1
            $0.commitLatency.record(nanoseconds: nanoseconds)
        }
    }

    func recordSync(nanoseconds: UInt64) {
        metrics.withLock { $0.syncLatency.record(nanoseconds: nanoseconds) }
    }
}
