import Synchronization

/// A checked view of one segment's indexes: its blocks with their seq and time ranges, and a way to find one
/// actor's records. Built from the index files when they are valid; what they lack (a lagging tail, or everything
/// when they are missing or damaged) is rebuilt from the segment's blocks.
///
/// The `.idx` stays memory-mapped: building the view checks every entry (layout, sequence, checksum) and keeps
/// each block's place and time range, but each record's actor hash and end, and each block's filter, are read
/// from the mapping when a query asks for them (copying them into arrays was 30% of a fresh reader's first query,
/// `perf` on a 10M-event log, where such a query touches every segment). A reader's view of a sealed segment is
/// lazier still: its blocks come from the block table of its `.aix` (``ActorIndexFile``), and each entry is
/// checked when a query first uses its block (checking them all was a quarter of a one-shot query at 10M).
final class SegmentIndex {
    let baseSeq: UInt64
    let path: String
    let blocks: [BlockInfo]
    /// Running maximum of `maxTimestamp` over `blocks`: non-decreasing, so binary-searchable even when
    /// timestamps arrive slightly out of order.
    private let prefixMaxTimestamp: [Int64]
    let sealed: Bool
    let minTimestamp: Int64
    let maxTimestamp: Int64
    /// The `.idx` and where in it each of the first `entryStarts.count` blocks' entry starts.
    private let indexFile: MappedFile?
    private let entryStarts: [Int]
    /// For the blocks after those (walked, not indexed): each record's actor hash and end in its block's
    /// uncompressed payload (from the first walked block's first seq on), and each block's filter.
    private let walkedActorHashes: [UInt64]
    private let walkedRecordEnds: [UInt32]
    private let walkedFilters: BlockFilter.Store
    /// Which of a lazy view's blocks' entries have been checked and hold (read on every block a query looks at,
    /// so without a lock); nil for a view whose entries were all checked as it was built.
    private let checkedEntries: AtomicBitSet?
    /// A lazy view's blocks whose entries failed their check, as computed from their records.
    private let rebuiltBlocks = Locked<[Int: RebuiltBlock]>([:])
    /// The sorted (hash, seq) pairs of a sealed segment, memory-mapped and checked when an actor query first asks
    /// (a time-range query never does), or for a view built from its block table, when the view is. Nil inside: no
    /// valid actor index.
    private let actorIndex: Locked<ActorIndexFile??>
    /// A view without an actor index (the active segment) that many actor lookups ask: how many asked, then each
    /// actor hash's seqs, built from the blocks' hashes once enough lookups have scanned them to pay for it (the
    /// active segment's view lives until the segment grows; a lookup then returns a stored list, not a new one).
    private let scannedActors = Locked<(lookups: Int, seqs: [UInt64: [UInt64]]?)>((0, nil))
    /// Lookups that scan every block's hashes before a view builds ``scannedActors``: building it costs about as much
    /// as fifty scans (1-2 ms for the ~170k records of the 1M demo log's active segment, against ~30 µs a scan), so a
    /// view that is soon replaced (a segment being written) seldom builds one.
    static let scansBeforeActorMap = 64
    /// The segment's file, memory-mapped when a query first reads it, then shared by the reader's queries
    /// (``mappedFile()``). Nil inside: not mapped.
    private let mapped = Locked<SegmentFile??>(nil)
    private let directory: String

    var endSeq: UInt64 { blocks.last?.endSeq ?? baseSeq }

    /// The segment file's identity when this view was built.
    let file: FileIdentity
    /// Whether the `.idx` file holds exactly the entries of this view's blocks (nothing damaged, missing or extra),
    /// so that ``encodedBlockIndex()`` would write the same bytes.
    let indexFileIsExact: Bool

