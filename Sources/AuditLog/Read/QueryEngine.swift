/// Cached views of the segments' indexes, shared by the queries of one ``AuditLogReader``.
///
/// A view is reused while it still describes its segment: a sealed segment changes only when redaction rewrites
/// it, as a new file (told by its identity: inode and status-change time, as a freed inode is soon reused); the
/// active segment grows, so its view is reused only while neither it nor its index has grown (re-parsing it on
/// every query was 20% of a first-page query, `perf record` of `query --repeat`).
/// The lock is held only to look a view up or store it, never while reading the disk.
///
/// The segments are listed again only when the directory changed (its modification time, which every file created,
/// removed or renamed in it moves): a listing and a `stat` of each segment it visits were a fifth of a one-hour page
/// on a 10M-event log (43 segments, ~190 names). A listing is *settled* when the directory had not changed for
/// a while before it was taken (so that a change after it cannot leave the same coarse timestamp); while the
/// directory is unchanged since a settled listing, a sealed segment whose file was checked since that listing is
/// not checked again (a segment is only ever replaced by a rename, removed or created in this directory). The
/// active segment's sizes are checked by every query.
final class SegmentIndexCache: Sendable {
    private struct Entry {
        var index: SegmentIndex?
        /// Sizes of the segment and its block index when the view was built (active segment only).
        var sizes: (segment: Int64, index: Int64)?
        /// The segment file's identity when the entry was made.
        var file: FileIdentity?
        /// A sealed segment's time range from its footer, when no view was built.
        var bounds: (min: Int64, max: Int64)?
        /// The settled listing since which the file's identity is known to be `file`.
        var checkedIn: UInt64?
        /// A sealed segment's actor index, opened before any view (nil inside: it has none).
        var actorFile: ActorIndexFile??
    }

    private struct Listing {
        var directory: (inode: UInt64, device: UInt64, modified: Int64)
        var segments: [(baseSeq: UInt64, path: String)]
        /// Numbers the settled listings; nil while the directory changed too recently to rely on its timestamp.
        var settled: UInt64?
    }

    /// How long a directory must have been unchanged before a listing of it is settled: well above the
    /// granularity of file timestamps (the kernel's coarse clock, a few ms).
    static let settleMilliseconds: Int64 = 200

    private let entries = Locked<[UInt64: Entry]>([:])
    private let listing = Locked<(last: Listing?, count: UInt64)>((nil, 0))
    /// The dictionaries of version 2 segments read lately.
    let dictionaries = DictionaryCache()

    /// How many times the directory was listed (for tests).
    var listings: UInt64 { listing.withLock { $0.count } }

    /// The log's segments (``LogFiles/segments(in:)``), listed again only if the directory changed, and the number
    /// of the settled listing they come from (nil: not settled, check every file).
    func segments(in directory: String) throws(AuditLogError) -> (
        segments: [(baseSeq: UInt64, path: String)], settled: UInt64?
    ) {
        guard let state = FileSystem.directoryState(directory) else {
            return (try LogFiles.segments(in: directory), nil)
        }
        if let last = listing.withLock({ $0.last }), let settled = last.settled, last.directory == state {
            return (last.segments, settled)
        }
        let now = currentTimeMilliseconds()
        let segments = try LogFiles.segments(in: directory)
        let settled = now - state.modified >= Self.settleMilliseconds
        return listing.withLock { listing in
            listing.count += 1
            let number = settled ? listing.count : nil
            listing.last = Listing(directory: state, segments: segments, settled: number)
            return (segments, number)
        }
    }

    /// The view of `segment`, from the cache when it still describes the segment. `settled`: from
    /// ``segments(in:)``.
    func index(_ segment: (baseSeq: UInt64, path: String), isLast: Bool, directory: String, settled: UInt64?)
        throws(AuditLogError) -> SegmentIndex
    {
        let cached = entries.withLock { $0[segment.baseSeq] }
        if !isLast, let settled, let cached, cached.checkedIn == settled, let index = cached.index, index.sealed {
            return index
        }
        let file = LogFiles.identity(ofSegment: segment.path)
        let sizes = isLast ? Self.sizes(segment, directory: directory) : nil
        if let cached, let index = cached.index, index.file == file {
            if index.sealed {
                if let settled { entries.withLock { $0[segment.baseSeq]?.checkedIn = settled } }
                return index
            }
            if isLast, let then = cached.sizes, let now = sizes, then == now { return index }
        }
        let opened = cached?.file == file ? cached?.actorFile : nil
        let index = try SegmentIndex(
            directory: directory, baseSeq: segment.baseSeq, path: segment.path, lazy: true, actorFile: opened)
        entries.withLock {
            $0[segment.baseSeq] = Entry(
                index: index, sizes: sizes, file: index.file, checkedIn: index.file == file ? settled : nil)
        }
        return index
    }

