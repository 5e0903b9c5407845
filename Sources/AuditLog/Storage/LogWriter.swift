#if canImport(Glibc)
    import Glibc
#endif

/// The single writer of a log directory: group commit, segment roll, durability.
///
/// Group commit: each `append` encodes its records on the caller's thread, then under the lock takes sequence
/// numbers and queues them. If no commit is running, the caller becomes the leader: it takes every queued batch,
/// builds blocks, writes them with one `pwrite` and (with `.sync`) one `fdatasync`, then wakes everyone whose
/// records it made durable. Callers that arrive meanwhile queue up for the next leader, so concurrent appends
/// share writes and fsyncs. A failed write or fsync stops the writer for good: nothing is acknowledged after it.
final class LogWriter: @unchecked Sendable {
    // @unchecked: fields below `lock` are guarded by it; fields marked "leader" are touched only by the one
    // thread that holds `leaderActive`, which is handed over under `lock`.

    let directory: String
    let options: AuditLog.Options
    let report: RecoveryReport
    private let directoryFD: FileDescriptor
    private let lockFile: FileDescriptor

    private let lock = ConditionLock()
    private var nextSeq: UInt64
    private var acknowledged: LogState
    private var pending: [PendingBatch] = []
    private var leaderActive = false
    private var failure: AuditLogError?
    private var closed = false
    private var unsyncedFile: FileDescriptor?
    private var flusher: BackgroundThread?
    private var retentionThread: BackgroundThread?
    /// Set at segment seal: the retention thread should look for segments to drop.
    private var retentionDue = true
    /// Tells the background threads to stop.
    private var stopFlusher = false
    /// Whether `close` has released the directory lock.
    private var released = false

    // Leader state.
    private var segment: ActiveSegment
    private var frontier: MerkleFrontier
    private var root: SHA256Hash
    private let hasher: MerkleHasher
    private var builder: BlockBuilder
    private var writeBuffer: [UInt8] = []
    let levels: MerkleLevelFiles
    private var completedSubtrees: [(level: Int, hash: SHA256Hash)] = []
    private var checkpointedSize: UInt64?
    private var checkpointedAt = monotonicNanoseconds()
    /// The active segment's block index file, and (actor hash, seq) of its records for the actor index at seal.
    private var blockIndexFile: FileDescriptor?
    private var blockIndexSize: Int64 = 0
    private var actorPairs: [(hash: UInt64, seq: UInt64)] = []
    private var blockActorHashes: [UInt64] = []
    private var blockRecordEnds: [UInt32] = []
    private var indexBuffer: [UInt8] = []

    struct PendingBatch {
        /// Length-prefixed records, seq fields still zero.
        var records: [UInt8]
        /// Offsets of each record's length prefix in `records`.
        var offsets: [Int]
        var firstSeq: UInt64
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
        directoryFD = try FileDescriptor.openDirectory(directory)
        let lockPath = LogFiles.path(directory, LogFiles.lockName)
        lockFile = try FileDescriptor.openForWriting(lockPath, create: true)
        guard try lockFile.tryLockExclusive() else {
            let holder = (try? lockFile.read(count: 32, at: 0)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            let pid = holder.split(separator: "\n").first.map { " (process \($0))" } ?? ""
            throw AuditLogError(
                .locked,
                "another writer\(pid) has this log open; a log has one writer at a time. Readers need no lock: "
                    + "use LogReader or `auditlog export`", path: directory)
        }
        try lockFile.truncate(to: 0)
        try lockFile.write(Array("\(getpid())\n".utf8), at: 0)

        hasher = try MerkleHasher()
        let state = try Recovery.recover(directory: directory, directoryFD: directoryFD, hasher: hasher)
        segment = state.segment
        frontier = state.frontier
        root = state.root
        report = state.report
        nextSeq = state.frontier.size
        acknowledged = LogState(treeSize: state.frontier.size, root: state.root)
        builder = BlockBuilder(maxBlockBytes: options.maxBlockBytes)
        levels = try MerkleLevelFiles(directory: directory, treeSize: state.frontier.size, hasher: hasher)
        if let active = try SegmentIndexFiles.repair(directory: directory) {
            actorPairs = active.actorHashes.enumerated().map { ($1, active.baseSeq + UInt64($0)) }
            try openBlockIndex()
        }

        try finishPendingMaintenance()
        // The threads hold the writer until `close` stops them; `AuditLog.deinit` calls `close`.
        if case .interval(let milliseconds) = options.durability {
            flusher = try BackgroundThread { self.flushPeriodically(milliseconds: milliseconds) }
        }
        if let policy = options.retention {
            retentionThread = try BackgroundThread { self.applyRetentionPeriodically(policy) }
        }
    }

