/// An append-only, tamper-evident audit log stored in one directory: the writer.
///
/// ```swift
/// let log = try AuditLog(directory: "/var/lib/myapp/audit")
/// try await log.append(event)                       // suspends until the event is durable
/// for try await stored in log.events(from: 0) { print(stored.seq, stored.event.action) }
/// try await log.close()
/// ```
///
/// One process at a time may open a directory as `AuditLog` (the writer); any number of ``AuditLogReader``s, in
/// any process, may read it meanwhile. `append` is thread-safe and batches concurrent callers into group
/// commits; its async form never blocks a thread of the concurrency pool. Nothing in the API updates or deletes
/// an event; retention and redaction are themselves recorded as events.
public final class AuditLog: Sendable {
    /// When an acknowledged append is on stable storage.
    public enum Durability: Sendable, Equatable {
        /// Every commit is fdatasynced before `append` returns: acknowledged means on disk.
        case sync
        /// Commits are written before `append` returns and fdatasynced at most this long after.
        case interval(Duration)
        /// Commits are written before `append` returns; the OS decides when they reach the disk.
        case none
    }

    public struct Options: Sendable {
        public var durability: Durability = .sync
        /// A segment is sealed, and a new one started, at the first commit after it reaches this size.
        /// Default 32 MiB. Opening checks the whole active segment (about 1.2 ms per MiB), so this bounds open
        /// time; retention drops whole segments, so it is also the granularity of retention.
        public var maxSegmentBytes: Int = 32 << 20
        /// A block is closed when its uncompressed records reach this size. Default 64 KiB.
        public var maxBlockBytes: Int = 64 << 10
        public var limits = EventLimits()
        /// Create the directory when it does not exist. Default true.
        public var createIfMissing = true
        /// When set, the writer signs a C2SP checkpoint of the log into the log directory
        /// (`<tree size>.checkpoint`) at open when none covers the recovered tree, at every segment seal and at
        /// close, once the data it covers is synced.
        public var checkpointSigner: NoteSigner?
        /// With a signer, also sign a checkpoint of new events once this long has passed since the last one: after
        /// a commit, or by a background thread when no commit comes, so that the latest checkpoint is never more
        /// than this behind the log (`.zero`: after every commit).
        public var checkpointInterval: Duration?
        /// When set, the writer applies this retention policy in the background: at open, after every segment
        /// seal, and every ``RetentionPolicy/checkInterval``; with ``archive`` too, to the archive as well
        /// (``AuditLog/applyArchiveRetention(_:recordKept:now:)``).
        public var retention: RetentionPolicy?
        /// When set, the writer uploads each sealed segment to object storage in the background (FORMAT.md,
        /// "Archive"): at open, after every seal, and every ``RetentionPolicy/checkInterval`` (an hour without
        /// retention); on a failure to reach the store it tries again after 1 s, 2 s, 4 s … up to a minute, and
        /// appends go on meanwhile. Retention then removes only segments whose upload is verified.
        /// ``AuditLog/archiveStatus`` tells how far it got. Closing the log waits for an object being sent (at
        /// most the store's request timeout), not for the segments still pending: the next open sends them.
        public var archive: ArchiveOptions?
        /// Bytes of decoded records that ``AuditLog/reader`` keeps for pages asked again (0, the default: none;
        /// ``AuditLogReader/init(directory:cacheBytes:)`` says more).
        public var readCacheBytes: Int = 0

        public init(durability: Durability = .sync) {
            self.durability = durability
        }
    }

    let writer: LogWriter
    private let archiveStatusBox: Locked<ArchiveStatus>

    /// Read-only access to this log: queries, streams and follows (woken by each commit), proofs, statistics.
    /// It sees exactly the acknowledged events.
    public let reader: AuditLogReader

    /// The log directory.
    public var directory: String { writer.directory }

    /// The options the log was opened with.
    public var options: Options { writer.options }

    /// Whether appends are accepted: false once the log is closed, or after a failed write or sync stopped it.
    public var isAcceptingAppends: Bool { writer.isAcceptingAppends }

    /// What opening the log found and repaired (a torn tail cut off, temporary files removed).
    public var recoveryReport: RecoveryReport { writer.report }

