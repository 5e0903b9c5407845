/// A checked, in-memory view of one segment's indexes: its blocks with their seq and time ranges, and a way to
/// find one actor's records. Built from the index files when they are valid; what they lack (a lagging tail, or
/// everything when they are missing or damaged) is rebuilt from the segment's blocks.
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
    /// Actor hash of every record (index = seq - baseSeq), for segments without a valid sorted actor index.
    let actorHashes: [UInt64]
    /// Where each record ends in its block's uncompressed payload (index = seq - baseSeq).
    let recordEnds: [UInt32]
    /// Each block's filter of the values its records carry (index = block number).
    let filters: BlockFilter.Store
    /// The sorted (hash, seq) pairs of a sealed segment, memory-mapped.
    private let actorIndex: MappedFile?

    var endSeq: UInt64 { blocks.last?.endSeq ?? baseSeq }

    /// The `.idx` bytes that describe this segment exactly.
    func encodedBlockIndex() -> [UInt8] {
        var out: [UInt8] = []
        for (number, block) in blocks.enumerated() {
            let start = Int(block.firstSeq - baseSeq)
            let records = start..<start + block.recordCount
            filters.withFilter(number) { filter in
                SegmentIndexFiles.appendEntry(
                    block, actorHashes: actorHashes[records], recordEnds: recordEnds[records], filter: filter, to: &out)
            }
        }
        return out
    }

    /// The `.aix` bytes of this segment.
    func encodedActorIndex() -> [UInt8] {
        SegmentIndexFiles.encodeActorIndex(baseSeq: baseSeq, actorHashes: actorHashes)
    }

    /// The segment file's inode when this view was built.
    let inode: UInt64
    /// Whether the `.idx` file holds exactly the entries of this view's blocks (nothing damaged, missing or extra),
    /// so that ``encodedBlockIndex()`` would write the same bytes.
    let indexFileIsExact: Bool

    init(directory: String, baseSeq: UInt64, path: String) throws(AuditLogError) {
        self.baseSeq = baseSeq
        self.path = path
        let file = try SegmentFile.open(path: path, baseSeq: baseSeq)
        if let fd = file.source as? FileDescriptor {
            inode = try fd.inode()
        } else {
            guard let stub = LogFiles.inode(ofSegment: path) else {
                throw AuditLogError(.notFound, "the segment's stub vanished while it was read", path: path)
            }
            inode = stub
        }
        var blocks: [BlockInfo] = []
        var hashes: [UInt64] = []
        var ends: [UInt32] = []
        var filters = BlockFilter.Store()
        /// Whether every byte of the `.idx` was a valid entry.
        var wholeFileValid = false
        if let mapped = MappedFile(path: SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: baseSeq)) {
            let parsed = SegmentIndexFiles.parseEntries(mapped.bytes, baseSeq: baseSeq)
            (blocks, hashes, ends, filters) = (parsed.blocks, parsed.actorHashes, parsed.recordEnds, parsed.filters)
            wholeFileValid = parsed.validLength == mapped.bytes.count
        }
        let indexedBlocks = blocks.count
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
                hashes = []
                ends = []
                filters = BlockFilter.Store()
                wholeFileValid = false
            }
        }
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
                        hashes.append(SegmentIndexFiles.indexRecord(record, filter: &filter))
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
                _ = filter.finish(into: &filterBytes)
                filters.append(filterBytes)
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
        indexFileIsExact = wholeFileValid && blocks.count == indexedBlocks
        var prefix: [Int64] = []
        prefix.reserveCapacity(blocks.count)
        var running = Int64.min
        for block in blocks {
            running = max(running, block.maxTimestamp)
            prefix.append(running)
        }
        prefixMaxTimestamp = prefix
        minTimestamp = blocks.map(\.minTimestamp).min() ?? .max
        maxTimestamp = running
        actorHashes = hashes
        recordEnds = ends
        self.filters = filters
        let count = blocks.last.map { Int($0.endSeq - baseSeq) } ?? 0
        actorIndex = sealed ? Self.checkedActorIndex(directory: directory, baseSeq: baseSeq, count: count) : nil
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

    /// Seqs of the records whose actor id hashes to `hash`, ascending (a superset of the actor's records).
    func seqs(forActorHash hash: UInt64) -> [UInt64] {
        guard let actorIndex else {
            var result: [UInt64] = []
            for (i, h) in actorHashes.enumerated() where h == hash { result.append(baseSeq + UInt64(i)) }
            return result
        }
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