    /// Whether a sealed segment's actor index says that it holds no record of an actor whose id hashes to one of
    /// `hashes`, before its view is built (a cold query for a rare or absent actor looks at every segment, and
    /// building a view opens and checks the segment file and its block index). False when the segment has a view
    /// already (which answers as cheaply), or no version 2 actor index whose tables check and cover its records.
    func sealedSegment(
        _ segment: (baseSeq: UInt64, path: String), holdsNoneOf hashes: Set<UInt64>, directory: String,
        settled: UInt64?
    ) -> Bool {
        var entry = current(segment, settled: settled)
        if entry.index != nil { return false }
        if entry.actorFile == nil {
            entry.actorFile = .some(ActorIndexFile(directory: directory, baseSeq: segment.baseSeq))
            remember(entry, of: segment)
        }
        guard let actorFile = entry.actorFile!, actorFile.blockTableCoversPairs else { return false }
        return hashes.allSatisfy { actorFile.seqs(forActorHash: $0)?.isEmpty == true }
    }

    /// Whether a sealed segment may hold records in `range`, from its cached view or else from its footer's time
    /// range (one read, remembered while the file is the same): so a time-range query passes over the segments
    /// outside its range without building their views (on a 10M-event log, a fresh reader's page of the oldest
    /// hour built all 44 and took 130-170 ms). True when the footer cannot be read: the view decides.
    func sealedSegment(
        _ segment: (baseSeq: UInt64, path: String), mayHoldTimesIn range: ClosedRange<Int64>, settled: UInt64?
    ) -> Bool {
        var entry = current(segment, settled: settled)
        var known = entry.bounds ?? entry.index.map { ($0.minTimestamp, $0.maxTimestamp) }
        // Its header and footer were asked for with its neighbours' (``willLearnTimes(of:settled:)``).
        if known == nil, let opened = try? SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq),
            let footer = try? opened.footer()
        {
            known = (footer.minTimestamp, footer.maxTimestamp)
            entry.bounds = known
            remember(entry, of: segment)
        }
        guard let known else { return true }
        return known.max >= range.lowerBound && known.min <= range.upperBound
    }

    /// Asks for the header and the footer of those of `segments` (sealed) whose time range is not known yet, before
    /// ``sealedSegment(_:mayHoldTimesIn:settled:)`` reads them one segment after the other: a cold reader's page of
    /// an old hour looks at every newer segment first, and on a disk whose pages the kernel dropped each look was a
    /// disk round or two (~45 segments at 10M events).
    func willLearnTimes(of segments: [(baseSeq: UInt64, path: String)], settled: UInt64?) {
        for segment in segments {
            let entry = current(segment, settled: settled)
            guard entry.bounds == nil, entry.index == nil,
                let source = try? SegmentFile.source(path: segment.path, whole: false)
            else { continue }
            SegmentFile.willReadEnds(of: source, bytes: Self.boundsReadAhead)
        }
    }

    /// What of each end of a segment learning its time range asks for: its header and its footer.
    private static let boundsReadAhead: Int64 = 4 << 10

    /// The entry of `segment` as it describes the segment's file now: the cached one if it was checked since the
    /// settled listing, or if a `stat` now finds the same file (then noted as checked in this listing); else a new
    /// one for the file as it is, which the caller stores with what it learns (``remember(_:of:)``).
    private func current(_ segment: (baseSeq: UInt64, path: String), settled: UInt64?) -> Entry {
        let cached = entries.withLock { $0[segment.baseSeq] }
        if let cached, let settled, cached.checkedIn == settled { return cached }
        let file = LogFiles.identity(ofSegment: segment.path)
        guard var entry = cached, entry.file == file else { return Entry(index: nil, file: file, checkedIn: settled) }
        if let settled {
            entry.checkedIn = settled
            entries.withLock { if $0[segment.baseSeq]?.file == file { $0[segment.baseSeq]!.checkedIn = settled } }
        }
        return entry
    }

    /// Stores what a query learnt of a sealed segment without building its view (its footer's time range, its actor
    /// index), unless a view of the same file was stored meanwhile.
    private func remember(_ entry: Entry, of segment: (baseSeq: UInt64, path: String)) {
        entries.withLock { entries in
            if let stored = entries[segment.baseSeq], stored.index != nil, stored.file == entry.file { return }
            entries[segment.baseSeq] = entry
        }
    }

    /// Forgets the views of segments that retention removed.
    func keep(only segments: [(baseSeq: UInt64, path: String)]) {
        entries.withLock { entries in
            guard entries.count > segments.count else { return }
            let present = Set(segments.map(\.baseSeq))
            entries = entries.filter { present.contains($0.key) }
        }
    }

    private static func sizes(_ segment: (baseSeq: UInt64, path: String), directory: String) -> (
        segment: Int64, index: Int64
    ) {
        (
            FileSystem.fileSize(segment.path) ?? 0,
            FileSystem.fileSize(SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: segment.baseSeq)) ?? 0
        )
    }
}

