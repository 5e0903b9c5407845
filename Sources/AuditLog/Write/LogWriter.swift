#if canImport(Glibc)
    import Glibc
#endif

/// The single writer of a log directory: group-commit coordination, durability, close.
///
/// Group commit: each append validates and encodes its records on the caller's thread, then under the lock takes
/// sequence numbers and queues them. Some thread then becomes the leader: it takes every queued batch and hands it
/// to the ``SegmentAppender`` (one `pwrite`, and with `.sync` one `fdatasync`), then acknowledges every batch it made
/// durable. Appends that arrive meanwhile queue up for the next leader, so concurrent appends share writes and
/// fsyncs. A synchronous append leads itself when no commit is running; otherwise it sleeps on a condition of its
/// own, woken when a commit acknowledges it or, the oldest still queued, to lead the next commit (a broadcast to
/// every waiting thread made each commit wake them all, on two cores the cost of the hand-over). An async append never blocks its thread:
/// it suspends, and the writer's commit thread (started on first use) leads for it and resumes it. A failed write
/// or fsync stops the writer for good: nothing is acknowledged after it.
final class LogWriter: @unchecked Sendable {
    // @unchecked: fields below `lock` are guarded by it; `appender` is used only by the thread that holds
    // `leaderActive`, which is handed over under `lock`.

    let directory: String
    let options: AuditLog.Options
    let report: RecoveryReport
    let directoryHandle: FileDescriptor
    private let lockFile: FileDescriptor
    let commits: CommitSignal
    let metrics = MetricsRecorder()
    /// A second core for appends: encodes half of a large batch while the appending thread encodes the other
    /// half, and compresses a commit's full blocks while the leader builds the next.
    private let helper: HelperThread

    private let lock = ConditionLock()
    private var nextSeq: UInt64
    private var acknowledged: LogState
    private var pending: [PendingBatch] = []
    /// Async appends waiting for the commit that acknowledges them.
    private var asyncWaiters: [AsyncWaiter] = []
    /// Synchronous appends waiting for the commit that acknowledges them (or for their turn to commit), oldest
    /// first: each is woken alone, not by a broadcast to every waiting thread.
    private var syncWaiters: [SyncWaiter] = []
    private var leaderActive = false
    private var failure: AuditLogError?
    private var closed = false
    /// With `.interval` durability: the segment written since the flusher's last sync.
    private var unsyncedFile: FileDescriptor?
    private var committer: BackgroundThread?
    private var flusher: BackgroundThread?
    private var maintenanceThread: BackgroundThread?
    /// The maintenance task and its interval (``runPeriodically(every:startingNow:_:)``).
    private var maintenance: (interval: Duration, task: @Sendable (LogWriter) -> Void)?
    private var checkpointer: BackgroundThread?
    /// Set at segment seal: the maintenance task should run.
    private var maintenanceDue = true
    /// Tells the background threads to stop.
    private var stopThreads = false
    /// Whether `close` has released the directory lock.
    private var released = false

    /// Leader only.
    let appender: SegmentAppender
    /// Whether a sealed segment had no actor index or no facet summary in the directory as the writer opened the log
    /// (recovery's listing; open's index repair writes missing actor indexes itself).
    let summariesMissingAtOpen: Bool

    private struct SyncWaiter {
        var upperBound: UInt64
        var condition: ConditionLock.Condition
    }

    private struct AsyncWaiter {
        var range: Range<UInt64>
        var continuation: CheckedContinuation<Result<Range<UInt64>, AuditLogError>, Never>
    }

