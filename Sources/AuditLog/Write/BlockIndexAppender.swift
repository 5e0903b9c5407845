/// Keeps the active segment's index files up to date as the commit leader writes blocks (FORMAT.md, "Indexes"):
/// one `.idx` entry per block, appended after each commit, and at seal the segment's sorted actor index (`.aix`)
/// and facet summary (`.fct`).
///
/// Index files are derived data. A failed index write never fails a commit: the file is dropped for this session,
/// readers fall back to the blocks, and the next open rebuilds it. Leader only.
struct BlockIndexAppender {
    private let directory: String
    private var file: FileDescriptor?
    private var fileSize: Int64 = 0
    /// Entries of the blocks finished in this commit, written at its end.
    private var buffer: [UInt8] = []
    /// The actor hash of every record of the active segment in seq order (from its base seq), for its actor index
    /// at seal; nil if a record was missed (the next open writes the actor index from the blocks).
    private var actorHashes: [UInt64]? = []
    private var actorHashesBase: UInt64
    /// Actor hashes and payload record ends of the block being built, and of the block sealed before it (its
    /// filters are `filterBytes`, the last `windowFilterSize` bytes its window filter).
    private var blockActorHashes: [UInt64] = []
    private var blockRecordEnds: [UInt32] = []
    private var sealedActorHashes: [UInt64] = []
    private var sealedRecordEnds: [UInt32] = []
    private var hasSealedBlock = false
    /// The filter of the block being built, and a buffer for it.
    private var blockFilter = BlockFilter.Builder()
    private var filterBytes: [UInt8] = []
    private var windowFilterSize = 0
    /// The facet counts of the active segment's committed batches; nil when the segment held records this writer
    /// has no summary of (the maintenance thread computes that one after the seal).
    private var facets: FacetTally?
    /// The seqs the summary covers: `[facetsBase, facetsEnd)`: the batches counted in `facets`, after the ones
    /// the `.fct` file the last writer left at its clean close covers, up to `carriedEnd`.
    private var facetsBase: UInt64
    private var facetsEnd: UInt64
    private var carriedEnd: UInt64?

    /// Opens (or creates) the `.idx` of the active segment at `baseSeq`, whose next record is `nextSeq`;
    /// `existing` is the segment's index if open read it whole, whose records' actors count towards the actor index
    /// at seal. Without it, a segment that already holds records gets its actor index after the seal from the
    /// maintenance thread (``LogWriter/writeMissingSummaries()``), like its facet summary.
    init(directory: String, baseSeq: UInt64, nextSeq: UInt64, existing: SegmentIndex?) throws(AuditLogError) {
        self.directory = directory
        actorHashes = (try? existing?.actorHashes()) ?? (nextSeq == baseSeq ? [] : nil)
        actorHashesBase = baseSeq
        facetsBase = baseSeq
        facetsEnd = baseSeq
        if nextSeq == baseSeq {
            facets = FacetTally()
        } else if SegmentFacets.storedEnd(baseSeq: baseSeq, directory: directory) == nextSeq {
            // The last writer's summary covers the segment as open found it: read when it is next written.
            facets = FacetTally()
            facetsEnd = nextSeq
            carriedEnd = nextSeq
        }
        try open(baseSeq: baseSeq)
    }

