/// What the commit leader owns: the active segment and the Merkle state at its end, the block being built, the
/// index files and the level files. It turns queued batches into blocks, writes them with one `pwrite` and syncs
/// them as the durability asks, seals segments and signs checkpoints (FORMAT.md, "Writing and recovery").
///
/// Not thread-safe: only the thread that holds the writer's leadership calls it (``LogWriter`` hands leadership
/// over under its lock, which orders every access).
final class SegmentAppender {
    let directory: String
    let options: AuditLog.Options
    private let directoryFD: FileDescriptor
    private let metrics: MetricsRecorder
    private(set) var segment: ActiveSegment
    private(set) var frontier: MerkleFrontier
    private(set) var root: SHA256Hash
    private let hasher: MerkleHasher
    private var builder: BlockBuilder
    /// The block sealed last in this commit, compressing (on the helper thread, or done), not yet placed.
    private var compressing: (block: SealedBlock, onHelper: Bool)?
    /// Compresses a full block while the next one is built (``LogWriter``'s, shared with batch encoding).
    private let helper: HelperThread
    private var writeBuffer: [UInt8] = []
    /// Also read by proofs on other threads; thread-safe.
    let levels: MerkleLevelFiles
    private var completedSubtrees: [(level: Int, hash: SHA256Hash)] = []
    /// Leaf hashes of the block being built, added to the frontier when it is sealed.
    private var blockLeaves: [SHA256Hash] = []
    private var index: BlockIndexAppender
    private var checkpointedSize: UInt64?
    private var checkpointedAt = monotonicNanoseconds()
    /// Whether the active segment has writes that no fdatasync covers yet.
    private(set) var hasUnsyncedWrites = false
    /// The `TAIL` in the directory as far as this writer knows: the one open resumed from, or the last it wrote.
    private var recordedTail: WriterTail?

    init(
        directory: String, directoryFD: FileDescriptor, options: AuditLog.Options, recovered: RecoveredState,
        hasher: MerkleHasher, metrics: MetricsRecorder, helper: HelperThread
    ) throws(AuditLogError) {
        self.directory = directory
        self.helper = helper
        self.metrics = metrics
        self.directoryFD = directoryFD
        self.options = options
        self.hasher = hasher
        segment = recovered.segment
        hasUnsyncedWrites = !recovered.durable
        recordedTail = recovered.tail
        frontier = recovered.frontier
        root = recovered.root
        builder = BlockBuilder(maxBlockBytes: options.maxBlockBytes, segmentVersion: recovered.segment.version)
        levels = try MerkleLevelFiles(directory: directory, hasher: hasher, recovered: recovered)
        index = try BlockIndexAppender(
            directory: directory, baseSeq: recovered.segment.baseSeq, nextSeq: recovered.frontier.size,
            existing: try SegmentIndexFiles.repair(directory: directory, recovered: recovered))
    }

    var state: LogState { LogState(treeSize: frontier.size, root: root) }