    init(directory: String, options: AuditLog.Options) throws(AuditLogError) {
        self.directory = directory
        self.options = options
        if !FileSystem.isDirectory(directory) {
            guard options.createIfMissing else {
                throw AuditLogError(
                    .notFound, "no log directory here (pass createIfMissing to create one)", path: directory)
            }
            try FileSystem.createDirectory(directory)
            try FileDescriptor.openDirectory(FileSystem.parent(of: directory)).synchronize()
        }
        directoryHandle = try FileDescriptor.openDirectory(directory)
        let lockPath = LogFiles.path(directory, LogFiles.lockName)
        lockFile = try FileDescriptor.openForWriting(lockPath, create: true)
        guard try lockFile.tryLockExclusive() else {
            let holder = (try? lockFile.read(count: 32, at: 0)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            let pid = holder.split(separator: "\n").first.map { " (process \($0))" } ?? ""
            throw AuditLogError(
                .locked,
                "another writer\(pid) has this log open; a log has one writer at a time. Readers need no lock: "
                    + "use AuditLogReader or `auditlog export`", path: directory)
        }
        // The holder's pid, for the error above; truncated only when the file holds more (a truncate costs a
        // journal commit at every open).
        let pid = Array("\(getpid())\n".utf8)
        try lockFile.write(pid, at: 0)
        if try lockFile.size() != Int64(pid.count) { try lockFile.truncate(to: Int64(pid.count)) }

        let hasher = try MerkleHasher()
        let helper = HelperThread()
        self.helper = helper
        let recovered = try Recovery.recover(directory: directory, directoryFD: directoryHandle, hasher: hasher)
        report = recovered.report
        nextSeq = recovered.frontier.size
        acknowledged = LogState(treeSize: recovered.frontier.size, root: recovered.root)
        commits = CommitSignal(treeSize: recovered.frontier.size)
        appender = try SegmentAppender(
            directory: directory, directoryFD: directoryHandle, options: options, recovered: recovered,
            hasher: hasher, metrics: metrics, helper: helper)
        try appender.checkpointRecoveredTree()
        summariesMissingAtOpen = recovered.segments.dropLast().contains {
            segment in
            [SegmentIndexFiles.actorIndexExtension, SegmentFacets.fileExtension].contains {
                !recovered.present.contains(LogFiles.name(segment.baseSeq, $0))
            }
        }

        // The threads hold the writer until `close` stops them; `AuditLog.deinit` calls `close`.
        if case .interval(let interval) = options.durability {
            flusher = try BackgroundThread { self.flushPeriodically(every: interval) }
        }
        if options.checkpointSigner != nil, let interval = options.checkpointInterval, interval > .zero {
            checkpointer = try BackgroundThread { self.checkpointPeriodically(every: interval) }
        }
    }

    var state: LogState { lock.withLock { acknowledged } }

    /// Whether `close` has run (or is running).
    var isClosed: Bool { lock.withLock { closed } }

    /// Whether appends are accepted: not closed, not stopped by a failure.
    var isAcceptingAppends: Bool { lock.withLock { !closed && failure == nil } }

    /// Whether the background threads are asked to stop (the log is closing).
    var isStopping: Bool { lock.withLock { stopThreads || closed } }

    /// Waits `duration`, or less if the log starts closing; returns false if it is closing.
    func pause(_ duration: Duration) -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(max(1, duration.wholeMilliseconds)) * 1_000_000
        lock.lock()
        defer { lock.unlock() }
        while !stopThreads && !closed && monotonicNanoseconds() < deadline {
            lock.wait(milliseconds: Int((deadline - min(deadline, monotonicNanoseconds())) / 1_000_000) + 1)
        }
        return !stopThreads && !closed
    }

    // MARK: Append

    func append(_ events: [AuditEvent]) throws(AuditLogError) -> Range<UInt64> {
        try append(try PendingBatch(events, limits: options.limits, allowReserved: false, helper: helper))
    }

    func append(_ events: [AuditEvent]) async throws(AuditLogError) -> Range<UInt64> {
        try await append(try PendingBatch(events, limits: options.limits, allowReserved: false, helper: helper))
    }

    /// Events encoded by ``EventDecoder/encodeBatch(_:format:defaultOrg:)``, checked against this log's limits.
    func encoded(_ events: EncodedEvents) throws(AuditLogError) -> PendingBatch {
        guard events.limits == options.limits else {
            throw AuditLogError(
                .invalidArgument,
                "the events were checked against other limits than this log's; encode them with "
                    + "EventDecoder(limits: log.options.limits)")
        }
        return events.batch
    }