    var state: LogState { lock.withLock { acknowledged } }

    // MARK: Append

    func append(_ events: [AuditEvent]) throws(AuditLogError) -> Range<UInt64> {
        var batch = try makeBatch(events, allowReserved: false)
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        if closed { throw AuditLogError(.closed, "the log is closed", path: directory) }
        batch.firstSeq = nextSeq
        let range = nextSeq..<nextSeq + UInt64(events.count)
        guard !events.isEmpty else { return range }
        nextSeq = range.upperBound
        pending.append(batch)

        while true {
            if acknowledged.treeSize >= range.upperBound { return range }
            if let failure { throw failure }
            if leaderActive {
                lock.wait()
                continue
            }
            leaderActive = true
            let work = pending
            pending = []
            lock.unlock()
            let result = Result { () throws(AuditLogError) in try commit(work) }
            lock.lock()
            leaderActive = false
            switch result {
            case .success(let state):
                acknowledged = state
            case .failure(let error):
                failure = Self.writerFailure(error)
            }
            lock.broadcast()
        }
    }

    private static func writerFailure(_ error: AuditLogError) -> AuditLogError {
        AuditLogError(
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
                lock.broadcast()
            }
        }
        return try body()
    }

    /// Appends one of the log's own events, with everything queued before it, and syncs it whatever the
    /// durability. With `journal`, the maintenance journal names the event before it is written, so that a crash
    /// after the event is committed is finished at the next open. A failure stops the writer. Exclusive only.
    func commitSystemEvent(_ event: AuditEvent, journal: Bool) throws(AuditLogError) -> UInt64 {
        var batch = try makeBatch([event], allowReserved: true)
        let work = lock.withLock {
            batch.firstSeq = nextSeq
            nextSeq += 1
            defer { pending = [] }
            return pending + [batch]
        }
        let result = Result { () throws(AuditLogError) in
            if journal {
                try MaintenanceJournal.write(seq: batch.firstSeq, directory: directory, directoryFD: directoryFD)
                FaultInjection.crashPoint("journal-written")
            }
            let state = try commit(work)
            if options.durability != .sync { try segment.fd.synchronizeData() }
            FaultInjection.crashPoint("event-committed")
            return state
        }
        lock.withLock {
            switch result {
            case .success(let state): acknowledged = state
            case .failure(let error): failure = Self.writerFailure(error)
            }
            lock.broadcast()
        }
        _ = try result.get()
        return batch.firstSeq
    }

    /// Seals the active segment if it holds any record at or after `seq`, so that only sealed segments are
    /// rewritten. Exclusive only.
    func sealActiveSegment(ifItHolds seq: UInt64) throws(AuditLogError) {
        guard seq < frontier.size, seq >= segment.baseSeq, segment.blockCount > 0 else { return }
        do throws(AuditLogError) { try rollSegment() } catch {
            lock.withLock {
                failure = Self.writerFailure(error)
                lock.broadcast()
            }
            throw error
        }
    }

    /// Base seq of the active segment (exclusive only).
    var activeSegmentBase: UInt64 { segment.baseSeq }

    var directoryHandle: FileDescriptor { directoryFD }

    /// Validates and encodes events into a batch (seqs not yet assigned), on the caller's thread.
    private func makeBatch(_ events: [AuditEvent], allowReserved: Bool) throws(AuditLogError) -> PendingBatch {
        var batch = PendingBatch(records: [], offsets: [], firstSeq: 0)
        batch.offsets.reserveCapacity(events.count)
        var salts = [UInt8](repeating: 0, count: events.count * RecordCodec.saltSize)
        try salts.withUnsafeMutableBytes { buffer in
            Result { () throws(AuditLogError) in try SecureRandom.fill(buffer) }
        }
        .get()
        var record: [UInt8] = []
        for (i, event) in events.enumerated() {
            do throws(AuditLogError) {
                try event.validate(limits: options.limits, allowReserved: allowReserved)
            } catch {
                throw events.count > 1 ? error.prefixed("event \(i) of the batch: ") : error
            }
            record.removeAll(keepingCapacity: true)
            salts.withUnsafeBytes { raw in
                let salt = UnsafeRawBufferPointer(
                    rebasing: raw[i * RecordCodec.saltSize..<(i + 1) * RecordCodec.saltSize])
                RecordCodec.encode(event, seq: 0, salt: salt, into: &record)
            }
            guard record.count <= options.limits.maxEventBytes else {
                throw AuditLogError(
                    .invalidEvent,
                    "event \(i) encodes to \(record.count) bytes, over the limit of \(options.limits.maxEventBytes)")
            }
            batch.offsets.append(batch.records.count)
            batch.records.appendVarint(UInt64(record.count))
            batch.records.append(contentsOf: record)
        }
        return batch
    }