    /// Opens (creating if needed) the log in `directory` for writing, recovering from a crash if there was one.
    /// - Throws: ``AuditLogError/Code/locked`` if another writer has it open; ``AuditLogError/Code/corrupt`` if the
    ///   last segment is damaged in a way that is not a torn write.
    public init(directory: String, options: Options = Options()) throws(AuditLogError) {
        guard options.maxSegmentBytes >= 4096, (1024...(16 << 20)).contains(options.maxBlockBytes) else {
            throw AuditLogError(
                .invalidArgument, "maxSegmentBytes must be at least 4 KiB and maxBlockBytes 1 KiB to 16 MiB")
        }
        guard options.readCacheBytes >= 0 else {
            throw AuditLogError(.invalidArgument, "readCacheBytes must not be negative")
        }
        if case .interval(let interval) = options.durability, interval <= .zero {
            throw AuditLogError(.invalidArgument, "the sync interval must be positive")
        }
        if let interval = options.checkpointInterval, interval < .zero {
            throw AuditLogError(.invalidArgument, "the checkpoint interval must not be negative")
        }
        let writer = try LogWriter(directory: directory, options: options)
        if let archive = options.archive {
            // Readers of this process find evicted segments in this store.
            ArchiveStores.register(archive.store)
            if let local = archive.localRetention { ArchiveStores.cacheBytes = local.cacheBytes }
        }
        let archiveStatus = Locked(ArchiveStatus(configured: options.archive != nil))
        do throws(AuditLogError) {
            // A retention or redaction that a crash interrupted after its event was committed is finished before
            // anything else happens.
            try writer.finishPendingMaintenance()
            // In the background, after every segment seal and every check interval, and at open when there is
            // something to do then (a sealed segment without its summaries, a retention policy, an archive): the
            // actor indexes and facet summaries that sealed segments lack, the archive's uploads (retried with
            // back-off while the store cannot be reached), then retention (after the uploads, so that it finds the
            // segments it may remove archived; a failure is left for the next run; a failed write in its event
            // stops the writer as usual).
            let policy = options.retention
            let archiver = options.archive.map { LogArchiver(directory: directory, options: $0) }
            try writer.runPeriodically(
                every: policy?.checkInterval ?? .seconds(3600),
                startingNow: policy != nil || archiver != nil || writer.summariesMissingAtOpen
            ) { writer in
                // The summaries first: local and quick, they should not wait for a store that is down.
                writer.writeMissingSummaries()
                if let archiver {
                    Self.archive(archiver, writer: writer, status: archiveStatus)
                    if let local = archiver.options.localRetention {
                        Self.evict(archiver.options, local, writer: writer, status: archiveStatus)
                    }
                }
                if let policy {
                    let removed = try? writer.applyRetention(policy, dryRun: false, now: currentTimeMilliseconds())
                    // Then on the archive: what retention removed goes from the store too, unless it is locked.
                    if let archive = archiver?.options {
                        do throws(AuditLogError) {
                            _ = try writer.applyArchiveRetention(
                                archive, recordKept: removed?.eventSeq != nil, now: currentTimeMilliseconds())
                        } catch {
                            archiveStatus.withLock { $0.lastError = error }
                        }
                    }
                }
            }
        } catch {
            try? writer.close()
            throw error
        }
        self.writer = writer
        archiveStatusBox = archiveStatus
        reader = AuditLogReader(writer: writer, cacheBytes: options.readCacheBytes)
    }

    /// How far the background uploads of ``Options/archive`` got; nil without an archive.
    public var archiveStatus: ArchiveStatus? {
        let status = archiveStatusBox.withLock { $0 }
        return status.configured ? status : nil
    }

    /// One archiving pass of the writer's maintenance thread: every pending segment, trying again with back-off
    /// while the store cannot be reached, until done, refused, or the log closes.
    private static func archive(_ archiver: LogArchiver, writer: LogWriter, status: Locked<ArchiveStatus>) {
        var delay = Duration.seconds(1)
        while true {
            do throws(AuditLogError) {
                let run = try archiver.run(shouldContinue: { !writer.isStopping }) { name, run in
                    status.withLock {
                        $0.uploadedSegments += 1
                        $0.lastUploaded = name
                        $0.pendingSegments = run.pending
                    }
                }
                status.withLock {
                    $0.pendingSegments = run.pending
                    $0.lastError = nil
                }
                return
            } catch {
                let pending = try? archiver.pendingSegments().count
                status.withLock {
                    $0.lastError = error
                    $0.pendingSegments = pending ?? $0.pendingSegments
                }
                guard error.code == .archiveUnavailable, writer.pause(delay) else { return }
                delay = min(delay * 2, .seconds(60))
            }
        }
    }

    /// One pass of local retention: archived segments removed from the local disk (a failure is reported in the
    /// status and left for the next pass).
    private static func evict(
        _ archive: ArchiveOptions, _ policy: LocalRetention, writer: LogWriter, status: Locked<ArchiveStatus>
    ) {
        do throws(AuditLogError) {
            let evicted = try writer.evictArchivedSegments(archive, policy: policy, now: currentTimeMilliseconds())
            status.withLock { $0.evictedSegments += evicted.count }
        } catch {
            status.withLock { $0.lastError = error }
        }
    }

    /// A log dropped without ``close()`` is closed here: queued appends finish, the file is synced and the
    /// directory lock released. Errors are lost; call ``close()`` to see them.
    deinit {
        try? writer.close()
    }

    // MARK: Append

    /// Appends events, assigning them consecutive sequence numbers, and returns once they are acknowledged
    /// (see ``Durability``). Either every event of the call is stored or, on error, none is acknowledged.
    ///
    /// Blocks the calling thread until the commit is done; from async code use the async form.
    /// - Returns: The sequence numbers assigned, in order.
    /// - Throws: ``AuditLogError/Code/invalidEvent`` (nothing appended) if an event breaks the limits;
    ///   ``AuditLogError/Code/writerFailed`` after a failed write or sync; ``AuditLogError/Code/closed``.
    @discardableResult
    public func append(_ events: [AuditEvent]) throws(AuditLogError) -> Range<UInt64> {
        try writer.append(events)
    }