    func append(_ batch: PendingBatch) throws(AuditLogError) -> Range<UInt64> {
        lock.lock()
        defer { lock.unlock() }
        let range = try enqueue(batch)
        var condition: ConditionLock.Condition?
        while true {
            if acknowledged.treeSize >= range.upperBound { return range }
            if let failure { throw failure }
            if !leaderActive {
                leadOneCommit()
                continue
            }
            if condition == nil {
                condition = ConditionLock.Condition()
                syncWaiters.append(SyncWaiter(upperBound: range.upperBound, condition: condition!))
            }
            condition!.wait(on: lock)
        }
    }

    func append(_ batch: PendingBatch) async throws(AuditLogError) -> Range<UInt64> {
        let outcome = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<Range<UInt64>, AuditLogError>, Never>) in
            lock.lock()
            defer { lock.unlock() }
            do throws(AuditLogError) {
                let range = try enqueue(batch)
                if range.isEmpty || acknowledged.treeSize >= range.upperBound {
                    continuation.resume(returning: .success(range))
                    return
                }
                if committer == nil {
                    committer = try BackgroundThread { self.commitForAsyncAppends() }
                }
                asyncWaiters.append(AsyncWaiter(range: range, continuation: continuation))
                lock.broadcast()
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try outcome.get()
    }

    /// Takes seqs for `batch` and queues it. Lock held.
    private func enqueue(_ batch: PendingBatch) throws(AuditLogError) -> Range<UInt64> {
        if let failure { throw failure }
        if closed { throw AuditLogError(.closed, "the log is closed", path: directory) }
        var batch = batch
        batch.firstSeq = nextSeq
        let range = nextSeq..<nextSeq + UInt64(batch.count)
        guard !range.isEmpty else { return range }
        nextSeq = range.upperBound
        pending.append(batch)
        return range
    }

    /// Becomes the leader, commits everything queued, and acknowledges it. Lock held on entry and exit.
    private func leadOneCommit() {
        leaderActive = true
        let work = pending
        pending = []
        lock.unlock()
        let started = monotonicNanoseconds()
        let segmentBefore = appender.segment.baseSeq
        let result = Result { () throws(AuditLogError) in try appender.commit(work) }
        let written = appender.segment.fd
        let sealed = appender.segment.baseSeq != segmentBefore
        lock.lock()
        leaderActive = false
        if case .success = result {
            metrics.recordCommit(
                events: work.reduce(0) { $0 + $1.count }, nanoseconds: monotonicNanoseconds() - started)
            if case .interval = options.durability { unsyncedFile = written }
        }
        if sealed { maintenanceIsDue() }
        acknowledge(result)
        wakeNextCommitter()
    }

    /// Wakes the oldest waiting synchronous append to commit what is queued, if anything is. Lock held.
    private func wakeNextCommitter() {
        if !pending.isEmpty, let first = syncWaiters.first { first.condition.signal() }
    }

    /// Publishes a commit's outcome: the new state and the async appends it acknowledged, or the failure that
    /// stops the writer. Lock held.
    private func acknowledge(_ result: Result<LogState, AuditLogError>) {
        switch result {
        case .success(let state):
            acknowledged = state
            commits.publish(treeSize: state.treeSize)
            asyncWaiters.removeAll { waiter in
                guard waiter.range.upperBound <= state.treeSize else { return false }
                waiter.continuation.resume(returning: .success(waiter.range))
                return true
            }
            let done = syncWaiters.prefix { $0.upperBound <= state.treeSize }.count
            for waiter in syncWaiters[..<done] { waiter.condition.signal() }
            syncWaiters.removeFirst(done)
        case .failure(let error):
            let stopped = Self.writerFailure(error)
            failure = stopped
            // Nothing queued will be committed now; every waiter learns it.
            pending = []
            for waiter in asyncWaiters { waiter.continuation.resume(returning: .failure(stopped)) }
            asyncWaiters = []
            for waiter in syncWaiters { waiter.condition.signal() }
            syncWaiters = []
        }
        lock.broadcast()
    }