    /// Writes `batches` as blocks with one write and, for `.sync`, one fdatasync.
    func commit(_ batches: [PendingBatch]) throws(AuditLogError) -> LogState {
        if segment.size >= Int64(options.maxSegmentBytes) && segment.blockCount > 0 { try roll() }
        try readDictionaryIfNeeded()
        writeBuffer.removeAll(keepingCapacity: true)
        blockLeaves.removeAll(keepingCapacity: true)
        var startsCommit = true
        var headers: [(header: BlockHeader, offset: Int64)] = []
        // Leaves are hashed two at a time (the SHA extensions interleave two messages); a record waits here for
        // the next one, and is hashed alone before its block is finished. A block's leaves join the frontier
        // when it is sealed, level by level (its interior nodes two at a time too).
        var waiting: Range<Int>?
        func appendLeaves() {
            if let first = waiting {
                waiting = nil
                blockLeaves.append(builder.leafHash(of: first, using: hasher))
            }
            frontier.append(
                contentsOf: blockLeaves, using: hasher, completing: &completedSubtrees,
                fromLevel: MerkleLevelFiles.firstLevel)
            blockLeaves.removeAll(keepingCapacity: true)
        }
        for batch in batches {
            batch.records.withUnsafeBytes { raw in
                for (i, offset) in batch.offsets.enumerated() {
                    let end = i + 1 < batch.offsets.count ? batch.offsets[i + 1] : raw.count
                    let bytes = UnsafeRawBufferPointer(rebasing: raw[offset..<end])
                    var r = ByteReader(bytes)
                    _ = try? r.readVarint("record length")  // written by `PendingBatch` itself; cannot fail
                    let seq = batch.firstSeq + UInt64(i)
                    let record = builder.add(lengthPrefixedRecord: bytes, recordOffset: r.position, seq: seq)
                    index.add(
                        record: UnsafeRawBufferPointer(rebasing: bytes[r.position...]), seq: seq,
                        endInPayload: builder.payload.count)
                    if let first = waiting {
                        waiting = nil
                        let (a, b) = builder.leafHashes(of: first, record, using: hasher)
                        blockLeaves.append(a)
                        blockLeaves.append(b)
                    } else {
                        waiting = record
                    }
                    if builder.isFull {
                        appendLeaves()
                        sealBlock(startsCommit: startsCommit, overlapped: true, headers: &headers)
                        startsCommit = false
                    }
                }
            }
            index.countFacets(batch.tally, endSeq: batch.firstSeq + UInt64(batch.count))
        }
        appendLeaves()
        if !builder.isEmpty { sealBlock(startsCommit: startsCommit, overlapped: false, headers: &headers) }
        if let last = compressing { place(last, headers: &headers) }
        try segment.fd.write(writeBuffer, at: segment.size)
        segment.size += Int64(writeBuffer.count)
        hasUnsyncedWrites = true
        for (header, offset) in headers { segment.recordBlock(header, at: offset) }
        if options.durability == .sync { try syncData() }
        levels.append(completedSubtrees)
        completedSubtrees.removeAll(keepingCapacity: true)
        index.writeEntries()
        try signCheckpointIfDue()
        return state
    }

    /// The first commit into a version 2 segment that has blocks (one the previous writer left) reads its
    /// dictionary from its first block: open does not, it only reads the segment's end. Nothing is written when
    /// that block cannot be read: the commit fails, and the writer with it (the damage is `auditlog verify`'s to
    /// report).
    private func readDictionaryIfNeeded() throws(AuditLogError) {
        guard builder.segmentVersion >= 2, builder.dictionary == nil, segment.blockCount > 0 else { return }
        let path = LogFiles.path(directory, LogFiles.segmentName(baseSeq: segment.baseSeq))
        let file = try SegmentFile.open(path: path, baseSeq: segment.baseSeq, fd: segment.fd)
        do throws(DecodeFailure) {
            builder.use(try file.dictionary().withUnsafeBytes { LZ4Dictionary(payload: $0) })
        } catch {
            throw AuditLogError(
                .corrupt, "\(error.reason); nothing was appended. Run `auditlog verify`", path: path,
                offset: Int64(file.headerSize))
        }
    }

    /// Ends the block being built and compresses it: `overlapped` (more records follow in this commit), on the
    /// helper thread if it is free, while the next block's records are added and hashed. The block before it is
    /// placed first: a block's offset is known once the blocks before it are compressed.
    private func sealBlock(startsCommit: Bool, overlapped: Bool, headers: inout [(header: BlockHeader, offset: Int64)])
    {
        root = frontier.root(using: hasher)
        if let previous = compressing { place(previous, headers: &headers) }
        let block = builder.seal(frontier: frontier, root: root, startsCommit: startsCommit)
        index.sealBlock()
        let onHelper = overlapped && helper.start { block.compress() }
        if !onHelper { block.compress() }
        compressing = (block, onHelper)
    }