/// Runs one query against a log directory, using the segment indexes.
///
/// The plan: segments outside the time range or beyond the cursor are skipped whole; within a segment, an actor
/// filter reads only that actor's records (from the actor index), a time range only the blocks whose time range
/// meets it, and filters on other fields only the blocks whose ``BlockFilter`` may hold their values (and of a
/// page, only the frames whose windows may); only then are records decoded and every filter applied. So cost grows
/// with what matches.
/// An engine runs one query at a time (its buffers are its own; a reader keeps a few between queries); index views
/// come from the reader's shared cache.
final class QueryEngine {
    let directory: String
    private let indexes: SegmentIndexCache
    /// The reader's cache of decoded frames, for pages (an export's walk does not use it).
    private let frameCache: FrameCache?
    let hasher: MerkleHasher
    private var block: [UInt8] = []
    private var payload: [UInt8] = []
    /// Where a query's anchor values occur in the payload (``ByteSearch/occurrences(of:in:into:)``).
    private var hits: [Range<Int>] = []
    /// A page's bytes as ``appendPage(matching:encoder:to:)`` writes them.
    private var page = ByteBuffer()

    /// The bytes its buffers hold.
    var bufferBytes: Int { block.capacity + payload.capacity + page.capacity }

    init(directory: String, indexes: SegmentIndexCache, frameCache: FrameCache? = nil) throws(AuditLogError) {
        self.directory = directory
        self.indexes = indexes
        self.frameCache = frameCache
        hasher = try MerkleHasher()
    }

    /// One page of the events matching `query`.
    func events(matching query: Query) throws(AuditLogError) -> QueryPage {
        let after = try pageStart(query)
        var results: [StoredEvent] = []
        try scan(query, after: after, byFrame: true) { event in
            results.append(event)
            return results.count <= query.limit
        }
        let more = results.count > query.limit
        if more { results.removeLast() }
        return QueryPage(
            events: results, nextCursor: more ? QueryCursor.encode(after: results.last!.seq, query: query) : nil)
    }

    /// Where a page of `query` starts: after its cursor's seq (nil for the first page), once its limit is checked.
    private func pageStart(_ query: Query) throws(AuditLogError) -> UInt64? {
        guard (1...10_000).contains(query.limit) else {
            throw AuditLogError(.invalidArgument, "limit must be between 1 and 10000")
        }
        return try query.cursor.map { (cursor) throws(AuditLogError) in try QueryCursor.decode(cursor, query: query) }
    }

    /// One page of the events matching `query`, appended to `out` by `encoder` straight from the records: the
    /// bytes ``events(matching:)`` and ``ExportEncoder/append(_:to:)`` give, without building the events (which,
    /// with encoding them again, cost more than finding them: `make compare`'s actor page). Returns how many
    /// events and the cursor of the next page.
    func appendPage(matching query: Query, encoder: inout ExportEncoder, to out: inout [UInt8])
        throws(AuditLogError) -> (events: Int, nextCursor: String?)
    {
        let after = try pageStart(query)
        let filter = RecordFilter(query)
        let hasher = self.hasher
        let directory = self.directory
        var buffer = self.page  // the engine's, kept between pages (a new one's pages fault in as it grows)
        self.page = ByteBuffer(capacity: 0)
        defer {
            buffer.removeAll()
            self.page = buffer
        }
        var count = 0
        var last: UInt64?
        var more = false
        try scan(
            query, after: after, byFrame: true,
            produce: { (seq, record) -> (seq: UInt64, record: UnsafeRawBufferPointer)? in
                filter.matches(record: record) ? (seq, record) : nil
            }
        ) { (item) throws(AuditLogError) -> Bool in
            guard count < query.limit else {
                more = true
                return false
            }
            do throws(DecodeFailure) {
                let fields = try RecordFields(item.record)
                encoder.append(fields, leafHash: RecordCodec.leafHash(of: item.record, using: hasher), to: &buffer)
            } catch {
                throw AuditLogError(.corrupt, "record \(item.seq): \(error.reason)", path: directory)
            }
            count += 1
            last = item.seq
            return true
        }
        buffer.withUnsafeBytes { out.append(contentsOf: $0) }
        return (count, more ? QueryCursor.encode(after: last!, query: query) : nil)
    }