    /// The commit thread: leads whenever async appends wait and no other thread is leading.
    private func commitForAsyncAppends() {
        lock.lock()
        defer { lock.unlock() }
        while true {
            while !stopThreads && (pending.isEmpty || leaderActive || asyncWaiters.isEmpty) { lock.wait() }
            if stopThreads { return }
            leadOneCommit()
        }
    }

    private static func writerFailure(_ error: AuditLogError) -> AuditLogError {
        if error.code == .writerFailed { return error }
        return AuditLogError(
            .writerFailed,
            "the log stopped accepting appends after a failed write or sync (\(error)); nothing after the "
                + "last acknowledged event was acknowledged. Close and reopen the log to recover",
            path: error.path, errno: error.errno)
    }

    // MARK: Maintenance (retention and redaction)

    /// Runs `body` as the commit leader with no commit in flight: appends queue up meanwhile and are committed
    /// after it (or with its ``commitSystemEvent(_:journal:)``).
    func exclusively<T>(_ body: () throws(AuditLogError) -> T) throws(AuditLogError) -> T {
        lock.lock()
        while leaderActive { lock.wait() }
        if let failure {
            lock.unlock()
            throw failure
        }
        if closed {
            lock.unlock()
            throw AuditLogError(.closed, "the log is closed", path: directory)
        }
        leaderActive = true
        lock.unlock()
        defer {
            lock.withLock {
                leaderActive = false
                wakeNextCommitter()
                lock.broadcast()
            }
        }
        return try body()
    }

    /// Appends one of the log's own events, with everything queued before it, and syncs it whatever the
    /// durability. With `journal`, the maintenance journal names the event before it is written, so that a crash
    /// after the event is committed is finished at the next open. A failure stops the writer. Exclusive only.
    func commitSystemEvent(_ event: AuditEvent, journal: Bool) throws(AuditLogError) -> UInt64 {
        let batch = try PendingBatch([event], limits: options.limits, allowReserved: true)
        let (seq, work) = try lock.withLock { () throws(AuditLogError) in
            let range = try enqueue(batch)
            defer { pending = [] }
            return (range.lowerBound, pending)
        }
        let segmentBefore = appender.segment.baseSeq
        let result = Result { () throws(AuditLogError) in
            if journal {
                try MaintenanceJournal.write(seq: seq, directory: directory, directoryFD: directoryHandle)
                FaultInjection.crashPoint("journal-written")
            }
            let state = try appender.commit(work)
            try appender.syncData()
            FaultInjection.crashPoint("event-committed")
            return state
        }
        let sealed = appender.segment.baseSeq != segmentBefore
        lock.withLock {
            if sealed { maintenanceIsDue() }
            acknowledge(result)
        }
        _ = try result.get()
        return seq
    }

    /// Seals the active segment if it holds any record at or after `seq`, so that only sealed segments are
    /// rewritten. Exclusive only.
    func sealActiveSegment(ifItHolds seq: UInt64) throws(AuditLogError) {
        let segment = appender.segment
        guard seq < appender.frontier.size, seq >= segment.baseSeq, segment.blockCount > 0 else { return }
        do throws(AuditLogError) {
            try appender.roll()
            lock.withLock {
                unsyncedFile = nil
                maintenanceIsDue()
                lock.broadcast()
            }
        } catch {
            lock.withLock { acknowledge(.failure(error)) }
            throw error
        }
    }

    // MARK: Background threads

    private func flushPeriodically(every interval: Duration) {
        let milliseconds = Int(max(1, interval.wholeMilliseconds))
        lock.lock()
        defer { lock.unlock() }
        while !stopThreads {
            lock.wait(milliseconds: milliseconds)
            guard let file = unsyncedFile else { continue }
            unsyncedFile = nil
            lock.unlock()
            let started = monotonicNanoseconds()
            let result = Result { () throws(AuditLogError) in try file.synchronizeData() }
            metrics.recordSync(nanoseconds: monotonicNanoseconds() - started)
            lock.lock()
            if case .failure(let error) = result, failure == nil { acknowledge(.failure(error)) }
        }
    }

