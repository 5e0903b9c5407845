@_spi(Benchmarks) import AuditLog
import AuditLogSampleData
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One row of the comparison: a workload measured on the log, on SQLite and against this machine's limit.
public struct WorkloadResult {
    public var name: String
    public var title: String
    public var unit: String
    public var auditlog: Double
    public var sqlite: Double?
    public var limit: Double?
    /// Throughputs are better higher; latencies and sizes lower. Decides the direction of ratios.
    public var higherIsBetter: Bool

    /// How many times better than SQLite the log is (above 1: the log wins).
    public var ratio: Double? {
        guard let sqlite, sqlite > 0, auditlog > 0 else { return nil }
        return higherIsBetter ? auditlog / sqlite : sqlite / auditlog
    }

    /// How close the log gets to the limit, in percent.
    public var percentOfLimit: Double? {
        guard let limit, limit > 0, auditlog > 0 else { return nil }
        return 100 * (higherIsBetter ? auditlog / limit : limit / auditlog)
    }
}

/// The whole `make compare` run: the same events into the log and into SQLite, the same queries on both, and the
/// physical limits, in one process.
public final class Comparison {
    public let events: Int
    public let directory: String
    /// The built `auditlog` tool, for the JSONL-ingest workload (the CLI path, parse included).
    public let tool: String
    private let say: (String) -> Void
    public private(set) var results: [WorkloadResult] = []
    public private(set) var limits = PhysicalLimits()

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(events: Int, directory: String, tool: String, progress: @escaping (String) -> Void) {
        self.events = events
        self.directory = directory
        self.tool = tool
        self.say = progress
    }

    private var logDirectory: String { directory + "/log" }
    private var inputPath: String { directory + "/events.jsonl" }
    private var sqlitePath: String { directory + "/audit_logs.sqlite" }

    private var inputBytes: Int64 = 0
    private var actors: [String] = []
    /// Events per actor.
    private var actorEvents: [String: Int] = [:]
    private var timeSpan: ClosedRange<Int64> = 0...0

    private func record(
        _ name: String, _ title: String, _ unit: String, auditlog: Double, sqlite: Double? = nil,
        limit: Double? = nil, higherIsBetter: Bool
    ) {
        let result = WorkloadResult(
            name: name, title: title, unit: unit, auditlog: auditlog, sqlite: sqlite, limit: limit,
            higherIsBetter: higherIsBetter)
        results.append(result)
        var line = "  \(title): \(format(auditlog)) \(unit)"
        if let sqlite { line += ", SQLite \(format(sqlite))" }
        if let limit { line += ", limit \(format(limit))" }
        say(line)
    }

    public func run() throws {
        removeTree(directory)
        guard mkdir(directory, 0o700) == 0 else { throw Failure(description: "cannot create \(directory)") }
        let source = EventSource(count: events)

        say("generating \(events) events (JSON Lines input and record sample)")
        let sample = try writeInput(source)
        say("measuring physical limits on \(sample.count) records")
        limits = PhysicalLimits.measure(records: sample, directory: directory)
        let meanRecord = Double(sample.reduce(0) { $0 + $1.count }) / Double(max(1, sample.count))
        let meanInput = Double(inputBytes) / Double(max(1, events))
        // Ingest's CPU ceiling: every record is LZ4-compressed once and SHA-256 hashed once, on one core.
        let ingestLimit = 1 / (meanRecord / (limits.lz4CompressMBps * 1e6) + meanRecord / (limits.sha256MBps * 1e6))

        try ingestWorkloads(source, ingestLimit: ingestLimit, meanInput: meanInput)
        try readWorkloads(meanInput: meanInput)
    }

    // MARK: Input

