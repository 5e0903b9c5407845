// The engine's workloads at a fixed size, for package-benchmark: `swift package benchmark` runs them;
// `swift package benchmark thresholds check` compares a run against the committed Thresholds/ and fails on a
// regression. The cross-engine comparison at scale is `make compare` (Sources/compare).
import AuditLog
import AuditLogSampleData
import Benchmark
import Foundation
import Workloads

/// A log of 50,000 sample events built once per benchmark process, and its JSON Lines input.
final class Fixture: @unchecked Sendable {
    static let shared = Fixture()
    static let eventCount = 50_000

    let directory: String
    let log: String
    let events: [AuditEvent]
    let lines: [[UInt8]]
    let actors: [String]
    let timeSpan: ClosedRange<Int64>

    private init() {
        directory = NSTemporaryDirectory() + "auditlog-benchmarks-\(getpid())"
        removeTree(directory)
        mkdir(directory, 0o700)
        log = directory + "/fixture"
        var generator = SampleEventGenerator(seed: 1)
        events = generator.events(Self.eventCount)
        lines = events.map { event in
            var line: [UInt8] = []
            event.appendJSON(to: &line)
            return line
        }
        actors = Array(Set(events.map(\.actor.id))).sorted()
        let times = events.map(\.timestamp.millisecondsSinceEpoch)
        timeSpan = times.min()!...times.max()!
        do {
            let writer = try AuditLog(directory: log, options: .init(durability: .none))
            var index = 0
            while index < events.count {
                _ = try writer.append(Array(events[index..<min(events.count, index + 1000)]))
                index += 1000
            }
            try writer.close()
        } catch {
            fatalError("cannot build the benchmark fixture: \(error)")
        }
    }

    /// A fresh, empty log directory.
    func scratch(_ name: String) -> String {
        let path = directory + "/" + name
        removeTree(path)
        return path
    }
}

/// Appends `count` fixture events from `offset` in batches of `batch`.
func appendBatches(_ log: AuditLog, offset: Int, count: Int, batch: Int) throws {
    let events = Fixture.shared.events
    var index = offset
    while index < offset + count {
        let start = index % events.count
        _ = try log.append(Array(events[start..<min(events.count, start + batch)]))
        index += batch
    }
}