    /// Builds the view of the segment at `path`. `lazy` (a reader's views): a sealed segment whose `.aix` has a block
    /// table (``ActorIndexFile``) takes its blocks from there and checks each block's `.idx` entry only when a query
    /// first asks for it (``entry(_:)``), instead of every entry now; ``indexFileIsExact`` is then false.
    /// `actorFile`: the segment's `.aix` as a reader opened it already (nil inside: it has none).
    init(directory: String, baseSeq: UInt64, path: String, lazy: Bool = false, actorFile opened: ActorIndexFile?? = nil)
        throws(AuditLogError)
    {
        self.baseSeq = baseSeq
        self.path = path
        // A reader's view asks for the segment's ends first, then reads the `.aix` (its block table): a cold
        // segment's header, dictionary, last block's header and footer come from the disk meanwhile.
        let source = try SegmentFile.source(path: path, whole: false)
        if lazy { SegmentFile.willReadEnds(of: source) }
        // A lazy view opens the `.aix` now (kept for actor lookups, whatever its version) for its block table.
        let actorFile = lazy ? opened ?? ActorIndexFile(directory: directory, baseSeq: baseSeq) : nil
        let file = try SegmentFile.open(source: source, baseSeq: baseSeq)
        if let fd = file.source as? FileDescriptor {
            self.file = try fd.identity()
        } else {
            guard let stub = LogFiles.identity(ofSegment: path) else {
                throw AuditLogError(.notFound, "the segment's stub vanished while it was read", path: path)
            }
            self.file = stub
        }
        var blocks: [BlockInfo] = []
        var starts: [Int] = []
        /// Whether every byte of the `.idx` was a valid entry.
        var wholeFileValid = false
        let table = actorFile?.blockTable
        var sealedIndex = table == nil ? nil : actorFile
        // Read at places (the entries queries ask for) when the `.aix` gave the table, else read through now.
        var mapped = MappedFile(
            path: SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: baseSeq),
            access: table == nil ? .whole : .atPlaces(part: Self.entriesReadAround))
        if let table {
            blocks = table.blocks
            starts = table.entryStarts
        } else if let bytes = mapped?.bytes {
            let validLength = SegmentIndexFiles.forEachEntry(bytes, baseSeq: baseSeq, checked: true) {
                entry, block, _ in
                blocks.append(block)
                starts.append(entry.lowerBound)
                return true
            }
            wholeFileValid = validLength == bytes.count
        }
        // Check that the last indexed block is really there, then walk whatever the index does not cover yet.
        var walker = try SegmentWalker(file: file, checking: .blocks)
        if let last = blocks.last {
            if case .block(let header) = try file.entry(at: last.offset, fileSize: walker.fileSize),
                header.firstSeq == last.firstSeq, Int(header.recordCount) == last.recordCount
            {
                walker = try SegmentWalker(
                    file: file, checking: .blocks, offset: last.offset + Int64(header.totalLength),
                    nextSeq: header.endSeq, blockCount: UInt32(blocks.count), lastRoot: header.root)
            } else {
                blocks = []
                starts = []
                mapped = nil
                sealedIndex = nil
                wholeFileValid = false
            }
        }
        let indexedBlocks = blocks.count
        var walked = Walked()
        var sealed = false
        var payload: [UInt8] = []
        walk: while true {
            switch try walker.next() {
            case .block(let header, let offset):
                do throws(DecodeFailure) {
                    try walked.add(header) { (body) throws(DecodeFailure) in
                        try walker.forEachRecord(header, payload: &payload, body)
                    }
                } catch {
                    throw AuditLogError(
                        .corrupt, "block at seq \(header.firstSeq): \(error.reason)", path: path, offset: offset)
                }
                blocks.append(
                    BlockInfo(
                        firstSeq: header.firstSeq, recordCount: Int(header.recordCount), offset: offset,
                        minTimestamp: header.minTimestamp, maxTimestamp: header.maxTimestamp))
            case .footer:
                sealed = true
                break walk
            case .end, .damaged:
                // Past the committed blocks: a block still being written, or damage that verify reports.
                break walk
            }
        }
        self.blocks = blocks
        self.sealed = sealed
        indexFile = indexedBlocks > 0 ? mapped : nil
        entryStarts = starts
        walkedActorHashes = walked.hashes
        walkedRecordEnds = walked.ends
        walkedFilters = walked.filters
        indexFileIsExact = sealedIndex == nil && wholeFileValid && blocks.count == indexedBlocks
        checkedEntries = sealedIndex != nil ? AtomicBitSet(count: indexedBlocks) : nil
        actorIndex = Locked(actorFile.map { .some($0) })
        var prefix: [Int64] = []
        prefix.reserveCapacity(blocks.count)
        var running = Int64.min
        var minimum = Int64.max
        for block in blocks {
            running = max(running, block.maxTimestamp)
            minimum = min(minimum, block.minTimestamp)
            prefix.append(running)
        }
        prefixMaxTimestamp = prefix
        minTimestamp = minimum
        maxTimestamp = running
        self.directory = directory
    }

    // MARK: What each block's entry holds

    /// Where block `b`'s per-record arrays lie: in the mapped `.idx` (the entry's start), in the walked arrays
    /// (the index of its first record there), or rebuilt from the block (an entry that failed its lazy check).
    fileprivate enum Place {
        case indexed(entry: Int)
        case walked(first: Int)
        case rebuilt(RebuiltBlock)
    }

    /// What a block's entry holds, computed from the block's records.
    fileprivate final class RebuiltBlock: Sendable {
        let actorHashes: [UInt64]
        let recordEnds: [UInt32]
        let filters: BlockFilter.Store

        init(actorHashes: [UInt64], recordEnds: [UInt32], filters: BlockFilter.Store) {
            self.actorHashes = actorHashes
            self.recordEnds = recordEnds
            self.filters = filters
        }
    }

    /// What the index holds of block `b` (its records' actor hashes and ends, its filters). In a lazy view, the
    /// block's `.idx` entry is checked the first time it is asked for (layout, checksum, and that it names the
    /// block the block table does), and if it fails, what it should hold is computed from the block's records
    /// (which can fail as reading the block would).
    func entry(_ b: Int) throws(AuditLogError) -> BlockEntry {
        guard b < entryStarts.count else {
            return BlockEntry(
                index: self, block: b,
                place: .walked(first: Int(blocks[b].firstSeq - blocks[entryStarts.count].firstSeq)))
        }
        let indexed = BlockEntry(index: self, block: b, place: .indexed(entry: entryStarts[b]))
        guard let checkedEntries, !checkedEntries.contains(b) else { return indexed }
        if let rebuilt = rebuiltBlocks.withLock({ $0[b] }) {
            return BlockEntry(index: self, block: b, place: .rebuilt(rebuilt))
        }
        // The entry's first read: the part of the `.idx` around it comes in with it (an actor's next blocks'
        // entries are often there).
        indexFile?.willRead(around: entryStarts[b]..<entryStarts[b] + 1)
        if let indexFile, entryHolds(b, in: indexFile.bytes) {
            checkedEntries.insert(b)
            return indexed
        }
        let rebuilt = try rebuild(b)
        rebuiltBlocks.withLock { $0[b] = rebuilt }
        return BlockEntry(index: self, block: b, place: .rebuilt(rebuilt))
    }

    /// What an entry's first check brings in of the `.idx` around it: about twenty entries.
    static let entriesReadAround = 64 << 10

    /// Asks the kernel to read, in one go, the `.idx` entries of `blocks` (a run of neighbours, in either order) that
    /// the file holds: the mapping is read at places (``MappedFile/Access/atPlaces``), so a loop over many blocks
    /// says which entries come next instead of faulting them in a page at a time.
    func willReadEntries(of blocks: ArraySlice<Int>) {
        guard let indexFile, let low = blocks.min(), low < entryStarts.count, let high = blocks.max() else { return }
        // The places come from the `.aix` or the `.idx` itself, checked as entries are read, not yet: a hint only.
        let end = high + 1 < entryStarts.count ? entryStarts[high + 1] : indexFile.bytes.count
        if entryStarts[low] < end { indexFile.willNeed(entryStarts[low]..<end) }
    }

    /// Whether block `b` may hold a record `probe` matches: ``BlockEntry/mayMatch(_:)`` of ``entry(_:)``, read
    /// straight from the `.idx` where the entry is checked already (a filtered query asks this of every block in its
    /// range: building each block's entry doubled the time of a page that finds nothing in a 10M-event log).
    @inline(__always)
    func mayMatch(_ b: Int, _ probe: BlockFilter.Probe) throws(AuditLogError) -> Bool {
        if probe.isEmpty { return true }
        if b < entryStarts.count, let bytes = indexFile?.bytes, checkedEntries?.contains(b) ?? true {
            return probe.mayMatch(
                Self.filters(ofEntryAt: entryStarts[b], in: bytes, recordCount: blocks[b].recordCount).block)
        }
        return try uncheckedMayMatch(b, probe)
    }

    @inline(never)
    private func uncheckedMayMatch(_ b: Int, _ probe: BlockFilter.Probe) throws(AuditLogError) -> Bool {
        try entry(b).mayMatch(probe)
    }

    /// The block filter and window filter of the `.idx` entry at `entry` in `bytes`, a checked entry of a block of
    /// `recordCount` records.
    @inline(__always)
    private static func filters(ofEntryAt entry: Int, in bytes: UnsafeRawBufferPointer, recordCount: Int) -> (
        block: UnsafeRawBufferPointer, windows: UnsafeRawBufferPointer
    ) {
        let size = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + 20, as: UInt16.self)))
        let windows = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + 22, as: UInt16.self)))
        let start = entry + SegmentIndexFiles.entryFixedSize + 12 * recordCount
        return (
            UnsafeRawBufferPointer(rebasing: bytes[start..<start + size]),
            UnsafeRawBufferPointer(rebasing: bytes[start + size..<start + size + windows])
        )
    }

    /// Whether the `.idx` entry the block table places block `b` at is whole and names that block.
    private func entryHolds(_ b: Int, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard entryStarts[b] < bytes.count else { return false }
        var found: BlockInfo?
        SegmentIndexFiles.forEachEntry(
            UnsafeRawBufferPointer(rebasing: bytes[entryStarts[b]...]), baseSeq: blocks[b].firstSeq, checked: true
        ) { _, block, _ in
            found = block
            return false
        }
        return found == blocks[b]
    }

    /// Block `b`'s actor hashes, record ends and filters, from its records.
    private func rebuild(_ b: Int) throws(AuditLogError) -> RebuiltBlock {
        let info = blocks[b]
        let file: SegmentFile
        if let mapped = mappedFile() {
            file = mapped
        } else {
            file = try SegmentFile.open(path: path, baseSeq: baseSeq)
        }
        var block: [UInt8] = []
        let header = try file.readBlock(indexed: info, fileSize: try file.source.size(), into: &block)
        var walked = Walked()
        do throws(DecodeFailure) {
            try walked.add(header) { (body) throws(DecodeFailure) in
                var payload: [UInt8] = []
                try BlockDecoder.forEachRecord(
                    inBlock: block, header, dictionary: try file.dictionary(for: header), payload: &payload, body)
            }
        } catch {
            throw AuditLogError(
                .corrupt, "block at seq \(info.firstSeq): \(error.reason)", path: path, offset: info.offset)
        }
        return RebuiltBlock(actorHashes: walked.hashes, recordEnds: walked.ends, filters: walked.filters)
    }

    /// The per-record arrays and filters of blocks read from the segment, as their `.idx` entries would hold them.
    private struct Walked {
        var hashes: [UInt64] = []
        var ends: [UInt32] = []
        var filters = BlockFilter.Store()
        private var filter = BlockFilter.Builder()
        private var filterBytes: [UInt8] = []

        /// Adds a block, whose records `forEachRecord` hands over in seq order.
        mutating func add(
            _ header: BlockHeader,
            records forEachRecord: ((UInt64, UnsafeRawBufferPointer) throws(DecodeFailure) -> Void)
                throws(DecodeFailure)
                -> Void
        ) throws(DecodeFailure) {
            var end: UInt32 = 0
            try forEachRecord { (_, record) throws(DecodeFailure) in
                hashes.append(SegmentIndexFiles.indexRecord(record, start: Int(end), filter: &filter))
                end += UInt32(varintSize(UInt64(record.count)) + record.count)
                ends.append(end)
            }
            filterBytes.removeAll(keepingCapacity: true)
            let sizes = filter.finish(into: &filterBytes)
            filters.append(filterBytes, windows: sizes.windows)
        }
    }

    /// The segment file, memory-mapped (``MappedSegmentBytes``), when it is still the file this view was built
    /// from; nil otherwise (an evicted segment, a replaced one, the active one written to since, or no guarded
    /// copies here): the caller opens it for `pread`. A view lives while its file does not change (the active
    /// segment's, while it does not grow), and so does its mapping: queries read its blocks without a system call.
    /// The mapping covers the file as it was when mapped, which holds every block of the view.
    func mappedFile() -> SegmentFile? {
        mapped.withLock { mapped in
            if mapped == nil {
                mapped = .some(
                    (try? FileDescriptor.openForReading(path)).flatMap { MappedSegmentBytes($0, path: path) }
                        .flatMap { $0.file == file ? try? SegmentFile.open(source: $0) : nil }
                        .flatMap { $0.header.baseSeq == baseSeq ? $0 : nil })
            }
            return mapped!
        }
    }

    /// The segment file open for `pread`, when it is still the file this view was built from; nil otherwise. For a
    /// scan that reads the file through (an export): the kernel reads ahead of sequential reads, which it does not
    /// for the mapping (``MappedFile/Access/atPlaces``).
    func openedFile() -> SegmentFile? {
        guard let fd = try? FileDescriptor.openForReading(path), (try? fd.identity()) == file,
            let opened = try? SegmentFile.open(source: fd), opened.header.baseSeq == baseSeq
        else { return nil }
        return opened
    }

    /// The actor hash of every record, in seq order.
    func actorHashes() throws(AuditLogError) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(Int(endSeq - baseSeq))
        for b in blocks.indices { try entry(b).forEachActorHash { _, hash in out.append(hash) } }
        return out
    }

    /// The `.idx` bytes that describe this segment exactly.
    func encodedBlockIndex() throws(AuditLogError) -> [UInt8] {
        var out: [UInt8] = []
        for (b, block) in blocks.enumerated() {
            let entry = try entry(b)
            var hashes: [UInt64] = []
            entry.forEachActorHash { _, hash in hashes.append(hash) }
            let ends = (0..<block.recordCount).map { entry.recordEnd($0) }
            entry.withFilters { filter, windows in
                SegmentIndexFiles.appendEntry(
                    block, actorHashes: hashes[...], recordEnds: ends[...],
                    filters: UnsafeRawBufferPointer(
                        start: filter.baseAddress ?? windows.baseAddress, count: filter.count + windows.count),
                    windowFilterSize: windows.count, to: &out)
            }
        }
        return out
    }

    /// The `.aix` bytes of this segment, with the block table of its `.idx` as the file is now (none if its
    /// entries do not describe this segment's blocks): write the `.idx` first.
    func encodedActorIndex() throws(AuditLogError) -> [UInt8] {
        let hashes = try actorHashes()
        let blockIndex = MappedFile(path: SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: baseSeq))
        return withExtendedLifetime(blockIndex) {
            ActorIndexFile.encode(baseSeq: baseSeq, actorHashes: hashes, blockIndex: blockIndex?.bytes)
        }
    }

    /// Seqs of the records whose actor id hashes to `hash`, ascending (a superset of the actor's records), from the
    /// actor index; nil when the segment has none (the active segment, or a missing or damaged `.aix`): then
    /// ``BlockEntry/forEachActorHash(_:)`` has them block by block.
    func indexedSeqs(forActorHash hash: UInt64) -> [UInt64]? {
        let actorIndex = self.actorIndex.withLock { checked in
            if checked == nil {
                checked = sealed ? ActorIndexFile(directory: directory, baseSeq: baseSeq) : nil
            }
            return checked!
        }
        guard let actorIndex, actorIndex.count == Int(endSeq - baseSeq) else { return scannedSeqs(forActorHash: hash) }
        return actorIndex.seqs(forActorHash: hash)
    }

    /// For a view without a valid actor index: the seqs of `hash` from the map of the blocks' hashes, once
    /// ``scansBeforeActorMap`` lookups have asked this view (nil before: the caller scans the blocks).
    private func scannedSeqs(forActorHash hash: UInt64) -> [UInt64]? {
        let (lookups, map) = scannedActors.withLock { state in
            state.lookups += 1
            return state
        }
        if let map { return map[hash] ?? [] }
        guard lookups == Self.scansBeforeActorMap, let hashes = try? actorHashes() else { return nil }
        var built: [UInt64: [UInt64]] = [:]
        for (i, h) in hashes.enumerated() { built[h, default: []].append(baseSeq + UInt64(i)) }
        scannedActors.withLock { $0.seqs = built }
        return built[hash] ?? []
    }

    /// Index in `blocks` of the block holding `seq`.
    func blockIndex(containing seq: UInt64) -> Int? {
        var low = 0
        var high = blocks.count
        while low < high {
            let mid = (low + high) / 2
            if blocks[mid].endSeq <= seq { low = mid + 1 } else { high = mid }
        }
        return low < blocks.count && blocks[low].firstSeq <= seq ? low : nil
    }

    /// Indexes in `blocks` of the blocks whose time range meets `range`, ascending. Binary search finds the
    /// first block that can reach `range.lowerBound`; blocks are then filtered by their own ranges.
    func blockIndexes(overlapping range: ClosedRange<Int64>) -> [Int] {
        var low = 0
        var high = blocks.count
        while low < high {
            let mid = (low + high) / 2
            if prefixMaxTimestamp[mid] < range.lowerBound { low = mid + 1 } else { high = mid }
        }
        return (low..<blocks.count).filter {
            blocks[$0].minTimestamp <= range.upperBound && blocks[$0].maxTimestamp >= range.lowerBound
        }
    }

    /// What the index holds of one block (``entry(_:)``): its records' actor hashes and where they end in the
    /// uncompressed payload, and its filters.
    struct BlockEntry {
        fileprivate let index: SegmentIndex
        let block: Int
        fileprivate let place: Place

        private var recordCount: Int { index.blocks[block].recordCount }

        /// Calls `body` with the actor hash of each record, in seq order.
        func forEachActorHash(_ body: (_ record: Int, _ hash: UInt64) -> Void) {
            switch place {
            case .indexed(let entry):
                let bytes = index.indexFile!.bytes
                let start = entry + SegmentIndexFiles.entryFixedSize
                for i in 0..<recordCount {
                    body(i, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start + 8 * i, as: UInt64.self)))
                }
            case .walked(let first):
                for i in 0..<recordCount { body(i, index.walkedActorHashes[first + i]) }
            case .rebuilt(let rebuilt):
                for (i, hash) in rebuilt.actorHashes.enumerated() { body(i, hash) }
            }
        }

        /// Appends to `out` the records (numbered from 0) whose actor hash is `hash`, in seq order: four hashes
        /// compared at a time (the active segment has no actor index: a rare actor's query looks at every hash).
        func records(withActorHash hash: UInt64, into out: inout [Int]) {
            let count = recordCount
            func scan(_ hashes: UnsafeRawPointer) {
                let wanted = SIMD4<UInt64>(repeating: hash.littleEndian)
                var i = 0
                while i + 4 <= count {
                    if any(hashes.loadUnaligned(fromByteOffset: 8 * i, as: SIMD4<UInt64>.self) .== wanted) {
                        for k in i..<i + 4
                        where hashes.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self) == wanted[0] {
                            out.append(k)
                        }
                    }
                    i += 4
                }
                for k in i..<count where hashes.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self) == wanted[0] {
                    out.append(k)
                }
            }
            switch place {
            case .indexed(let entry):
                scan(index.indexFile!.bytes.baseAddress! + entry + SegmentIndexFiles.entryFixedSize)
            case .walked(let first):
                index.walkedActorHashes.withUnsafeBytes { scan($0.baseAddress! + 8 * first) }
            case .rebuilt(let rebuilt):
                rebuilt.actorHashes.withUnsafeBytes { scan($0.baseAddress!) }
            }
        }

        /// Where record `i` (from 0) ends in the block's uncompressed payload.
        func recordEnd(_ i: Int) -> UInt32 {
            switch place {
            case .indexed(let entry):
                UInt32(
                    littleEndian: index.indexFile!.bytes.loadUnaligned(
                        fromByteOffset: entry + SegmentIndexFiles.entryFixedSize + 8 * recordCount + 4 * i,
                        as: UInt32.self))
            case .walked(let first): index.walkedRecordEnds[first + i]
            case .rebuilt(let rebuilt): rebuilt.recordEnds[i]
            }
        }

        /// Calls `body` with the block filter and the window filter (each empty when the block has none).
        func withFilters<R>(_ body: (_ block: UnsafeRawBufferPointer, _ windows: UnsafeRawBufferPointer) -> R) -> R {
            switch place {
            case .indexed(let entry):
                let filters = SegmentIndex.filters(
                    ofEntryAt: entry, in: index.indexFile!.bytes, recordCount: recordCount)
                return body(filters.block, filters.windows)
            case .walked: return index.walkedFilters.withFilters(block - index.entryStarts.count, body)
            case .rebuilt(let rebuilt): return rebuilt.filters.withFilters(0, body)
            }
        }

        /// Whether the block may hold a record `probe` matches.
        func mayMatch(_ probe: BlockFilter.Probe) -> Bool {
            probe.isEmpty || withFilters { block, _ in probe.mayMatch(block) }
        }

        /// The parts of the block's uncompressed payload where a record `probe` matches may start, from its window
        /// filter (4 KiB windows); nil when it may start anywhere (no window filter, or no field it holds probed).
        func payloadRanges(mayMatching probe: BlockFilter.Probe) -> [Range<Int>]? {
            guard !probe.isEmpty else { return nil }
            let length = Int(recordEnd(recordCount - 1))
            return withFilters { _, windows in
                probe.windows(windows, count: (length + BlockFilter.windowSize - 1) / BlockFilter.windowSize)
            }
        }
    }
}