    private func writeInput(_ source: EventSource) throws -> [[UInt8]] {
        let fd = open(inputPath, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(inputPath)") }
        defer { close(fd) }
        var sample: [[UInt8]] = []
        var actorSet: Set<String> = []
        var low = Int64.max
        var high = Int64.min
        var buffer: [UInt8] = []
        try source.forEachChunk { first, chunk in
            buffer.removeAll(keepingCapacity: true)
            for (i, event) in chunk.enumerated() {
                event.appendJSON(to: &buffer)
                buffer.append(UInt8(ascii: "\n"))
                actorSet.insert(event.actor.id)
                actorEvents[event.actor.id, default: 0] += 1
                low = min(low, event.timestamp.millisecondsSinceEpoch)
                high = max(high, event.timestamp.millisecondsSinceEpoch)
                if first + i < 100_000 { sample.append(RecordBytes.of(event, seq: UInt64(first + i))) }
            }
            guard buffer.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == buffer.count else {
                throw Failure(description: "cannot write \(inputPath)")
            }
            inputBytes += Int64(buffer.count)
        }
        actors = actorSet.sorted()
        timeSpan = low...high
        return sample
    }

    // MARK: Ingest

    private func ingestWorkloads(_ source: EventSource, ingestLimit: Double, meanInput: Double) throws {
        say("ingest: log (sync durability, one group commit per 1000-event append)")
        let logRate = try ingest(source, into: logDirectory, durability: .sync)
        say("ingest: SQLite (WAL, synchronous=NORMAL, 1000 rows per transaction)")
        let peer = try SQLitePeer(path: sqlitePath, create: true)
        var sqliteSeconds = 0.0
        try source.forEachChunk { first, chunk in
            sqliteSeconds += try seconds { try peer.insert(chunk, firstSeq: first) }
        }
        try peer.checkpoint()
        record(
            "ingest", "ingest, durable group commit", "events/s", auditlog: logRate,
            sqlite: Double(events) / sqliteSeconds, limit: ingestLimit, higherIsBetter: true)

        // The other durability modes, and many threads appending one event at a time, on a bounded count.
        let extra = EventSource(count: min(events, 1_000_000))
        let noneRate = try ingest(extra, into: directory + "/log-none", durability: .none)
        removeTree(directory + "/log-none")
        record(
            "ingest_durability_none", "ingest, durability none", "events/s", auditlog: noneRate, limit: ingestLimit,
            higherIsBetter: true)
        let threads = 16
        let threadRate = try ingestFromThreads(
            EventSource(count: min(events, 100_000)), threads: threads, into: directory + "/log-threads")
        removeTree(directory + "/log-threads")
        record(
            "ingest_16_threads_single_events", "ingest, 16 threads x 1-event appends, sync", "events/s",
            auditlog: threadRate, higherIsBetter: true)
        let asyncRate = try ingestFromTasks(
            EventSource(count: min(events, 100_000)), tasks: 256, into: directory + "/log-tasks")
        removeTree(directory + "/log-tasks")
        record(
            "ingest_async_256_tasks_single_events", "async append, 256 tasks x 1 event, sync", "events/s",
            auditlog: asyncRate, higherIsBetter: true)

        say("ingest: auditlog ingest (CLI: read, parse, validate, append; sync)")
        let cliSeconds = try seconds {
            let status = try runTool(["ingest", "--dir", directory + "/log-cli", inputPath])
            guard status == 0 else { throw Failure(description: "auditlog ingest exited with \(status)") }
        }
        removeTree(directory + "/log-cli")
        record(
            "ingest_jsonl_cli", "JSONL file -> log (CLI, parse included)", "MB/s",
            auditlog: Double(inputBytes) / 1e6 / cliSeconds, limit: ingestLimit * meanInput / 1e6,
            higherIsBetter: true)

        record(
            "bytes_per_input_byte", "storage", "bytes/input byte",
            auditlog: Double(directoryBytes(logDirectory)) / Double(inputBytes),
            sqlite: Double(peer.bytesOnDisk) / Double(inputBytes),
            limit: limits.lz4Ratio * Double(try recordBytesTotal()) / Double(inputBytes), higherIsBetter: false)
    }

    private var verifiedRecordBytes: Int64?

    private func recordBytesTotal() throws -> Int64 {
        if let verifiedRecordBytes { return verifiedRecordBytes }
        let bytes = try AuditLogReader(directory: logDirectory).statistics().recordBytes
        verifiedRecordBytes = bytes
        return bytes
    }

    /// Events per second of `append` (generation excluded), 1000 events per call.
    private func ingest(_ source: EventSource, into path: String, durability: AuditLog.Durability) throws -> Double {
        let log = try AuditLog(directory: path, options: AuditLog.Options(durability: durability))
        var appendSeconds = 0.0
        try source.forEachChunk { _, chunk in
            var index = 0
            while index < chunk.count {
                let batch = Array(chunk[index..<min(chunk.count, index + 1000)])
                appendSeconds += try seconds { _ = try log.append(batch) }
                index += 1000
            }
        }
        appendSeconds += try seconds { try log.close() }
        return Double(source.count) / appendSeconds
    }

    private func ingestFromThreads(_ source: EventSource, threads: Int, into path: String) throws -> Double {
        var all: [AuditEvent] = []
        source.forEachChunk { _, chunk in all.append(contentsOf: chunk) }
        let log = try AuditLog(directory: path, options: AuditLog.Options(durability: .sync))
        let events = all
        let failures = FailureCount()
        // Real threads: Dispatch's concurrentPerform would run only as many as there are cores.
        let s = seconds {
            let done = DispatchGroup()
            for t in 0..<threads {
                done.enter()
                Thread {
                    var i = t
                    while i < events.count {
                        if (try? log.append(events[i])) == nil { failures.add() }
                        i += threads
                    }
                    done.leave()
                }.start()
            }
            done.wait()
        }
        try log.close()
        guard failures.value == 0 else { throw Failure(description: "\(failures.value) appends failed") }
        return Double(events.count) / s
    }

    /// Events per second of `tasks` concurrent tasks each appending one event at a time with `await`.
    private func ingestFromTasks(_ source: EventSource, tasks: Int, into path: String) throws -> Double {
        var all: [AuditEvent] = []
        source.forEachChunk { _, chunk in all.append(contentsOf: chunk) }
        let log = try AuditLog(directory: path, options: AuditLog.Options(durability: .sync))
        let events = all
        let failures = FailureCount()
        let done = DispatchSemaphore(value: 0)
        let s = seconds {
            Task {
                await withTaskGroup(of: Void.self) { group in
                    for t in 0..<tasks {
                        group.addTask {
                            var i = t
                            while i < events.count {
                                if (try? await log.append(events[i])) == nil { failures.add() }
                                i += tasks
                            }
                        }
                    }
                }
                done.signal()
            }
            done.wait()
        }
        try log.close()
        guard failures.value == 0 else { throw Failure(description: "\(failures.value) async appends failed") }
        return Double(events.count) / s
    }

    private func runTool(_ arguments: [String]) throws -> Int32 {
        var pid: pid_t = 0
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        guard posix_spawn(&pid, tool, &actions, nil, argv, environ) == 0 else {
            throw Failure(description: "cannot run \(tool); build it with `swift build -c release` in the parent")
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    // MARK: Reads

    private func readWorkloads(meanInput: Double) throws {
        say("open")
        var openLog = Latencies()
        for _ in 0..<11 {
            try openLog.measure {
                let log = try AuditLog(directory: logDirectory)
                try log.close()
            }
        }
        var openSQLite = Latencies()
        for _ in 0..<11 {
            try openSQLite.measure {
                let peer = try SQLitePeer(path: sqlitePath, create: false)
                var out: [UInt8] = []
                try peer.timeRange(from: timeSpan.upperBound, to: timeSpan.upperBound, limit: 1, into: &out)
            }
        }
        record(
            "open", "open the log (median)", "ms", auditlog: openLog.percentile(50),
            sqlite: openSQLite.percentile(50), higherIsBetter: false)

        let engine = try AuditLogReader(directory: logDirectory)
        let peer = try SQLitePeer(path: sqlitePath, create: false)
        var random = SplitMix64(seed: 7)
        let rounds = 400
        say("first page (100) of one actor, \(rounds) random actors of \(actors.count)")
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        let picked = (0..<(rounds + 20)).map { _ in actors[Int(random.next() % UInt64(actors.count))] }
        let (logPage, sqlitePage) = try alternately(
            rounds: rounds, warmup: 20, out: &out,
            log: { round, out in
                var encoder = ExportEncoder(format: .jsonLines)
                _ = try engine.appendPage(
                    matching: Query(actorIDs: [picked[round]], order: .newestFirst, limit: 100), encoder: &encoder,
                    to: &out)
            },
            sqlite: { round, out in try peer.actorPage(picked[round], limit: 100, into: &out) })
        record(
            "actor_page_p99", "first page of one actor (p99)", "ms", auditlog: logPage.percentile(99),
            sqlite: sqlitePage.percentile(99), higherIsBetter: false)
        record(
            "actor_page_p50", "first page of one actor (p50)", "ms", auditlog: logPage.percentile(50),
            sqlite: sqlitePage.percentile(50), higherIsBetter: false)

        // The busiest actor (its page in its newest blocks) and a rare one (the fewest events that still fill a page
        // of 100: one block per event), at both page sizes; then the pages of 100 asked again through a reader that
        // keeps decoded frames (as `auditlog serve` does, with its default 32 MiB; SQLite keeps its pages in its own
        // cache throughout).
        let byCount = actorEvents.sorted { ($0.value, $0.key) > ($1.value, $1.key) }
        let rare = byCount.last { $0.value >= 100 } ?? byCount[0]
        let cached = try AuditLogReader(directory: logDirectory, cacheBytes: 32 << 20)
        for (reader, withCache) in [(engine, false), (cached, true)] {
            for (name, entry) in [("busiest", byCount[0]), ("rare", rare)] {
                let (actor, count) = (entry.key, entry.value)
                for limit in withCache ? [100] : [50, 100] {
                    let cache = withCache ? ", read cache" : ""
                    say("first page (\(limit)) of the \(name) actor (\(count) events)\(cache), \(rounds / 2) rounds")
                    let (log, sql) = try alternately(
                        rounds: rounds / 2, warmup: 10, out: &out,
                        log: { _, out in
                            var encoder = ExportEncoder(format: .jsonLines)
                            _ = try reader.appendPage(
                                matching: Query(actorIDs: [actor], order: .newestFirst, limit: limit),
                                encoder: &encoder, to: &out)
                        },
                        sqlite: { _, out in _ = try peer.actorPage(actor, limit: limit, into: &out) })
                    record(
                        withCache ? "actor_page_\(name)_\(limit)_cached_p99" : "actor_page_\(name)_\(limit)_p99",
                        withCache
                            ? "actor page (\(limit)), \(name), read cache (p99)"
                            : "first page (\(limit)) of the \(name) actor (p99)", "ms",
                        auditlog: log.percentile(99), sqlite: sql.percentile(99), higherIsBetter: false)
                }
            }
        }

        say("one-hour time range, first page (100), \(rounds) random hours")
        let hour: Int64 = 3_600_000
        let span = max(1, timeSpan.upperBound - timeSpan.lowerBound - hour)
        let starts = (0..<rounds).map { _ in timeSpan.lowerBound + Int64(random.next() % UInt64(span)) }
        let (logHour, sqliteHour) = try alternately(
            rounds: rounds, warmup: 0, out: &out,
            log: { round, out in
                var encoder = ExportEncoder(format: .jsonLines)
                let from = starts[round]
                _ = try engine.appendPage(
                    matching: Query(
                        from: Timestamp(millisecondsSinceEpoch: from),
                        to: Timestamp(millisecondsSinceEpoch: from + hour),
                        order: .newestFirst), encoder: &encoder, to: &out)
            },
            sqlite: { round, out in
                try peer.timeRange(from: starts[round], to: starts[round] + hour, limit: 100, into: &out)
            })
        record(
            "time_range_hour", "one-hour range, first page (p99)", "ms", auditlog: logHour.percentile(99),
            sqlite: sqliteHour.percentile(99), higherIsBetter: false)

        try rareValueWorkloads(engine, peer, rounds: rounds)

        var jsonLinesSeconds = 0.0
        for format in [ExportEncoder.Format.jsonLines, .csv] {
            let name = format == .csv ? "csv" : "jsonl"
            say("export all as \(name)")
            let logOut = try exportLog(engine, format: format)
            let sqliteOut = try exportSQLite(peer, csv: format == .csv)
            record(
                "export_\(name)", "export all as \(format == .csv ? "CSV" : "JSON Lines")", "MB/s",
                auditlog: logOut.megabytesPerSecond, sqlite: sqliteOut.megabytesPerSecond,
                limit: limits.memcpyMBps, higherIsBetter: true)
            if format == .jsonLines {
                jsonLinesSeconds = logOut.seconds
                // Log lines carry seq and leafHash, so compare events/s too.
                record(
                    "export_jsonl_events", "export all as JSON Lines", "events/s",
                    auditlog: Double(events) / logOut.seconds, sqlite: Double(events) / sqliteOut.seconds,
                    higherIsBetter: true)
            }
        }

        // The SIEM formats map every event (written straight from records, like JSON Lines); the target is at most
        // twice the JSON Lines export's time. SQLite has no such format to compare with.
        for format in [ExportEncoder.Format.ocsf, .ecs] {
            say("export all as \(format.rawValue)")
            let run = try exportLog(engine, format: format)
            let ratio = (run.seconds / max(jsonLinesSeconds, 1e-9) * 100).rounded() / 100
            record(
                "export_\(format.rawValue)", "export all as \(format == .ocsf ? "OCSF" : "ECS") (\(ratio)x JSONL time)",
                "events/s", auditlog: Double(events) / run.seconds, higherIsBetter: true)
            record(
                "export_\(format.rawValue)_mbps", "export all as \(format == .ocsf ? "OCSF" : "ECS")", "MB/s",
                auditlog: run.megabytesPerSecond, limit: limits.memcpyMBps, higherIsBetter: true)
        }

        say("verify")
        for jobs in [1, 2] {
            let report = try AuditLogReader(directory: logDirectory).verify(jobs: jobs)
            guard report.isValid, report.treeSize == UInt64(events) else {
                throw Failure(description: "verify found problems: \(report.problems.prefix(3))")
            }
            verifiedRecordBytes = report.recordBytes
            record(
                jobs == 1 ? "verify" : "verify_2_jobs", "verify (\(jobs) job\(jobs == 1 ? "" : "s"))",
                "MB/s", auditlog: Double(report.recordBytes) / 1e6 / report.seconds,
                limit: limits.sha256MBps * Double(jobs), higherIsBetter: true)
        }

        say("proofs")
        var inclusion = Latencies()
        var consistency = Latencies()
        for _ in 0..<200 {
            let seq = random.next() % UInt64(events)
            try inclusion.measure {
                _ = try AuditLogReader(directory: logDirectory).inclusionProof(seq: seq)
            }
            try consistency.measure {
                _ = try AuditLogReader(directory: logDirectory).consistencyProof(from: seq + 1)
            }
        }
        record(
            "inclusion_proof", "inclusion proof from the directory (p50)", "ms", auditlog: inclusion.percentile(50),
            higherIsBetter: false)
        record(
            "consistency_proof", "consistency proof from the directory (p50)", "ms",
            auditlog: consistency.percentile(50), higherIsBetter: false)
    }

    /// Runs the log's side and SQLite's side of a query one after the other, `warmup + rounds` times (`round`
    /// counts from 0), each writing into `out` emptied first, and returns their latencies without the first
    /// `warmup` rounds, which warm both caches.
    private func alternately(
        rounds: Int, warmup: Int, out: inout [UInt8], log: (_ round: Int, inout [UInt8]) throws -> Void,
        sqlite: (_ round: Int, inout [UInt8]) throws -> Void
    ) throws -> (log: Latencies, sqlite: Latencies) {
        var result = (log: Latencies(), sqlite: Latencies())
        for round in 0..<(warmup + rounds) {
            var l = Latencies()
            var q = Latencies()
            try l.measure {
                out.removeAll(keepingCapacity: true)
                try log(round, &out)
            }
            try q.measure {
                out.removeAll(keepingCapacity: true)
                try sqlite(round, &out)
            }
            if round >= warmup {
                result.log.merge(l)
                result.sqlite.merge(q)
            }
        }
        return result
    }

    /// First pages for an action and a project that 0.01% of events carry, spread over the log (the log's block
    /// filters against SQLite with an index on each column), and the distinct values of a field with counts.
    private func rareValueWorkloads(_ engine: AuditLogReader, _ peer: SQLitePeer, rounds: Int) throws {
        say("indexing SQLite's action and project columns")
        try peer.indexFilterColumns()
        var out: [UInt8] = []
        for (field, value, column) in [
            ("action", EventSource.rareAction, "action"), ("project", EventSource.rareProject, "project_id"),
        ] {
            say("first page (100) of a rare \(field) (0.01% of events), \(rounds) rounds")
            let query = field == "action" ? Query(actions: [value], limit: 100) : Query(projectIDs: [value], limit: 100)
            var found = (0, 0)
            let (log, sql) = try alternately(
                rounds: rounds / 4, warmup: 5, out: &out,
                log: { _, out in
                    var encoder = ExportEncoder(format: .jsonLines)
                    found.0 = try engine.appendPage(matching: query, encoder: &encoder, to: &out).events
                },
                sqlite: { _, out in found.1 = try peer.fieldPage(column, value, limit: 100, into: &out) })
            guard found.0 == found.1, found.0 == min(100, events / EventSource.rarePeriod) else {
                throw Failure(description: "rare \(field): the log found \(found.0) events, SQLite \(found.1)")
            }
            record(
                "rare_\(field)_page_p99", "first page of a rare \(field) (p99)", "ms", auditlog: log.percentile(99),
                sqlite: sql.percentile(99), higherIsBetter: false)
        }
        // A new reader walks the active segment's records (sealed segments have their summary file); a reader that
        // stays open (the server's) extends what it counted block by block.
        say("distinct actions with counts, a new reader each time and one open reader")
        var cold = Latencies()
        var warm = Latencies()
        var sql = Latencies()
        let open = try AuditLogReader(directory: logDirectory)
        _ = try open.facets(.action)
        for _ in 0..<21 {
            try cold.measure { _ = try AuditLogReader(directory: logDirectory).facets(.action) }
            try warm.measure { _ = try open.facets(.action) }
            try sql.measure { _ = try peer.distinctValues("action") }
        }
        record(
            "distinct_actions_new_reader", "distinct actions with counts, new reader (median)", "ms",
            auditlog: cold.percentile(50), sqlite: sql.percentile(50), higherIsBetter: false)
        record(
            "distinct_actions_open_reader", "distinct actions with counts, open reader (median)", "ms",
            auditlog: warm.percentile(50), sqlite: sql.percentile(50), higherIsBetter: false)
    }

    private struct ExportRun {
        var bytes: Int64
        var seconds: Double
        var megabytesPerSecond: Double { Double(bytes) / 1e6 / seconds }
    }

    /// Exports are timed three times and the fastest run counts, for the log and for SQLite alike: one run on
    /// this shared machine varied by ±25%, enough to move the SIEM formats' ratio to JSON Lines across 2×.
    private static let exportRuns = 3

    private func exportLog(_ engine: AuditLogReader, format: ExportEncoder.Format) throws -> ExportRun {
        var best: ExportRun?
        for _ in 0..<Self.exportRuns {
            let output = try OutputSink(path: directory + "/export.out")
            let s = try seconds {
                try engine.export(matching: Query(order: .oldestFirst), format: format) {
                    (bytes) throws(AuditLogError) in
                    output.write(bytes)
                    return true
                }
            }
            let run = ExportRun(bytes: output.finish(), seconds: s)
            if best.map({ run.seconds < $0.seconds }) ?? true { best = run }
        }
        return best!
    }

    private func exportSQLite(_ peer: SQLitePeer, csv: Bool) throws -> ExportRun {
        var best: ExportRun?
        for _ in 0..<Self.exportRuns {
            let output = try OutputSink(path: directory + "/export.out")
            let s = try seconds { _ = try peer.exportAll(csv: csv) { output.write($0) } }
            let run = ExportRun(bytes: output.finish(), seconds: s)
            if best.map({ run.seconds < $0.seconds }) ?? true { best = run }
        }
        return best!
    }
}

/// A file the exports stream into, both engines alike: each write is copied into the page cache, as an export to a
/// file is, but over the same 64 MiB of the file again and again. Not synced, and bounded: a 10M-event export
/// (5.6 GB of JSON Lines, 14 GB of OCSF) written out whole filled memory with dirty pages, so the rows measured the
/// disk's writeback (and evicted the log and the database from the cache) instead of the engines.
private final class OutputSink {
    private static let region = 64 << 20
    private let fd: Int32
    private let path: String
    private var bytes: Int64 = 0
    private var position = 0

    init(path: String) throws {
        self.path = path
        fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        guard fd >= 0 else { throw Comparison.Failure(description: "cannot create \(path)") }
    }

    func write(_ out: [UInt8]) {
        out.withUnsafeBytes { write($0) }
    }

    func write(_ out: UnsafeRawBufferPointer) {
        if position + out.count > Self.region { position = 0 }
        let written = pwrite(fd, out.baseAddress, out.count, off_t(position))
        guard written > 0 else { return }
        bytes += Int64(written)
        position += written
    }

    func finish() -> Int64 {
        close(fd)
        unlink(path)
        return bytes
    }
}

private final class FailureCount: @unchecked Sendable {
    private var count = 0
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    func add() {
        pthread_mutex_lock(&lock)
        count += 1
        pthread_mutex_unlock(&lock)
    }
    var value: Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return count
    }
}

/// `value` with 3 significant digits, grouped.
public func format(_ value: Double) -> String {
    guard value.isFinite else { return "-" }
    if value >= 100 { return grouped(Int64(value.rounded())) }
    if value >= 10 { return String(Double(Int((value * 10).rounded())) / 10) }
    if value >= 1 { return String(Double(Int((value * 100).rounded())) / 100) }
    return String(Double(Int((value * 1000).rounded())) / 1000)
}

public func grouped(_ value: Int64) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (value < 0 ? "-" : "") + out
}