    /// Appends one event; see ``append(_:)-([AuditEvent])``.
    @discardableResult
    public func append(_ event: AuditEvent) throws(AuditLogError) -> UInt64 {
        try writer.append([event]).lowerBound
    }

    /// Appends events and suspends until they are acknowledged, without blocking a thread: the events are encoded
    /// on the calling task, and the commit (write, fdatasync) runs on the writer's own thread, which resumes every
    /// append it made durable. All or nothing, as the synchronous form.
    @discardableResult
    public func append(_ events: [AuditEvent]) async throws(AuditLogError) -> Range<UInt64> {
        try await writer.append(events)
    }

    /// Appends one event; see ``append(_:)-([AuditEvent])``.
    @discardableResult
    public func append(_ event: AuditEvent) async throws(AuditLogError) -> UInt64 {
        try await writer.append([event]).lowerBound
    }

    /// Appends events already parsed from JSON into records (``EventDecoder/encodeBatch(_:format:defaultOrg:)``),
    /// with no ``AuditEvent`` in between: the fast path for JSON input. As ``append(_:)-([AuditEvent])`` otherwise.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` if the decoder's limits are not this log's.
    @discardableResult
    public func append(_ events: EncodedEvents) throws(AuditLogError) -> Range<UInt64> {
        try writer.append(try writer.encoded(events))
    }

    /// Appends events already parsed from JSON into records; see ``append(_:)-(EncodedEvents)`` and the async
    /// ``append(_:)-([AuditEvent])``.
    @discardableResult
    public func append(_ events: EncodedEvents) async throws(AuditLogError) -> Range<UInt64> {
        try await writer.append(try writer.encoded(events))
    }

    // MARK: State

    /// The tree size (number of events acknowledged) and Merkle root.
    public var state: LogState { writer.state }

    /// What the writer has done since the log was opened (commits, events, latencies).
    public var metrics: WriterMetrics { writer.metrics.snapshot }

    // MARK: Reads (see ``reader``)

    /// One page of the events matching `query`; see ``AuditLogReader/events(matching:)``.
    public func events(matching query: Query) throws(AuditLogError) -> QueryPage {
        try reader.events(matching: query)
    }

    /// The event with sequence number `seq`.
    public func event(seq: UInt64) throws(AuditLogError) -> StoredEvent {
        try reader.event(seq: seq)
    }

    /// The acknowledged events from `seq` on, up to the end of the log; see ``AuditLogReader/events(from:)``.
    public func events(from seq: UInt64 = 0) -> EventStream {
        reader.events(from: seq)
    }

    /// The events from `seq` on, then each new one as soon as it is acknowledged, until the task is cancelled.
    public func follow(from seq: UInt64 = 0) -> EventStream {
        reader.follow(from: seq)
    }

    /// An RFC 9162 inclusion proof from this log's acknowledged state; see ``AuditLogReader/inclusionProof(seq:treeSize:)``.
    public func inclusionProof(seq: UInt64, treeSize: UInt64? = nil) throws(AuditLogError) -> InclusionProof {
        try reader.inclusionProof(seq: seq, treeSize: treeSize)
    }

    /// An RFC 9162 consistency proof from this log's acknowledged state.
    public func consistencyProof(from oldSize: UInt64, to newSize: UInt64? = nil) throws(AuditLogError)
        -> ConsistencyProof
    {
        try reader.consistencyProof(from: oldSize, to: newSize)
    }

    // MARK: Close

    /// Waits for appends in progress, syncs the log to disk, signs a last checkpoint (with a signer) and releases
    /// the directory. Appends after `close` throw ``AuditLogError/Code/closed``. Blocks the calling thread; from
    /// async code use the async form.
    public func close() throws(AuditLogError) {
        try writer.close()
    }

    /// Closes the log (see ``close()``) on a thread of its own, suspending meanwhile.
    public func close() async throws(AuditLogError) {
        let writer = self.writer
        try await runOnOwnThread { () throws(AuditLogError) in try writer.close() }.get()
    }
}

/// A Merkle tree size and its root hash.
public struct LogState: Sendable, Equatable, Codable {
    /// Number of events: the next seq.
    public var treeSize: UInt64
    /// RFC 6962 root of the first `treeSize` events.
    public var root: SHA256Hash

    public init(treeSize: UInt64, root: SHA256Hash) {
        self.treeSize = treeSize
        self.root = root
    }
}

/// Runs blocking work (fsync, long file walks) on a new thread of its own and suspends until it is done, so that
/// no thread of the concurrency pool blocks. For rare operations: a thread costs tens of microseconds to start.
func runOnOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws(AuditLogError) -> T) async -> Result<
    T, AuditLogError
> {
    await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, AuditLogError>, Never>) in
        do throws(AuditLogError) {
            let thread = try BackgroundThread {
                continuation.resume(returning: Result { () throws(AuditLogError) in try body() })
            }
            thread.detach()
        } catch {
            continuation.resume(returning: .failure(error))
        }
    }
}