let benchmarks: @Sendable () -> Void = {
    // Wall clock varies on shared machines: a run is a regression past 35% at the median; allocations are
    // deterministic and checked tightly.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 200,
        thresholds: [
            .wallClock: .init(relative: [.p50: 35.0]),
            .throughput: .init(relative: [.p50: 35.0]),
            .mallocCountTotal: .init(relative: [.p50: 10.0]),
        ]
    )
    Benchmark.teardown = { removeTree(Fixture.shared.directory) }
    let fixture = Fixture.shared

    // Ingest: 10,000 events per iteration, appended 1000 at a time (one group commit each).
    let durabilities: [(String, AuditLog.Durability)] = [
        ("sync", .sync), ("interval 10 ms", .interval(.milliseconds(10))), ("none", .none),
    ]
    for (name, durability) in durabilities {
        Benchmark("ingest 10k events, 1000 per append, durability \(name)") { benchmark in
            let log = try AuditLog(directory: fixture.scratch("ingest"), options: .init(durability: durability))
            benchmark.startMeasurement()
            try appendBatches(log, offset: 0, count: 10_000, batch: 1000)
            benchmark.stopMeasurement()
            try log.close()
        }
    }

    // Group commit across threads: 8 threads appending one event at a time, 2,000 events per iteration.
    Benchmark("ingest 2k events, 8 threads x 1-event appends, sync") { benchmark in
        let log = try AuditLog(directory: fixture.scratch("threads"), options: .init(durability: .sync))
        let threads = 8
        let done = DispatchGroup()
        benchmark.startMeasurement()
        for t in 0..<threads {
            done.enter()
            Thread {
                for i in stride(from: t, to: 2000, by: threads) { _ = try? log.append(fixture.events[i]) }
                done.leave()
            }.start()
        }
        done.wait()
        benchmark.stopMeasurement()
        try log.close()
    }

    // Group commit across tasks: 256 tasks appending one event at a time with `await`, 2,000 events per iteration.
    Benchmark("ingest 2k events, 256 tasks x 1-event async appends, sync") { benchmark in
        let log = try AuditLog(directory: fixture.scratch("tasks"), options: .init(durability: .sync))
        let done = DispatchSemaphore(value: 0)
        benchmark.startMeasurement()
        Task {
            await withTaskGroup(of: Void.self) { group in
                for t in 0..<256 {
                    group.addTask {
                        for i in stride(from: t, to: 2000, by: 256) { _ = try? await log.append(fixture.events[i]) }
                    }
                }
            }
            done.signal()
        }
        done.wait()
        benchmark.stopMeasurement()
        try log.close()
    }

    // JSON Lines parse and ingest: 10,000 lines decoded and appended (durability none: parse-bound).
    Benchmark("JSONL parse + ingest 10k events") { benchmark in
        let log = try AuditLog(directory: fixture.scratch("jsonl"), options: .init(durability: .none))
        let decoder = EventDecoder()
        benchmark.startMeasurement()
        var batch: [AuditEvent] = []
        for line in fixture.lines.prefix(10_000) {
            batch.append(try line.withUnsafeBytes { try decoder.decode($0) })
            if batch.count == 1000 {
                _ = try log.append(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        benchmark.stopMeasurement()
        try log.close()
    }

    Benchmark("full scan 50k events") { benchmark in
        for _ in benchmark.scaledIterations {
            let reader = try AuditLogReader(directory: fixture.log).eventIterator()
            var count = 0
            while let event = try reader.next() {
                blackHole(event)
                count += 1
            }
            precondition(count == Fixture.eventCount)
        }
    }

    for format in [ExportEncoder.Format.jsonLines, .csv] {
        Benchmark("export 50k events as \(format.rawValue)") { benchmark in
            let engine = try AuditLogReader(directory: fixture.log)
            benchmark.startMeasurement()
            try engine.export(matching: Query(order: .oldestFirst), format: format) { (bytes) throws(AuditLogError) in
                blackHole(bytes.count)
                return true
            }
            benchmark.stopMeasurement()
        }
    }

    Benchmark("first page of one actor, 100 queries", configuration: .init(scalingFactor: .one)) { benchmark in
        let engine = try AuditLogReader(directory: fixture.log)
        var random = SplitMix64(seed: 3)
        benchmark.startMeasurement()
        for _ in 0..<100 {
            let actor = fixture.actors[Int(random.next() % UInt64(fixture.actors.count))]
            blackHole(try engine.events(matching: Query(actorIDs: [actor], limit: 100)))
        }
        benchmark.stopMeasurement()
    }

    Benchmark("one-hour range first page, 100 queries") { benchmark in
        let engine = try AuditLogReader(directory: fixture.log)
        var random = SplitMix64(seed: 4)
        let span = UInt64(max(1, fixture.timeSpan.upperBound - fixture.timeSpan.lowerBound - 3_600_000))
        benchmark.startMeasurement()
        for _ in 0..<100 {
            let from = fixture.timeSpan.lowerBound + Int64(random.next() % span)
            let start = Timestamp(millisecondsSinceEpoch: from)
            blackHole(try engine.events(matching: Query(from: start, to: start + .seconds(3600), limit: 100)))
        }
        benchmark.stopMeasurement()
    }

    for jobs in [1, 2] {
        Benchmark("verify 50k events, \(jobs) job\(jobs == 1 ? "" : "s")") { benchmark in
            let report = try AuditLogReader(directory: fixture.log).verify(jobs: jobs)
            precondition(report.isValid)
        }
    }

    Benchmark("open and close") { benchmark in
        let log = try AuditLog(directory: fixture.log)
        try log.close()
    }

    Benchmark("inclusion + consistency proof, 100 each") { benchmark in
        var random = SplitMix64(seed: 5)
        for _ in 0..<100 {
            let seq = random.next() % UInt64(Fixture.eventCount)
            let reader = try AuditLogReader(directory: fixture.log)
            blackHole(try reader.inclusionProof(seq: seq))
            blackHole(try reader.consistencyProof(from: seq + 1))
        }
    }
}