    /// Calls `body` with every event matching `query` (its filters and order; limit and cursor are ignored)
    /// until `body` returns false, in constant memory.
    func forEach(matching query: Query, _ body: (StoredEvent) throws(AuditLogError) -> Bool)
        throws(AuditLogError)
    {
        try scan(query, after: nil, byFrame: false, body)
    }

    /// The event with sequence number `seq`.
    func event(seq: UInt64) throws(AuditLogError) -> StoredEvent {
        var found: StoredEvent?
        guard seq < UInt64.max else {
            throw AuditLogError(.invalidArgument, "seq \(seq) is not in the log", path: directory)
        }
        try RecordScan.forEachIndexed(in: directory, range: seq..<seq + 1) { (seq, record) throws(AuditLogError) in
            found = try decode(seq, record)
        }
        guard let found else { throw AuditLogError(.invalidArgument, "seq \(seq) is not in the log", path: directory) }
        return found
    }

    private func decode(_ seq: UInt64, _ record: UnsafeRawBufferPointer) throws(AuditLogError) -> StoredEvent {
        do throws(DecodeFailure) {
            return try RecordCodec.decode(record, into: StoredEvent.self, using: hasher)
        } catch {
            throw AuditLogError(.corrupt, "record \(seq): \(error.reason)", path: directory)
        }
    }

    private func scan(
        _ query: Query, after cursor: UInt64?, byFrame: Bool, _ body: (StoredEvent) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) {
        let filter = RecordFilter(query)
        let hasher = self.hasher
        let directory = self.directory
        try scan(
            query, after: cursor, byFrame: byFrame,
            produce: { (seq, record) throws(AuditLogError) -> StoredEvent? in
                // Compared as bytes first: only the events returned are checked, built and leaf-hashed.
                guard filter.matches(record: record) else { return nil }
                do throws(DecodeFailure) {
                    let fields = try RecordFields(record)
                    return StoredEvent(
                        seq: seq, leafHash: RecordCodec.leafHash(of: record, using: hasher), event: fields.event,
                        redaction: fields.redaction)
                } catch {
                    throw AuditLogError(.corrupt, "record \(seq): \(error.reason)", path: directory)
                }
            }, body)
    }

    /// The scan: `produce` turns each record that passes the index-level filters (time, actor hash, cursor) into
    /// what `body` receives, or nil to skip it, newest first or oldest first; records after the one where `body`
    /// stops are never decoded.
    func scan<T>(
        _ query: Query, after cursor: UInt64?, byFrame: Bool,
        produce: (UInt64, UnsafeRawBufferPointer) throws(AuditLogError) -> T?,
        _ body: (T) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) {
        try forEachBlock(query, after: cursor, byFrame: byFrame) { (payload, found) throws(AuditLogError) -> Bool in
            for (seq, bytes) in found {
                guard let item = try produce(seq, UnsafeRawBufferPointer(rebasing: payload[bytes])) else { continue }
                if try !body(item) { return false }
            }
            return true
        }
    }

