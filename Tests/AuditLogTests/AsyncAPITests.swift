import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// A task executor of a fixed number of threads: the cooperative pool made small, so that an append that blocked
/// its thread would show.
final class FixedThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` is only touched under `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int) {
        for _ in 0..<threads {
            let thread = Thread { [unowned self] in self.run() }
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

@Suite("Async API")
struct AsyncAPITests {
    /// 1,000 tasks append one event each, on an executor of two threads, with `sync` durability. The commits run on
    /// the writer's thread, so the two threads stay free: every append completes, group commit gathers them into
    /// a few commits, and another task on the same two threads keeps running meanwhile. (If `append` blocked its
    /// thread, at most two appends could wait at a time: hundreds of commits, and the other task starved.)
    @Test(.timeLimit(.minutes(2)))
    func thousandTasksOnTwoThreadsAllComplete() async throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        let executor = FixedThreadExecutor(threads: 2)
        let events = sampleEvents(1000, seed: 77)
        let heartbeats = Locked(0)
        let done = Locked(false)
        let seqs = try await withTaskExecutorPreference(executor) {
            try await withThrowingTaskGroup(of: UInt64?.self) { group in
                group.addTask {
                    while !done.withLock({ $0 }) {
                        heartbeats.withLock { $0 += 1 }
                        await Task.yield()
                    }
                    return nil
                }
                for event in events {
                    group.addTask { try await log.append(event) }
                }
                var seqs: [UInt64] = []
                for try await seq in group {
                    guard let seq else { continue }
                    seqs.append(seq)
                    if seqs.count == events.count { done.withLock { $0 = true } }
                }
                return seqs
            }
        }
        #expect(seqs.sorted() == (0..<1000).map(UInt64.init))
        let metrics = log.metrics
        #expect(metrics.eventsAppended == 1000)
        #expect(metrics.commits <= 100, "\(metrics.commits) commits for 1,000 appends: appends did not group")
        #expect(heartbeats.withLock { $0 } >= 100, "the other task on the same threads did not run")
        print("1,000 async appends: \(metrics.commits) commits, \(heartbeats.withLock { $0 }) heartbeats")
        for stored in try readAll(dir.path) { #expect(stored.event == events.first { $0.id == stored.event.id }) }
        try await log.close()
    }

    /// An async append refused for its content appends nothing; after close, appends are refused.
    @Test func asyncAppendRefusesBadBatchesAndAppendsAfterClose() async throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        var bad = sampleEvents(3)
        bad[1].ip = "not an ip"
        await #expect(throws: AuditLogError.self) { try await log.append(bad) }
        #expect(log.state.treeSize == 0)
        let range = try await log.append(sampleEvents(3))
        #expect(range == 0..<3)
        try await log.close()
        do {
            _ = try await log.append(sampleEvents(1))
            Issue.record("append after close succeeded")
        } catch {
            #expect(error.code == .closed)
        }
    }

    /// `events(from:)` ends at the end of the log; `follow(from:)` goes on with each commit, in this process.
    @Test(.timeLimit(.minutes(1)))
    func aFollowerOfTheWriterSeesEachCommitAndStopsWhenCancelled() async throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        let events = sampleEvents(400, seed: 5)
        try await log.append(Array(events[0..<100]))

        var read: [UInt64] = []
        for try await stored in log.events(from: 40) { read.append(stored.seq) }
        #expect(read == (40..<100).map(UInt64.init))

        let seen = Locked<[StoredEvent]>([])
        // A long poll interval: commits, not polling, must wake it; and cancelling must end it long before.
        let follower = Task {
            for try await stored in log.reader.follow(from: 90, pollInterval: .seconds(120)) {
                seen.withLock { $0.append(stored) }
            }
        }
        for chunk in Array(events[100...]).chunked(60) {
            try await log.append(Array(chunk))
            let end = log.state.treeSize
            // Each commit is seen (the follower is woken by it; its poll timer is two minutes).
            let deadline = ContinuousClock.now + .seconds(60)
            while seen.withLock({ $0.last?.seq }) != end - 1 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        let got = seen.withLock { $0 }
        #expect(got.map(\.seq) == (90..<400).map(UInt64.init))
        #expect(got.map(\.event) == Array(events[90..<400]))

        let cancelled = ContinuousClock.now
        follower.cancel()
        _ = try await follower.value
        #expect(ContinuousClock.now - cancelled < .seconds(60), "cancellation ended the follow, not its poll timer")
        try await log.close()
    }

    /// A reader of the directory follows a writer in another process by polling.
    @Test(.timeLimit(.minutes(1)))
    func aFollowerOfADirectorySeesEventsAppendedByAnotherProcess() async throws {
        let dir = try TemporaryDirectory()
        let logPath = dir.file("log")
        let first = sampleEvents(50, seed: 8)
        let second = sampleEvents(70, seed: 9)
        #expect(try runAuditlog(["ingest", "--dir", logPath], input: Data(jsonLines(first).utf8)).status == 0)
        let reader = try AuditLogReader(directory: logPath)
        let seen = Locked<[StoredEvent]>([])
        let follower = Task {
            for try await stored in reader.follow(from: 0, pollInterval: .milliseconds(20)) {
                seen.withLock { $0.append(stored) }
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while seen.withLock({ $0.count }) < 50 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try runAuditlog(["ingest", "--dir", logPath], input: Data(jsonLines(second).utf8)).status == 0)
        let appended = ContinuousClock.now
        while seen.withLock({ $0.count }) < 120 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(ContinuousClock.now - appended < .seconds(5), "seen within a few polls")
        follower.cancel()
        _ = try await follower.value
        let got = seen.withLock { $0 }
        #expect(got.map(\.seq) == (0..<120).map(UInt64.init))
        #expect(got.map(\.event) == first + second)
    }
}