    private mutating func open(baseSeq: UInt64) throws(AuditLogError) {
        let path = SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: baseSeq)
        let opened = try FileDescriptor.openForWriting(path, create: true)
        fileSize = try opened.size()
        file = opened
    }

    /// Notes one record added to the block being built.
    mutating func add(record: UnsafeRawBufferPointer, seq: UInt64, endInPayload: Int) {
        let actorHash = SegmentIndexFiles.indexRecord(
            record, start: Int(blockRecordEnds.last ?? 0), filter: &blockFilter)
        blockActorHashes.append(actorHash)
        if let count = actorHashes?.count, seq == actorHashesBase + UInt64(count) {
            actorHashes?.append(actorHash)
        } else {
            actorHashes = nil
        }
        blockRecordEnds.append(UInt32(endInPayload))
    }

    /// Counts a committed batch in the active segment's facet summary; `endSeq` is the seq after its last event.
    mutating func countFacets(_ batch: FacetTally, endSeq: UInt64) {
        facets?.merge(batch)
        facetsEnd = endSeq
    }

    /// Ends the block being built: its records' entries wait for ``finishBlock(_:)`` (which needs the block's
    /// offset, known once the block before it is compressed) while the next block's records are added.
    mutating func sealBlock() {
        swap(&sealedActorHashes, &blockActorHashes)
        swap(&sealedRecordEnds, &blockRecordEnds)
        blockActorHashes.removeAll(keepingCapacity: true)
        blockRecordEnds.removeAll(keepingCapacity: true)
        filterBytes.removeAll(keepingCapacity: true)
        windowFilterSize = blockFilter.finish(into: &filterBytes).windows
        hasSealedBlock = true
    }

    /// Encodes the entry of the block sealed last (or, if none waits, of the block being built).
    mutating func finishBlock(_ info: BlockInfo) {
        if !hasSealedBlock { sealBlock() }
        filterBytes.withUnsafeBytes { filter in
            SegmentIndexFiles.appendEntry(
                info, actorHashes: sealedActorHashes[...], recordEnds: sealedRecordEnds[...], filters: filter,
                windowFilterSize: windowFilterSize, to: &buffer)
        }
        hasSealedBlock = false
    }

    /// Appends the commit's entries to the `.idx`.
    mutating func writeEntries() {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard let file, !buffer.isEmpty else { return }
        do throws(AuditLogError) {
            try file.write(buffer, at: fileSize)
            fileSize += Int64(buffer.count)
        } catch {
            self.file = nil
        }
    }

    /// At a clean close, after the last sync: writes the active segment's facet summary so far (up to `endSeq`,
    /// the end of its blocks), so that a new reader counts only the blocks written after it (FORMAT.md "Indexes").
    /// Nothing when the file already says so, or when this writer has no summary of the whole segment.
    func writeActiveSummary(endSeq: UInt64) {
        guard facetsEnd == endSeq, endSeq > facetsBase, carriedEnd != endSeq, let summary = summary() else { return }
        try? SegmentIndexFiles.replace(
            SegmentFacets.path(directory: directory, baseSeq: facetsBase), with: summary.encode())
    }

    /// The summary of `[facetsBase, facetsEnd)`: the carried file's counts, then this writer's; nil without one.
    private func summary() -> SegmentFacets? {
        guard let facets else { return nil }
        var summary = SegmentFacets(baseSeq: facetsBase)
        if let carriedEnd {
            guard let carried = SegmentFacets.read(baseSeq: facetsBase, directory: directory),
                carried.endSeq == carriedEnd
            else { return nil }
            summary = carried
        }
        summary.merge(facets.summary(baseSeq: facetsBase))
        summary.endSeq = facetsEnd
        return summary
    }

    /// Writes the sealed segment's actor index (after the commit's entries: its block table comes from them) and
    /// starts the index of the next segment. If the actor index cannot be written, the next open writes it.
    mutating func seal(baseSeq sealedBase: UInt64, nextBaseSeq: UInt64) throws(AuditLogError) {
        if let hashes = actorHashes, actorHashesBase == sealedBase {
            // Its block table comes from the `.idx` as written (checked entries, or none if one is missing).
            let blockIndex = MappedFile(
                path: SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: sealedBase))
            let encoded = withExtendedLifetime(blockIndex) {
                ActorIndexFile.encode(baseSeq: sealedBase, actorHashes: hashes, blockIndex: blockIndex?.bytes)
            }
            try? SegmentIndexFiles.replace(
                SegmentIndexFiles.actorIndexPath(directory: directory, baseSeq: sealedBase), with: encoded)
        }
        actorHashes = []
        actorHashesBase = nextBaseSeq
        if facetsBase == sealedBase, facetsEnd == nextBaseSeq, let summary = summary() {
            try? SegmentIndexFiles.replace(
                SegmentFacets.path(directory: directory, baseSeq: sealedBase), with: summary.encode())
        }
        facets = FacetTally()
        facetsBase = nextBaseSeq
        facetsEnd = nextBaseSeq
        carriedEnd = nil
        try open(baseSeq: nextBaseSeq)
    }
}