    /// Writes `batches` as blocks with one write and, for `.sync`, one fdatasync. Leader only.
    private func commit(_ batches: [PendingBatch]) throws(AuditLogError) -> LogState {
        if segment.size >= Int64(options.maxSegmentBytes) && segment.blockCount > 0 { try rollSegment() }
        writeBuffer.removeAll(keepingCapacity: true)
        var startsCommit = true
        var headers: [BlockHeader] = []
        for batch in batches {
            batch.records.withUnsafeBytes { raw in
                for (i, offset) in batch.offsets.enumerated() {
                    let end = i + 1 < batch.offsets.count ? batch.offsets[i + 1] : raw.count
                    let bytes = UnsafeRawBufferPointer(rebasing: raw[offset..<end])
                    var r = ByteReader(bytes)
                    _ = try? r.readVarint("record length")  // written by `append` just above; cannot fail
                    let record = UnsafeRawBufferPointer(rebasing: bytes[r.position...])
                    let actorHash = SegmentIndexFiles.actorID(ofRecord: record).map(SegmentIndexFiles.actorHash) ?? 0
                    blockActorHashes.append(actorHash)
                    actorPairs.append((actorHash, batch.firstSeq + UInt64(i)))
                    let leaf = builder.add(
                        lengthPrefixedRecord: bytes, recordOffset: r.position, seq: batch.firstSeq + UInt64(i),
                        hasher: hasher)
                    blockRecordEnds.append(UInt32(builder.payload.count))
                    frontier.append(
                        leaf, using: hasher, completing: &completedSubtrees, fromLevel: MerkleLevelFiles.firstLevel)
                    if builder.isFull {
                        finishBlock(startsCommit: startsCommit, headers: &headers)
                        startsCommit = false
                    }
                }
            }
        }
        if !builder.isEmpty { finishBlock(startsCommit: startsCommit, headers: &headers) }
        try segment.fd.write(writeBuffer, at: segment.size)
        segment.size += Int64(writeBuffer.count)
        for header in headers { segment.recordBlock(header) }
        switch options.durability {
        case .sync:
            try segment.fd.synchronizeData()
        case .interval:
            lock.withLock { unsyncedFile = segment.fd }
        case .none:
            break
        }
        levels.append(completedSubtrees)
        completedSubtrees.removeAll(keepingCapacity: true)
        appendBlockIndex()
        if let interval = options.checkpointIntervalSeconds,
            monotonicNanoseconds() - checkpointedAt >= UInt64(interval) * 1_000_000_000
        {
            if options.durability != .sync { try segment.fd.synchronizeData() }
            try signCheckpoint()
        }
        return LogState(treeSize: frontier.size, root: root)
    }

    /// Encodes the block being built into the write buffer, and its block index entry into `indexBuffer`.
    private func finishBlock(startsCommit: Bool, headers: inout [BlockHeader]) {
        root = frontier.root(using: hasher)
        let start = writeBuffer.count
        let header = builder.finishBlock(frontier: frontier, root: root, startsCommit: startsCommit, into: &writeBuffer)
        headers.append(header)
        let info = BlockInfo(
            firstSeq: header.firstSeq, recordCount: Int(header.recordCount), offset: segment.size + Int64(start),
            minTimestamp: header.minTimestamp, maxTimestamp: header.maxTimestamp)
        SegmentIndexFiles.appendEntry(
            info, actorHashes: blockActorHashes[...], recordEnds: blockRecordEnds[...], to: &indexBuffer)
        blockActorHashes.removeAll(keepingCapacity: true)
        blockRecordEnds.removeAll(keepingCapacity: true)
    }

    /// Appends the commit's block index entries. Index files are derived: a failure here is left for readers to
    /// detect (they fall back to the blocks) and for the next open to repair; it does not fail the commit.
    private func appendBlockIndex() {
        defer { indexBuffer.removeAll(keepingCapacity: true) }
        guard let file = blockIndexFile, !indexBuffer.isEmpty else { return }
        do throws(AuditLogError) {
            try file.write(indexBuffer, at: blockIndexSize)
            blockIndexSize += Int64(indexBuffer.count)
        } catch {
            blockIndexFile = nil
        }
    }

