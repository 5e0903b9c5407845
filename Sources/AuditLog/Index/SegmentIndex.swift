/// A checked view of one segment's indexes: its blocks with their seq and time ranges, and a way to find one
/// actor's records. Built from the index files when they are valid; what they lack (a lagging tail, or everything
/// when they are missing or damaged) is rebuilt from the segment's blocks.
///
/// The `.idx` stays memory-mapped: building the view checks every entry (layout, sequence, checksum) and keeps
/// each block's place and time range, but each record's actor hash and end, and each block's filter, are read
/// from the mapping when a query asks for them (copying them into arrays was 30% of a fresh reader's first query,
/// `perf` on a 10M-event log, where such a query touches every segment).
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
    /// The sorted (hash, seq) pairs of a sealed segment, memory-mapped and checked when an actor query first asks
    /// (a time-range query never does; checking the whole file was half of building a view). Nil inside: no valid
    /// actor index.
    private let actorIndex = Locked<MappedFile??>(nil)
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

    init(directory: String, baseSeq: UInt64, path: String) throws(AuditLogError) {
        self.baseSeq = baseSeq
        self.path = path
        let file = try SegmentFile.open(path: path, baseSeq: baseSeq)
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
        var mapped = MappedFile(path: SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: baseSeq))
        if let bytes = mapped?.bytes {
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
                wholeFileValid = false
            }
        }
        let indexedBlocks = blocks.count
        var hashes: [UInt64] = []
        var ends: [UInt32] = []
        var filters = BlockFilter.Store()
        var sealed = false
        var payload: [UInt8] = []
        var filter = BlockFilter.Builder()
        var filterBytes: [UInt8] = []
        walk: while true {
            switch try walker.next() {
            case .block(let header, let offset):
                var end: UInt32 = 0
                do throws(DecodeFailure) {
                    try walker.forEachRecord(header, payload: &payload) { (_, record) throws(DecodeFailure) in
                        hashes.append(SegmentIndexFiles.indexRecord(record, start: Int(end), filter: &filter))
                        end += UInt32(varintSize(UInt64(record.count)) + record.count)
                        ends.append(end)
                    }
                } catch {
                    throw AuditLogError(
                        .corrupt, "block at seq \(header.firstSeq): \(error.reason)", path: path, offset: offset)
                }
                blocks.append(
                    BlockInfo(
                        firstSeq: header.firstSeq, recordCount: Int(header.recordCount), offset: offset,
                        minTimestamp: header.minTimestamp, maxTimestamp: header.maxTimestamp))
                filterBytes.removeAll(keepingCapacity: true)
                let sizes = filter.finish(into: &filterBytes)
                filters.append(filterBytes, windows: sizes.windows)
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
        walkedActorHashes = hashes
        walkedRecordEnds = ends
        walkedFilters = filters
        indexFileIsExact = wholeFileValid && blocks.count == indexedBlocks
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

    /// Where block `b`'s per-record arrays lie: in the mapped `.idx` (the entry's start) or in the walked arrays
    /// (the index of its first record there).
    private enum Place {
        case indexed(entry: Int)
        case walked(first: Int)
    }

    private func place(_ b: Int) -> Place {
        b < entryStarts.count
            ? .indexed(entry: entryStarts[b])
            : .walked(first: Int(blocks[b].firstSeq - blocks[entryStarts.count].firstSeq))
    }

    /// Calls `body` with the actor hash of each record of block `b`, in seq order.
    func forEachActorHash(block b: Int, _ body: (_ record: Int, _ hash: UInt64) -> Void) {
        let count = blocks[b].recordCount
        switch place(b) {
        case .indexed(let entry):
            let bytes = indexFile!.bytes
            let start = entry + SegmentIndexFiles.entryFixedSize
            for i in 0..<count {
                body(i, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start + 8 * i, as: UInt64.self)))
            }
        case .walked(let first):
            for i in 0..<count { body(i, walkedActorHashes[first + i]) }
        }
    }

    /// Appends to `out` the records (numbered in block `b` from 0) whose actor hash is `hash`, in seq order: four
    /// hashes compared at a time (the active segment has no actor index: a rare actor's query looks at every hash).
    func records(inBlock b: Int, withActorHash hash: UInt64, into out: inout [Int]) {
        let count = blocks[b].recordCount
        func scan(_ hashes: UnsafeRawPointer) {
            let wanted = SIMD4<UInt64>(repeating: hash.littleEndian)
            var i = 0
            while i + 4 <= count {
                if any(hashes.loadUnaligned(fromByteOffset: 8 * i, as: SIMD4<UInt64>.self) .== wanted) {
                    for k in i..<i + 4 where hashes.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self) == wanted[0] {
                        out.append(k)
                    }
                }
                i += 4
            }
            for k in i..<count where hashes.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self) == wanted[0] {
                out.append(k)
            }
        }
        switch place(b) {
        case .indexed(let entry):
            scan(indexFile!.bytes.baseAddress! + entry + SegmentIndexFiles.entryFixedSize)
        case .walked(let first):
            walkedActorHashes.withUnsafeBytes { scan($0.baseAddress! + 8 * first) }
        }
    }

    /// Where record `i` (from 0) of block `b` ends in the block's uncompressed payload.
    func recordEnd(block b: Int, record i: Int) -> UInt32 {
        switch place(b) {
        case .indexed(let entry):
            UInt32(
                littleEndian: indexFile!.bytes.loadUnaligned(
                    fromByteOffset: entry + SegmentIndexFiles.entryFixedSize + 8 * blocks[b].recordCount + 4 * i,
                    as: UInt32.self))
        case .walked(let first): walkedRecordEnds[first + i]
        }
    }

    /// Calls `body` with block `b`'s block filter and window filter (each empty when it has none).
    func withFilters<R>(_ b: Int, _ body: (_ block: UnsafeRawBufferPointer, _ windows: UnsafeRawBufferPointer) -> R)
        -> R
    {
        switch place(b) {
        case .indexed(let entry):
            let bytes = indexFile!.bytes
            let size = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + 20, as: UInt16.self)))
            let windows = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: entry + 22, as: UInt16.self)))
            let start = entry + SegmentIndexFiles.entryFixedSize + 12 * blocks[b].recordCount
            return body(
                UnsafeRawBufferPointer(rebasing: bytes[start..<start + size]),
                UnsafeRawBufferPointer(rebasing: bytes[start + size..<start + size + windows]))
        case .walked: return walkedFilters.withFilters(b - entryStarts.count, body)
        }
    }

    /// Whether block `b` may hold a record `probe` matches.
    func mayMatch(_ b: Int, _ probe: BlockFilter.Probe) -> Bool {
        probe.isEmpty || withFilters(b) { block, _ in probe.mayMatch(block) }
    }

    /// The parts of block `b`'s uncompressed payload where a record `probe` matches may start, from its window
    /// filter (4 KiB windows); nil when it may start anywhere (no window filter, or no field it holds probed).
    func payloadRanges(mayMatching probe: BlockFilter.Probe, block b: Int) -> [Range<Int>]? {
        guard !probe.isEmpty else { return nil }
        let length = Int(recordEnd(block: b, record: blocks[b].recordCount - 1))
        return withFilters(b) { _, windows in
            probe.windows(windows, count: (length + BlockFilter.windowSize - 1) / BlockFilter.windowSize)
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

    /// The actor hash of every record, in seq order.
    func actorHashes() -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(Int(endSeq - baseSeq))
        for b in blocks.indices { forEachActorHash(block: b) { _, hash in out.append(hash) } }
        return out
    }

    /// The `.idx` bytes that describe this segment exactly.
    func encodedBlockIndex() -> [UInt8] {
        var out: [UInt8] = []
        for (b, block) in blocks.enumerated() {
            var hashes: [UInt64] = []
            forEachActorHash(block: b) { _, hash in hashes.append(hash) }
            let ends = (0..<block.recordCount).map { recordEnd(block: b, record: $0) }
            withFilters(b) { filter, windows in
                SegmentIndexFiles.appendEntry(
                    block, actorHashes: hashes[...], recordEnds: ends[...],
                    filters: UnsafeRawBufferPointer(
                        start: filter.baseAddress ?? windows.baseAddress, count: filter.count + windows.count),
                    windowFilterSize: windows.count, to: &out)
            }
        }
        return out
    }

    /// The `.aix` bytes of this segment.
    func encodedActorIndex() -> [UInt8] {
        SegmentIndexFiles.encodeActorIndex(baseSeq: baseSeq, actorHashes: actorHashes())
    }

    /// The sorted actor index if its header and checksum match this segment.
    private static func checkedActorIndex(directory: String, baseSeq: UInt64, count: Int) -> MappedFile? {
        guard let mapped = MappedFile(path: SegmentIndexFiles.actorIndexPath(directory: directory, baseSeq: baseSeq))
        else {
            return nil
        }
        let b = mapped.bytes
        let header = SegmentIndexFiles.actorIndexHeaderSize
        guard b.count == header + 16 * count, b.starts(with: SegmentIndexFiles.actorIndexMagic),
            UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt16.self)) == 1,
            UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) == baseSeq,
            UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self)) == UInt64(count),
            UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
                == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[header...]))
        else { return nil }
        return mapped
    }

    /// Seqs of the records whose actor id hashes to `hash`, ascending (a superset of the actor's records), from the
    /// actor index; nil when the segment has none (the active segment, or a missing or damaged `.aix`): then
    /// ``forEachActorHash(block:_:)`` has them block by block.
    func indexedSeqs(forActorHash hash: UInt64) -> [UInt64]? {
        let actorIndex = self.actorIndex.withLock { checked in
            if checked == nil {
                checked =
                    sealed
                    ? Self.checkedActorIndex(directory: directory, baseSeq: baseSeq, count: Int(endSeq - baseSeq)) : nil
            }
            return checked!
        }
        guard let actorIndex else { return nil }
        let b = actorIndex.bytes
        let header = SegmentIndexFiles.actorIndexHeaderSize
        let count = (b.count - header) / 16
        func key(_ i: Int) -> UInt64 {
            UInt64(littleEndian: b.loadUnaligned(fromByteOffset: header + 16 * i, as: UInt64.self))
        }
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if key(mid) < hash { low = mid + 1 } else { high = mid }
        }
        var result: [UInt64] = []
        var i = low
        while i < count && key(i) == hash {
            result.append(UInt64(littleEndian: b.loadUnaligned(fromByteOffset: header + 16 * i + 8, as: UInt64.self)))
            i += 1
        }
        return result
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
}