    /// Encodes a sealed block into the write buffer (waiting for its compression), and its index entry.
    private func place(
        _ sealed: (block: SealedBlock, onHelper: Bool), headers: inout [(header: BlockHeader, offset: Int64)]
    ) {
        if sealed.onHelper { helper.wait() }
        compressing = nil
        let start = writeBuffer.count
        let header = BlockBuilder.encode(sealed.block, into: &writeBuffer)
        headers.append((header, segment.size + Int64(start)))
        index.finishBlock(
            BlockInfo(
                firstSeq: header.firstSeq, recordCount: Int(header.recordCount), offset: segment.size + Int64(start),
                minTimestamp: header.minTimestamp, maxTimestamp: header.maxTimestamp))
        builder.recycle(sealed.block)
    }

    /// fdatasyncs the active segment if it has writes no sync covers yet.
    func syncData() throws(AuditLogError) {
        guard hasUnsyncedWrites else { return }
        try synchronize()
    }

    private func synchronize() throws(AuditLogError) {
        let started = monotonicNanoseconds()
        try segment.fd.synchronizeData()
        metrics.recordSync(nanoseconds: monotonicNanoseconds() - started)
        hasUnsyncedWrites = false
    }

    /// At a clean close, after the last sync: records where the active segment's blocks end (``WriterTail``), so
    /// that the next open need not walk them (unless the `TAIL` open resumed from already says so: a writer that
    /// wrote nothing), and the segment's facet summary so far. A tail that cannot be written only costs the next
    /// open a full walk.
    func recordTail() {
        guard !hasUnsyncedWrites else { return }
        index.writeActiveSummary(endSeq: frontier.size)
        guard let tail = try? segment.tail(), tail != recordedTail else { return }
        if (try? tail.write(directory: directory)) != nil { recordedTail = tail }
    }

    /// Seals the active segment with a footer and starts the next one.
    func roll() throws(AuditLogError) {
        let footer = SegmentFooter(
            blockCount: segment.blockCount, endSeq: frontier.size, minTimestamp: segment.minTimestamp,
            maxTimestamp: segment.maxTimestamp, root: root)
        try segment.fd.write(footer.encode(), at: segment.size)
        FaultInjection.crashPoint("footer-written")
        try synchronize()
        try signCheckpoint()
        let sealedBase = segment.baseSeq
        segment = try ActiveSegment.create(
            directory: directory, directoryFD: directoryFD, baseSeq: frontier.size, frontier: frontier)
        builder.startSegment()
        FaultInjection.crashPoint("segment-created")
        try index.seal(baseSeq: sealedBase, nextBaseSeq: segment.baseSeq)
    }

    /// At open: signs a checkpoint of the recovered tree unless its file exists, so that a writer started on a log
    /// serves a checkpoint of what the log holds at once rather than after the first commit or interval.
    func checkpointRecoveredTree() throws(AuditLogError) {
        guard options.checkpointSigner != nil else { return }
        if FileSystem.exists(LogFiles.path(directory, LogFiles.checkpointName(treeSize: frontier.size))) {
            checkpointedSize = frontier.size
            return
        }
        // What recovery found may still be only in the page cache (the previous writer crashed before its sync): a
        // checkpoint must never cover records a power cut could take back.
        try synchronize()
        try signCheckpoint()
    }

    /// Signs a checkpoint if events were committed since the last one and the checkpoint interval has passed since
    /// it: after a commit, and on the writer's checkpoint thread when no commit comes.
    func signCheckpointIfDue() throws(AuditLogError) {
        guard let interval = options.checkpointInterval, checkpointedSize != frontier.size,
            monotonicNanoseconds() - checkpointedAt >= UInt64(max(0, interval.wholeMilliseconds)) * 1_000_000
        else { return }
        try syncData()
        try signCheckpoint()
    }

    /// Signs a checkpoint of the synced tree into the log directory (written aside, fsynced, renamed), if a signer
    /// is configured and the tree grew since the last one.
    func signCheckpoint() throws(AuditLogError) {
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
}