    private func openBlockIndex() throws(AuditLogError) {
        let path = SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: segment.baseSeq)
        let file = try FileDescriptor.openForWriting(path, create: true)
        blockIndexSize = try file.size()
        blockIndexFile = file
    }

    /// Seals the active segment with a footer and starts the next one. Leader only.
    private func rollSegment() throws(AuditLogError) {
        let footer = SegmentFooter(
            blockCount: segment.blockCount, endSeq: frontier.size, minTimestamp: segment.minTimestamp,
            maxTimestamp: segment.maxTimestamp, root: root)
        try segment.fd.write(footer.encode(), at: segment.size)
        FaultInjection.crashPoint("footer-written")
        try segment.fd.synchronizeData()
        try signCheckpoint()
        let sealedBase = segment.baseSeq
        segment = try ActiveSegment.create(
            directory: directory, directoryFD: directoryFD, baseSeq: frontier.size, frontier: frontier)
        FaultInjection.crashPoint("segment-created")
        // The sealed segment's sorted actor index; if this fails, the next open writes it.
        try? SegmentIndexFiles.replace(
            SegmentIndexFiles.actorIndexPath(directory: directory, baseSeq: sealedBase),
            with: SegmentIndexFiles.encodeActorIndex(baseSeq: sealedBase, pairs: actorPairs))
        actorPairs.removeAll(keepingCapacity: true)
        try openBlockIndex()
        lock.withLock {
            unsyncedFile = nil
            retentionDue = true
            lock.broadcast()
        }
    }

    /// Signs a checkpoint of the synced tree into the log directory (written aside, fsynced, renamed).
    /// Leader only (or `close`, once no leader can run).
    private func signCheckpoint() throws(AuditLogError) {
        checkpointedAt = monotonicNanoseconds()
        guard let signer = options.checkpointSigner, frontier.size > 0, checkpointedSize != frontier.size else {
            return
        }
        let note = try signer.sign(Checkpoint(origin: signer.name, treeSize: frontier.size, root: root).text)
        FaultInjection.crashPoint("checkpoint-signed")
        try FileSystem.writeAtomically(
            Array(note.utf8), to: LogFiles.path(directory, LogFiles.checkpointName(treeSize: frontier.size)),
            directoryFD: directoryFD)
        checkpointedSize = frontier.size
    }

    // MARK: Sync and close

    private func flushPeriodically(milliseconds: Int) {
        lock.lock()
        defer { lock.unlock() }
        while !stopFlusher {
            lock.wait(milliseconds: milliseconds)
            guard let file = unsyncedFile else { continue }
            unsyncedFile = nil
            lock.unlock()
            let result = Result { () throws(AuditLogError) in try file.synchronizeData() }
            lock.lock()
            if case .failure(let error) = result, failure == nil {
                failure = AuditLogError(
                    .writerFailed, "the log stopped accepting appends after a failed sync (\(error)); reopen it",
                    path: error.path, errno: error.errno)
                lock.broadcast()
            }
        }
    }

    /// Applies the retention policy now (at open), after each segment seal and every check interval, until close.
    /// A failure is left for the next run (a failed write in the retention event stops the writer as usual).
    private func applyRetentionPeriodically(_ policy: RetentionPolicy) {
        lock.lock()
        defer { lock.unlock() }
        while !stopFlusher {
            let deadline = monotonicNanoseconds() + UInt64(max(1, policy.checkIntervalSeconds)) * 1_000_000_000
            while !stopFlusher && !retentionDue && monotonicNanoseconds() < deadline {
                lock.wait(milliseconds: Int((deadline - min(deadline, monotonicNanoseconds())) / 1_000_000) + 1)
            }
            if stopFlusher { return }
            retentionDue = false
            lock.unlock()
            _ = try? applyRetention(policy, dryRun: false, now: currentTimeMilliseconds())
            lock.lock()
        }
    }

    /// Waits for queued appends, syncs, and releases the directory lock.
    func close() throws(AuditLogError) {
        lock.lock()
        if closed && flusher == nil && retentionThread == nil && released {
            lock.unlock()
            return
        }
        closed = true
        while leaderActive || !pending.isEmpty {
            lock.wait()
        }
        stopFlusher = true
        lock.broadcast()
        let threads = [flusher, retentionThread]
        flusher = nil
        retentionThread = nil
        let failure = self.failure
        lock.unlock()
        for thread in threads { thread?.join() }
        defer {
            lockFile.unlock()
            lock.withLock { released = true }
        }
        if let failure { throw failure }
        try segment.fd.synchronizeData()
        try signCheckpoint()
    }
}

extension AuditLogError {
    func prefixed(_ prefix: String) -> AuditLogError {
        var copy = self
        copy.message = prefix + message
        return copy
    }
}