    /// Signs a checkpoint of what was committed since the last one once the checkpoint interval has passed, also
    /// when no further commit comes to do it: a checkpoint is never more than an interval behind the log.
    private func checkpointPeriodically(every interval: Duration) {
        let milliseconds = Int(max(1, interval.wholeMilliseconds))
        lock.lock()
        defer { lock.unlock() }
        while !stopThreads {
            lock.wait(milliseconds: milliseconds)
            while leaderActive && !stopThreads { lock.wait() }
            guard !stopThreads, !closed, failure == nil else { continue }
            leaderActive = true
            lock.unlock()
            let result = Result { () throws(AuditLogError) in try appender.signCheckpointIfDue() }
            lock.lock()
            leaderActive = false
            wakeNextCommitter()
            if case .failure(let error) = result {
                acknowledge(.failure(error))
            } else {
                lock.broadcast()
            }
        }
    }

    /// Runs `task` on a thread of its own after each segment seal and every `interval`, until close: the writer's
    /// background maintenance (summaries, the archive, retention). Once per writer. `startingNow`: the thread starts
    /// now and runs `task` at once; otherwise at the first seal, so that a writer with nothing to maintain that is
    /// closed before it seals starts no thread (a thread's start and join were ~40 µs of an open and close here,
    /// more at 10M events, where the task's first look at the directory ran meanwhile).
    func runPeriodically(
        every interval: Duration, startingNow: Bool, _ task: @escaping @Sendable (LogWriter) -> Void
    ) throws(AuditLogError) {
        lock.lock()
        defer { lock.unlock() }
        maintenance = (interval, task)
        if startingNow { try startMaintenance() }
    }

    /// Whether the maintenance thread has started (and the log is not closed).
    var maintenanceStarted: Bool { lock.withLock { maintenanceThread != nil } }

    /// Starts the maintenance thread, if there is a task and it has not started, unless the log is closing. Under
    /// the lock.
    private func startMaintenance() throws(AuditLogError) {
        guard maintenanceThread == nil, let maintenance, !stopThreads else { return }
        maintenanceThread = try BackgroundThread { self.maintain(every: maintenance.interval, maintenance.task) }
    }

    /// A segment was sealed: the maintenance task should run. Under the lock.
    private func maintenanceIsDue() {
        maintenanceDue = true
        try? startMaintenance()  // a thread that cannot start now is asked for again at the next seal
    }

    private func maintain(every interval: Duration, _ task: @Sendable (LogWriter) -> Void) {
        let nanoseconds = UInt64(max(1, interval.wholeMilliseconds)) * 1_000_000
        lock.lock()
        defer { lock.unlock() }
        while !stopThreads {
            let deadline = monotonicNanoseconds() + nanoseconds
            while !stopThreads && !maintenanceDue && monotonicNanoseconds() < deadline {
                lock.wait(milliseconds: Int((deadline - min(deadline, monotonicNanoseconds())) / 1_000_000) + 1)
            }
            if stopThreads { return }
            maintenanceDue = false
            lock.unlock()
            task(self)
            lock.lock()
        }
    }

    // MARK: Close

    /// Waits for queued appends, syncs what is not synced yet, signs a last checkpoint, and releases the
    /// directory lock. Idempotent.
    func close() throws(AuditLogError) {
        lock.lock()
        if closed {
            // Closed, or being closed by another thread: wait for it.
            while !released { lock.wait() }
            lock.unlock()
            return
        }
        closed = true
        while leaderActive || !pending.isEmpty {
            lock.wait()
        }
        stopThreads = true
        lock.broadcast()
        let threads = [committer, flusher, maintenanceThread, checkpointer]
        committer = nil
        flusher = nil
        maintenanceThread = nil
        checkpointer = nil
        let failure = self.failure
        lock.unlock()
        for thread in threads { thread?.join() }
        helper.stop()
        commits.close()
        defer {
            lockFile.unlock()
            lock.withLock {
                released = true
                lock.broadcast()
            }
        }
        if let failure { throw failure }
        try appender.syncData()
        try appender.signCheckpoint()
        appender.recordTail()
    }
}
