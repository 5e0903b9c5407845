import AuditLog
import AuditLogKeys
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import NIOPosix
import Prometheus

/// `GET /metrics` in the Prometheus text format: request counts and latencies by route and status (recorded by
/// Hummingbird's metrics middleware through swift-metrics, when the process bootstraps the Prometheus factory as
/// `auditlog serve` does), and the writer's own figures read at scrape time: events appended, commits, commit and
/// fsync latency histograms, tree size, bytes on disk, the read cache's hits and misses, and the archive's uploads when
/// there is one. No key, no event data, no secret appears in them.
struct ServerMetrics: Sendable {
    let log: AuditLog
    /// The registry the process's swift-metrics factory writes to (`auditlog serve` bootstraps it).
    static let registry = PrometheusCollectorRegistry()

    func response() async throws -> Response {
        var buffer: [UInt8] = []
        Self.registry.emit(into: &buffer)
        let metrics = log.metrics
        let state = log.state
        let reader = log.reader
        let bytes = (try? await NIOThreadPool.singleton.runIfActive { try reader.bytesOnDisk() }) ?? 0
        var text = ""
        func counter(_ name: String, _ help: String, _ value: UInt64) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
        }
        func gauge(_ name: String, _ help: String, _ value: Int64) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
        }
        func histogram(_ name: String, _ help: String, _ h: WriterMetrics.LatencyHistogram) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            var cumulative: UInt64 = 0
            for (i, bound) in WriterMetrics.LatencyHistogram.bucketBounds.enumerated() {
                cumulative += h.bucketCounts[i]
                text += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
            }
            text += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(h.sum)\n\(name)_count \(h.count)\n"
        }
        counter(
            "auditlog_events_appended_total", "Events acknowledged since the log was opened.", metrics.eventsAppended)
        counter("auditlog_commits_total", "Group commits since the log was opened.", metrics.commits)
        histogram(
            "auditlog_commit_duration_seconds", "Time from the start of a group commit to its acknowledgement.",
            metrics.commitLatency)
        histogram("auditlog_fsync_duration_seconds", "Time spent in each fdatasync of a segment.", metrics.syncLatency)
        gauge("auditlog_tree_size", "Events in the log (the Merkle tree size).", Int64(state.treeSize))
        gauge("auditlog_bytes_on_disk", "Bytes of every file in the log directory.", bytes)
        if let cache = reader.cacheStatistics {
            counter(
                "auditlog_read_cache_hits_total", "Frames of decoded records pages found in the read cache.", cache.hits
            )
            counter(
                "auditlog_read_cache_misses_total", "Frames pages had to read and decode (then kept in the cache).",
                cache.misses)
            gauge(
                "auditlog_read_cache_bytes", "Bytes the read cache holds (bounded by --read-cache).", Int64(cache.bytes)
            )
        }
        if let archive = log.archiveStatus {
            gauge(
                "auditlog_archive_pending_segments", "Sealed segments not uploaded to the archive yet.",
                Int64(archive.pendingSegments))
            counter(
                "auditlog_archive_uploaded_segments_total", "Segments uploaded and verified since the log was opened.",
                UInt64(archive.uploadedSegments))
            counter(
                "auditlog_archive_evicted_segments_total",
                "Archived segments removed from the local disk since the log was opened.",
                UInt64(archive.evictedSegments))
            gauge(
                "auditlog_archive_failing", "1 while the last attempt to upload to the archive failed (see the log).",
                archive.lastError == nil ? 0 : 1)
        }
        buffer.append(contentsOf: text.utf8)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}

extension AuditLogServer {
    /// Makes swift-metrics write to the registry `/metrics` shows (request counts and latencies by route and
    /// status). Call once per process, before serving; a host application that has its own metrics backend
    /// does not call it.
    public static func bootstrapMetrics() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: ServerMetrics.registry))
    }
}