    /// The block walk under every scan: for each block that can hold a match, in the query's order, `body` gets
    /// the block's payload and where in it lie the records that pass the index-level filters (time, actor hash,
    /// cursor, and the anchor values), in the query's order; nothing is decoded yet. The payload lives until
    /// `body` returns; `body` returns false to stop. `byFrame` (for a page, which often ends inside a block): a
    /// block of frames read whole is decoded and handed frame by frame, so that what follows the page's end is
    /// never decoded; otherwise (a walk to the end: exports) whole, in one batch.
    func forEachBlock(
        _ query: Query, after cursor: UInt64?, byFrame: Bool = false,
        _ body: (UnsafeRawBufferPointer, [(seq: UInt64, bytes: Range<Int>)]) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) {
        guard !query.isEmptyTimeRange else { return }
        let newest = query.order == .newestFirst
        // Wanted seqs lie strictly between `above` and `below`: the cursor bounds one side, `afterSeq` the low one.
        let below = newest ? cursor : nil
        let above = [newest ? nil : cursor, query.afterSeq].compactMap { $0 }.max()
        let lowest = above.map { $0 < .max ? $0 + 1 : .max } ?? 0
        let wanted = lowest..<max(lowest, below ?? .max)
        let (segments, settled) = try indexes.segments(in: directory)
        indexes.keep(only: segments)
        let order = newest ? Array(segments.indices.reversed()) : Array(segments.indices)
        let range = query.timeRange
        let actorHashes = Set(query.actorIDs.map(SegmentIndexFiles.actorHash))
        let probe = BlockFilter.Probe(query)
        let anchor = RecordFilter(query).anchor
        // The sealed segments' time ranges asked for ahead of the loop, in windows that grow (a page often ends in
        // the newest segment; a page of an old hour looks at every segment after it).
        var timesAsked = 0
        var timesWindow = 4
        for (position, i) in order.enumerated() {
            let segment = segments[i]
            if let below, segment.baseSeq >= below { continue }
            if let above, i + 1 < segments.count, segments[i + 1].baseSeq - 1 <= above { continue }
            let isLast = i == segments.count - 1
            if range != nil, !isLast, position >= timesAsked {
                timesAsked = min(order.count, position + timesWindow)
                timesWindow = min(4 * timesWindow, 64)
                indexes.willLearnTimes(
                    of: order[position..<timesAsked].filter { $0 != segments.count - 1 }.map { segments[$0] },
                    settled: settled)
            }
            if let range, !isLast, !indexes.sealedSegment(segment, mayHoldTimesIn: range, settled: settled) {
                continue
            }
            if !actorHashes.isEmpty, !isLast,
                indexes.sealedSegment(segment, holdsNoneOf: actorHashes, directory: directory, settled: settled)
            {
                continue
            }
            let index = try indexes.index(segment, isLast: isLast, directory: directory, settled: settled)
            if let range,
                index.blocks.isEmpty || index.maxTimestamp < range.lowerBound || index.minTimestamp > range.upperBound
            {
                continue
            }
            // The segment's file, opened when a block is first read: a query often reads none of a segment's
            // blocks (a rare actor's, a rare value's). Mapped for a page (reads at a few places, no system call);
            // for a scan, open for `pread`, which the kernel reads ahead of. Its size is taken once per segment, not
            // per block: a block the index names lies within the file as it is now.
            var opened: (file: SegmentFile, size: Int64)?
            func segmentFile() throws(AuditLogError) -> (file: SegmentFile, size: Int64) {
                if let opened { return opened }
                let file: SegmentFile
                if !byFrame, let scanned = index.openedFile() {
                    file = scanned
                    file.dictionaries = indexes.dictionaries
                } else if let mapped = index.mappedFile() {
                    file = mapped
                } else {
                    file = try SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq)
                    file.dictionaries = indexes.dictionaries
                }
                opened = (file, try file.source.size())
                return opened!
            }
            /// Where block `b` lies, and its length when the next block's offset says it.
            func place(_ b: Int) -> (info: BlockInfo, length: Int?) {
                let info = index.blocks[b]
                return (info, b + 1 < index.blocks.count ? Int(index.blocks[b + 1].offset - info.offset) : nil)
            }
            /// The frame cache and where block `b` (read, with `header`) lies for it, when the scan is a page's.
            func cache(_ b: Int, _ header: BlockHeader) -> (cache: FrameCache, block: FrameCache.Block)? {
                guard byFrame, let frameCache else { return nil }
                return (
                    frameCache,
                    FrameCache.Block(
                        inode: index.file.inode, changed: index.sealed ? index.file.changed : 0,
                        offset: index.blocks[b].offset, root: header.root)
                )
            }
            if !actorHashes.isEmpty {
                // Only this segment's records of the actors, block by block in the query's order.
                var stopped = false
                try forEachActorBlock(index, actorHashes, newest: newest, wanted: wanted) {
                    (b, inBlock) throws(AuditLogError) -> Bool in
                    let info = index.blocks[b]
                    if let range, info.maxTimestamp < range.lowerBound || info.minTimestamp > range.upperBound {
                        return true
                    }
                    if try !index.mayMatch(b, probe) { return true }
                    let entry = try index.entry(b)
                    // Where a record starts and ends in the payload (it starts where the one before it ends).
                    func start(_ seq: UInt64) -> Int {
                        let r = Int(seq - info.firstSeq)
                        return r == 0 ? 0 : Int(entry.recordEnd(r - 1))
                    }
                    func end(_ seq: UInt64) -> Int { Int(entry.recordEnd(Int(seq - info.firstSeq))) }
                    /// The payload bytes that `seqs` (in the query's order) lie in.
                    func bytes(_ seqs: ArraySlice<UInt64>) -> Range<Int> {
                        let (first, last) = newest ? (seqs.last!, seqs.first!) : (seqs.first!, seqs.last!)
                        return start(first)..<max(start(first), end(last))
                    }
                    let needed = bytes(inBlock[...])
                    let (file, fileSize) = try segmentFile()
                    let (header, table) = try read(place(b), in: file, fileSize: fileSize) {
                        BlockFrames.run(meeting: needed, of: $0)
                    }
                    // A block of frames is decoded frame by frame in the query's order, only the frames that hold
                    // wanted records, and only until the page is full: a busy actor's records are in most frames
                    // of a block, but a page often ends inside one. (A frame holds the records that start in one
                    // window of the payload.) A version 1 block is one stream: its records at once.
                    var k = inBlock.startIndex
                    while k < inBlock.endIndex {
                        var next = inBlock.endIndex
                        if header.compression == .frames {
                            let window = start(inBlock[k]) / BlockFrames.frameBytes
                            next = k + 1
                            while next < inBlock.endIndex && start(inBlock[next]) / BlockFrames.frameBytes == window {
                                next += 1
                            }
                        }
                        let seqs = inBlock[k..<next]
                        let found = try records(
                            of: header, in: file, offset: info.offset, seqs: seqs, needed: bytes(seqs), query: query,
                            anchor: anchor, cache: cache(b, header), table: table)
                        if try !hand(found, newest: newest, body) {
                            stopped = true
                            return false
                        }
                        k = next
                    }
                    return true
                }
                if stopped { return }
            } else {
                var blocks = range.map { index.blockIndexes(overlapping: $0) } ?? Array(index.blocks.indices)
                if newest { blocks.reverse() }
                // The blocks' `.idx` entries asked for ahead of the loop, in windows that grow (a page often ends
                // in its first blocks; a scan or a filter reads every entry).
                var entriesAsked = 0
                var window = 4
                for (position, b) in blocks.enumerated() {
                    let info = index.blocks[b]
                    if let below, info.firstSeq >= below { continue }
                    if let above, info.endSeq - 1 <= above { continue }
                    if position >= entriesAsked {
                        // A page without filters reads its first block whatever its entry says, and often the
                        // next one in its order (a page of 100 is half a block, and a time range's ends fall
                        // inside blocks): both are asked for with the entries, so that a disk whose pages the
                        // kernel dropped reads them all in one round instead of one block after the other.
                        if entriesAsked == 0, byFrame, probe.isEmpty {
                            let pair = [b] + blocks.dropFirst(position + 1).prefix(1).filter { abs($0 - b) == 1 }
                            let spans = pair.compactMap { b in
                                place(b).length.map { index.blocks[b].offset..<index.blocks[b].offset + Int64($0) }
                            }
                            if let low = spans.map(\.lowerBound).min(), let high = spans.map(\.upperBound).max() {
                                try segmentFile().file.source.willRead(low..<high)
                            }
                        }
                        entriesAsked = min(blocks.count, position + window)
                        index.willReadEntries(of: blocks[position..<entriesAsked])
                        window = min(4 * window, 1024)
                    }
                    if try !index.mayMatch(b, probe) { continue }
                    let entry = try index.entry(b)
                    // Frame by frame in the query's order (a page often ends inside a block), else the whole block;
                    // of a page's frames, only those holding a record that starts in a window where a match may.
                    let windows = entry.payloadRanges(mayMatching: probe)
                    if windows?.isEmpty == true { continue }
                    func mayHoldMatch(_ frame: BlockFrames.Frame) -> Bool {
                        guard let windows else { return true }
                        // Where the frame's records start: from its first byte to its last record's start.
                        let last =
                            frame.recordCount > 1
                            ? Int(entry.recordEnd(frame.firstRecord + frame.recordCount - 2))
                            : frame.uncompressed.lowerBound
                        let starts = frame.uncompressed.lowerBound..<max(frame.uncompressed.lowerBound, last) + 1
                        return windows.contains { $0.overlaps(starts) }
                    }
                    let (file, fileSize) = try segmentFile()
                    let got = try read(
                        place(b), in: file, fileSize: fileSize,
                        frames: byFrame && windows != nil
                            ? { table in
                                table.firstIndex(where: mayHoldMatch).map {
                                    ($0, table.lastIndex(where: mayHoldMatch)!)
                                }
                            } : nil)
                    let header = got.header
                    var table = got.table
                    if byFrame, table == nil { table = try frames(of: header, in: file, offset: info.offset) }
                    let parts: [BlockFrames.Frame?] = table.map { $0.map { Optional($0) } } ?? [nil]
                    for frame in newest ? parts.reversed() : parts {
                        if let frame, !mayHoldMatch(frame) { continue }
                        let found = try records(
                            of: header, in: file, offset: info.offset, seqs: nil, where: wanted.contains,
                            needed: frame?.uncompressed, query: query, anchor: anchor, cache: cache(b, header),
                            table: table)
                        if try !hand(found, newest: newest, body) { return }
                    }
                }
            }
        }
    }

    /// Calls `body` with each block of `index` that holds records of the actors whose ids hash to one of `hashes`,
    /// and those records' seqs in `wanted` (both in the query's order), until `body` returns false.
    /// From the actor index when the segment has one; otherwise (the active segment) from the block index's hashes,
    /// one block at a time, so that a page that fills in the newest blocks does not look at the others.
    private func forEachActorBlock(
        _ index: SegmentIndex, _ hashes: Set<UInt64>, newest: Bool, wanted: Range<UInt64>,
        _ body: (Int, [UInt64]) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) {
        let indexed = hashes.map { index.indexedSeqs(forActorHash: $0) }
        guard indexed.allSatisfy({ $0 != nil }) else {
            let order = newest ? Array(index.blocks.indices.reversed()) : Array(index.blocks.indices)
            var records: [Int] = []
            for b in order {
                records.removeAll(keepingCapacity: true)
                let entry = try index.entry(b)
                if hashes.count == 1 {
                    entry.records(withActorHash: hashes.first!, into: &records)
                } else {
                    entry.forEachActorHash { i, h in if hashes.contains(h) { records.append(i) } }
                }
                let first = index.blocks[b].firstSeq
                var inBlock = records.map { first + UInt64($0) }.filter(wanted.contains)
                if newest { inBlock.reverse() }
                if !inBlock.isEmpty, try !body(b, inBlock) { return }
            }
            return
        }
        // Ascending (one actor's list already is: a busy actor's is long, and a page reads only its end), its
        // wanted part found by binary search, then walked in the query's order.
        let seqs = indexed.count == 1 ? indexed[0]! : indexed.flatMap { $0! }.sorted()
        /// The position of the first seq at or above `seq`.
        func position(of seq: UInt64) -> Int {
            var (low, high) = (0, seqs.count)
            while low < high {
                let mid = (low + high) / 2
                if seqs[mid] < seq { low = mid + 1 } else { high = mid }
            }
            return low
        }
        // (An index file that checks yet is not sorted gives a wrong answer, never a range that does not hold.)
        let from = position(of: wanted.lowerBound)
        let part = from..<max(from, position(of: wanted.upperBound))
        let step = newest ? -1 : 1
        var at = newest ? part.upperBound - 1 : part.lowerBound
        var inBlock: [UInt64] = []
        while part.contains(at) {
            guard let b = index.blockIndex(containing: seqs[at]) else {
                at += step  // a hash entry for a record past the indexed blocks: nothing to read
                continue
            }
            let blockSeqs = index.blocks[b].firstSeq..<index.blocks[b].endSeq
            inBlock.removeAll(keepingCapacity: true)
            while part.contains(at) && blockSeqs.contains(seqs[at]) {
                inBlock.append(seqs[at])
                at += step
            }
            if try !body(b, inBlock) { return }
        }
    }

    /// Hands the records `records(of:…)` found to `body` with the payload, in the query's order. False when `body`
    /// stopped.
    private func hand(
        _ found: [(seq: UInt64, bytes: Range<Int>)], newest: Bool,
        _ body: (UnsafeRawBufferPointer, [(seq: UInt64, bytes: Range<Int>)]) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) -> Bool {
        guard !found.isEmpty else { return true }
        let payload = self.payload  // a reference: no access to the engine's own stays open while `body` runs
        return try payload.withUnsafeBytes { raw in
            Result { () throws(AuditLogError) -> Bool in try body(raw, newest ? found.reversed() : found) }
        }.get()
    }

    /// Reads the block at `place` into ``block`` and returns its header: one read when the index gives the block's
    /// length; otherwise (the last block, or bytes that are not the block it said) its header first, then the
    /// block, which says what is wrong. The whole block's checksum is checked, or for a block of frames, its
    /// header's (``records(of:in:offset:seqs:where:needed:query:anchor:)`` checks the frame table's and those of
    /// the frames it decodes). With `frames`, a block of frames is read in part: its table, then only the frames
    /// `frames` picks from it (``SegmentFile/readBlock(at:length:into:framesChecked:frames:)``); the caller must
    /// decode no other. Returns the frame table too when it was read and checked so.
    private func read(
        _ place: (info: BlockInfo, length: Int?), in file: SegmentFile, fileSize: Int64,
        frames: (([BlockFrames.Frame]) -> (first: Int, last: Int)?)? = nil
    ) throws(AuditLogError) -> (header: BlockHeader, table: [BlockFrames.Frame]?) {
        let info = place.info
        var table: [BlockFrames.Frame]?
        if let length = place.length,
            let whole = try file.readBlock(
                at: info.offset, length: length, into: &block, framesChecked: true,
                frames: frames.map { pick in
                    { read in
                        table = read
                        return pick(read)
                    }
                }),
            whole.firstSeq == info.firstSeq
        {
            return (whole, table)
        }
        return (try file.readBlock(indexed: info, fileSize: fileSize, into: &block), nil)
    }

    /// The frame table of the block just read (checked), or nil for other compressions (decoded whole).
    private func frames(of header: BlockHeader, in file: SegmentFile, offset: Int64)
        throws(AuditLogError) -> [BlockFrames.Frame]?
    {
        guard header.compression == .frames else { return nil }
        let start = BlockHeader.size + 32 * Int(header.frontierCount)
        do throws(DecodeFailure) {
            let frames = try block.withUnsafeBytes { raw in
                Result { () throws(DecodeFailure) in
                    try BlockFrames.table(
                        UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(header.storedLength)]), header,
                        offset: start)
                }
            }.get()
            return frames
        } catch {
            throw AuditLogError(
                .corrupt, "block at seq \(header.firstSeq): \(error.reason)", path: file.path, offset: offset)
        }
    }

    /// Where in the payload buffer the records of the block just read lie that can match `query` (only those in
    /// `seqs`, if given, only those `wanted` (on the cursor's side), and only what the payload's `needed` bytes
    /// hold, if given; records outside the time range, and with an `anchor` (``RecordFilter/anchor``) records
    /// holding none of its values, are left out), in seq order. Nothing is decoded yet. With a `cache`, frames it
    /// holds are copied from it and those decoded are kept there. `table`: the block's frame table, if the caller
    /// has it.
    private func records(
        of header: BlockHeader, in file: SegmentFile, offset: Int64, seqs: ArraySlice<UInt64>?,
        where wanted: (UInt64) -> Bool = { _ in true }, needed: Range<Int>?, query: Query, anchor: [[UInt8]],
        cache: (cache: FrameCache, block: FrameCache.Block)?, table: [BlockFrames.Frame]?
    ) throws(AuditLogError) -> [(seq: UInt64, bytes: Range<Int>)] {
        var out: [(seq: UInt64, bytes: Range<Int>)] = []
        let range = query.timeRange
        do throws(DecodeFailure) {
            let dictionary = try file.dictionary(for: header)
            let decoded = try dictionary.withUnsafeBytes { dictionary in
                Result { () throws(DecodeFailure) in
                    try BlockDecoder.decompress(
                        block, header, needed: needed, dictionary: dictionary, into: &payload, cache: cache,
                        table: table)
                }
            }.get()
            try payload.withUnsafeBytes { raw in
                Result { () throws(DecodeFailure) in
                    let payload = UnsafeRawBufferPointer(rebasing: raw[decoded.bytes])
                    ByteSearch.occurrences(of: anchor, in: payload, into: &hits)
                    var h = 0
                    try BlockDecoder.forEachRecord(
                        in: payload, header, firstSeq: decoded.firstSeq, endSeq: decoded.endSeq
                    ) { (seq, record) throws(DecodeFailure) in
                        let start = record.baseAddress! - raw.baseAddress!
                        let end = start + record.count
                        if !anchor.isEmpty {
                            // Only a record holding a whole occurrence can match (hits are offsets into the part).
                            let (from, to) = (start - decoded.bytes.lowerBound, end - decoded.bytes.lowerBound)
                            while h < hits.count && hits[h].lowerBound < from { h += 1 }
                            guard
                                hits[h...].prefix(while: { $0.lowerBound < to }).contains(where: { $0.upperBound <= to }
                                )
                            else { return }
                        }
                        if let seqs, !seqs.contains(seq) { return }  // a block's few: a scan beats hashing
                        guard wanted(seq) else { return }
                        if let range, !range.contains(RecordCodec.timestamp(of: record)) { return }
                        out.append((seq, start..<end))
                    }
                }
            }.get()
        } catch {
            throw AuditLogError(
                .corrupt, "block at seq \(header.firstSeq): \(error.reason)", path: file.path, offset: offset)
        }
        return out
    }
}
