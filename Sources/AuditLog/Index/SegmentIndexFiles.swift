/// The on-disk indexes of a segment (FORMAT.md, "Indexes"): derived data, never trusted without checks and
/// never read by verification.
///
/// - `NNN.idx`: one entry per block, appended by the writer after each commit: where the block is, its seqs and
///   time range, a 64-bit hash of each record's actor id, and filters of the other values its records carry (in
///   the block, and in each 4 KiB window of its payload).
/// - `NNN.aix`: written when the segment is sealed: the segment's block table, then every (actor hash, seq) pair
///   sorted, for binary search, in checksummed chunks (``ActorIndexFile``).
enum SegmentIndexFiles {
    static let blockIndexExtension = ".idx"
    static let actorIndexExtension = ".aix"
    static let entryFixedSize = 48

    static func blockIndexPath(directory: String, baseSeq: UInt64) -> String {
        LogFiles.path(directory, LogFiles.name(baseSeq, blockIndexExtension))
    }

    static func actorIndexPath(directory: String, baseSeq: UInt64) -> String {
        LogFiles.path(directory, LogFiles.name(baseSeq, actorIndexExtension))
    }

    /// FNV-1a, 64 bits, of the actor id's UTF-8 bytes (FORMAT.md, "Indexes"). Collisions only cost extra reads:
    /// every candidate record is decoded and compared.
    @inline(__always)
    static func actorHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 { FNV1a.hash(bytes) }

    static func actorHash(_ id: String) -> UInt64 { FNV1a.hash(id) }

    /// The actor id bytes of a record, read without decoding the record (FORMAT.md, "Record": id, then actor.id).
    static func actorID(ofRecord record: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var r = ByteReader(record, position: RecordCodec.variablePartOffset(record))
        guard let idLength = try? r.readVarint("id"), idLength <= UInt64(r.remaining),
            (try? r.readBytes(Int(idLength), "id")) != nil, let actorLength = try? r.readVarint("actor.id"),
            actorLength <= UInt64(r.remaining)
        else { return nil }
        return try? r.readBytes(Int(actorLength), "actor.id")
    }

    /// Adds a record's values to its block's filters (the record starts at `start` in the block's uncompressed
    /// payload) and returns its actor hash: what the block index keeps of each record. A record that does not read
    /// (a damaged block verify reports) gets actor hash 0 and leaves its block without filters.
    static func indexRecord(_ record: UnsafeRawBufferPointer, start: Int, filter: inout BlockFilter.Builder)
        -> UInt64
    {
        // Text is not checked for UTF-8 here: only hashed. Readers check every record they return.
        guard let fields = try? RecordFields(record, checked: false) else {
            filter.addUnreadable()
            return 0
        }
        filter.add(fields, window: start / BlockFilter.windowSize)
        return actorHash(fields.actorID)
    }

    /// Appends the `.idx` entry of one block: its place, seqs and time range, then for each record its actor
    /// hash, then for each record where it ends in the uncompressed payload, then the block's `filters` (see
    /// ``BlockFilter``): its block filter then its window filter of `windowFilterSize` bytes (each empty for none).
    static func appendEntry(
        _ block: BlockInfo, actorHashes: ArraySlice<UInt64>, recordEnds: ArraySlice<UInt32>,
        filters: UnsafeRawBufferPointer, windowFilterSize: Int, to out: inout [UInt8]
    ) {
        let start = out.count
        out.appendLittleEndian(UInt32(entryFixedSize + 12 * actorHashes.count + filters.count))
        out.appendLittleEndian(UInt32(0))  // checksum, filled in below
        out.appendLittleEndian(block.firstSeq)
        out.appendLittleEndian(UInt32(block.recordCount))
        out.appendLittleEndian(UInt16(filters.count - windowFilterSize))
        out.appendLittleEndian(UInt16(windowFilterSize))
        out.appendLittleEndian(UInt64(block.offset))
        out.appendLittleEndian(block.minTimestamp)
        out.appendLittleEndian(block.maxTimestamp)
        for hash in actorHashes { out.appendLittleEndian(hash) }
        for end in recordEnds { out.appendLittleEndian(end) }
        out.append(contentsOf: filters)
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start + 8..<$0.count])) }
        out.storeLittleEndian(crc, at: start + 4)
    }

    /// The one walk over `.idx` entries: from the start of `bytes`, each entry that is whole, is laid out as its
    /// record count and filter sizes say, and continues the one before from `baseSeq` (the next first seq, a
    /// non-empty block, a later offset), and when `checked` also passes its checksum; it stops at the first that
    /// does not, or when `body` returns false. Returns where it stopped.
    @discardableResult
    static func forEachEntry(
        _ bytes: UnsafeRawBufferPointer, baseSeq: UInt64, checked: Bool,
        _ body: (_ entry: Range<Int>, _ block: BlockInfo, _ filterSizes: (block: Int, windows: Int)) -> Bool
    ) -> Int {
        var position = 0
        var nextSeq = baseSeq
        var lastOffset: Int64?
        while position + entryFixedSize <= bytes.count {
            func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
                T(littleEndian: bytes.loadUnaligned(fromByteOffset: position + offset, as: T.self))
            }
            let length = Int(load(0, UInt32.self))
            guard length >= entryFixedSize, position + length <= bytes.count else { break }
            let entry = position..<position + length
            if checked && !entryChecksumHolds(UnsafeRawBufferPointer(rebasing: bytes[entry])) { break }
            // An offset past Int64.max is damage like any other (found by the `index` fuzz target: it trapped).
            guard let offset = Int64(exactly: load(24, UInt64.self)) else { break }
            let block = BlockInfo(
                firstSeq: load(8, UInt64.self), recordCount: Int(load(16, UInt32.self)), offset: offset,
                minTimestamp: load(32, Int64.self), maxTimestamp: load(40, Int64.self))
            let sizes = (block: Int(load(20, UInt16.self)), windows: Int(load(22, UInt16.self)))
            guard block.firstSeq == nextSeq, block.recordCount > 0,
                sizes.block == 0 || BlockFilter.isValidSize(sizes.block),
                sizes.windows == 0 || BlockFilter.isValidSize(sizes.windows),
                length == entryFixedSize + 12 * block.recordCount + sizes.block + sizes.windows,
                lastOffset.map({ offset > $0 }) ?? true
            else { break }
            guard body(entry, block, sizes) else { break }
            nextSeq = block.endSeq
            lastOffset = offset
            position += length
        }
        return position
    }

    /// Whether an entry's bytes pass the checksum it stores.
    private static func entryChecksumHolds(_ entry: UnsafeRawBufferPointer) -> Bool {
        CRC32C.checksum(UnsafeRawBufferPointer(rebasing: entry[8...]))
            == UInt32(littleEndian: entry.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
    }

    /// An entry found by ``locate(_:in:baseSeq:)``.
    struct Located {
        /// The block's number in its segment, from 0.
        var number: Int
        var block: BlockInfo
        var previous: BlockInfo?
        /// Where its entry lies in the file.
        var entry: Range<Int>
    }

    /// Where the block holding `seq` (or, for nil, the last block) lies according to the `.idx` entries in
    /// `bytes`, with the block before it: a hint for where to start a walk, found without checksums (the caller
    /// checks the segment's own headers at those places). Nil when the entries end, or stop continuing each other,
    /// before such a block.
    static func locate(_ seq: UInt64?, in bytes: UnsafeRawBufferPointer, baseSeq: UInt64) -> Located? {
        var found: Located?
        var previous: BlockInfo?
        var number = 0
        forEachEntry(bytes, baseSeq: baseSeq, checked: false) { entry, block, _ in
            found = Located(number: number, block: block, previous: previous, entry: entry)
            if let seq, seq < block.endSeq { return false }
            previous = block
            number += 1
            return true
        }
        guard let found else { return nil }
        if let seq, seq >= found.block.endSeq { return nil }  // the entries end before it
        return found
    }

    /// Whether the `.idx` of the active segment, after a clean close, is the writer's own: it ends with an entry
    /// that passes its checksum and names the segment's last block (at `lastBlockOffset`, ending at `endSeq`), and
    /// that entry continues the one before it (or is the first). Both are looked for from the end of the file, in
    /// one read of its last 16 KiB (or, when entries of blocks of many small records do not fit there, in the
    /// whole file); the other entries are left to the readers that use them (they check each entry they parse,
    /// and walk the blocks where the index stops or disagrees), so open costs the same whatever the size of the
    /// segment.
    static func endsAtLastBlock(directory: String, baseSeq: UInt64, lastBlockOffset: Int64, endSeq: UInt64) -> Bool {
        let path = blockIndexPath(directory: directory, baseSeq: baseSeq)
        guard let file = try? FileDescriptor.openForReading(path), let size = try? file.size() else { return false }
        let length = Int(min(size, 16 << 10))
        guard let tail = try? file.read(count: length, at: size - Int64(length)) else { return false }
        func endsAtLastBlock(_ bytes: UnsafeRawBufferPointer, isWholeFile: Bool) -> Bool? {
            guard
                let last = entry(
                    endingAt: bytes.count, in: bytes,
                    where: {
                        $0.offset == lastBlockOffset && $0.endSeq == endSeq
                    })
            else { return isWholeFile ? false : nil }
            if last.block.firstSeq == baseSeq { return isWholeFile ? last.start == 0 : nil }
            let previous = entry(endingAt: last.start, in: bytes) {
                $0.endSeq == last.block.firstSeq && $0.offset < last.block.offset
            }
            return previous != nil ? true : isWholeFile ? false : nil
        }
        if let found = tail.withUnsafeBytes({ endsAtLastBlock($0, isWholeFile: Int64(length) == size) }) {
            return found
        }
        guard let index = MappedFile(path: path) else { return false }
        return endsAtLastBlock(index.bytes, isWholeFile: true) ?? false
    }

    /// The whole entry of `bytes` (layout and checksum) that ends at `end` and whose block satisfies `matches`:
    /// each position whose 4-byte length field reaches exactly to `end` is a candidate, nearest first.
    private static func entry(
        endingAt end: Int, in bytes: UnsafeRawBufferPointer, where matches: (BlockInfo) -> Bool
    ) -> (block: BlockInfo, start: Int)? {
        var position = end - entryFixedSize
        while position >= 0 {
            defer { position -= 1 }
            let length = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
            guard Int(length) == end - position else { continue }
            let candidate = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
            let firstSeq = UInt64(littleEndian: candidate.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            var block: BlockInfo?
            forEachEntry(candidate, baseSeq: firstSeq, checked: true) { _, found, _ in
                block = found
                return false
            }
            if let block, matches(block) { return (block, position) }
        }
        return nil
    }
}

extension SegmentIndexFiles {
    /// Replaces `path` with `bytes` unless it already holds exactly them (written aside and renamed, so a reader's
    /// mapping of the old file stays valid). Index files are derived, so they are not fsynced.
    static func replace(_ path: String, with bytes: [UInt8]) throws(AuditLogError) {
        if let existing = MappedFile(path: path), existing.bytes.elementsEqual(bytes) { return }
        if bytes.isEmpty && !FileSystem.exists(path) { return }
        try FileSystem.rename(try FileSystem.writeAside(bytes, for: path, sync: false), to: path)
    }

    /// Brings the index files of every segment in line with the segments: called by the writer on open, with what
    /// recovery found. The active segment's block index is rewritten if it differs from its blocks, except after a
    /// clean close (``RecoveredState/durable``: the segment is as the last writer left it), where its last entry is
    /// checked against the last block and the rest left to the readers that use it (open does not read it whole);
    /// sealed segments get index files only where they are missing (checking them all would make open time grow
    /// with the log; readers check what they use). Returns the active segment's index when it was read whole.
    static func repair(directory: String, recovered: RecoveredState) throws(AuditLogError) -> SegmentIndex? {
        let names = recovered.present
        let segments = recovered.segments
        let active = recovered.segment
        let endSeq = recovered.frontier.size
        let cleanClose = recovered.durable
        for (i, segment) in segments.enumerated() {
            let isActive = i == segments.count - 1
            if isActive, cleanClose, segment.baseSeq == active.baseSeq, let last = active.lastBlock,
                endsAtLastBlock(
                    directory: directory, baseSeq: active.baseSeq, lastBlockOffset: last.offset, endSeq: endSeq)
            {
                return nil
            }
            guard
                isActive || !names.contains(LogFiles.name(segment.baseSeq, blockIndexExtension))
                    || !names.contains(LogFiles.name(segment.baseSeq, actorIndexExtension))
            else { continue }
            let index = try SegmentIndex(directory: directory, baseSeq: segment.baseSeq, path: segment.path)
            if !index.indexFileIsExact {
                try replace(
                    blockIndexPath(directory: directory, baseSeq: segment.baseSeq), with: try index.encodedBlockIndex())
            }
            if isActive { return index }
            if index.sealed {
                // After the `.idx`: its block table points into it.
                try replace(
                    actorIndexPath(directory: directory, baseSeq: segment.baseSeq), with: try index.encodedActorIndex())
            }
        }
        return nil
    }
}

/// Where a block is and what it holds, from the block index (or from its header).
struct BlockInfo: Equatable {
    var firstSeq: UInt64
    var recordCount: Int
    var offset: Int64
    var minTimestamp: Int64
    var maxTimestamp: Int64
    var endSeq: UInt64 { firstSeq + UInt64(recordCount) }
}

extension SegmentWalker {
    /// Starts at the block holding `seq` (for nil, at the last block), found through the segment's block index
    /// file in `directory` instead of by walking every header before it. The index is a hint: the block's header,
    /// and the header of the block before it (whose root the walk needs), are checked at the places it names, and
    /// when anything disagrees (or the index is missing or behind) the walk starts at the first block. It then
    /// reports, and checks, from that block on exactly as a walk from the start would.
    init(file: SegmentFile, checking: Checking, directory: String, from seq: UInt64?) throws(AuditLogError) {
        let fileSize = try file.source.size()
        let baseSeq = file.header.baseSeq
        guard
            let index = MappedFile(
                path: SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: baseSeq)),
            let found = SegmentIndexFiles.locate(seq, in: index.bytes, baseSeq: baseSeq), found.number > 0,
            let previous = found.previous,
            case .block(let before) = try file.entry(at: previous.offset, fileSize: fileSize),
            before.firstSeq == previous.firstSeq, Int(before.recordCount) == previous.recordCount,
            previous.offset + Int64(before.totalLength) == found.block.offset,
            case .block(let header) = try file.entry(at: found.block.offset, fileSize: fileSize),
            header.firstSeq == found.block.firstSeq, Int(header.recordCount) == found.block.recordCount
        else {
            try self.init(file: file, checking: checking)
            return
        }
        try self.init(
            file: file, checking: checking, offset: found.block.offset, nextSeq: found.block.firstSeq,
            blockCount: UInt32(found.number), lastRoot: before.root)
    }
}

extension RecordScan {
    /// ``forEach(in:range:walk:_:)`` with each segment's walk started at the block holding the range's first seq
    /// in it, found through the block index (checked as ``SegmentWalker/init(file:checking:directory:from:)``
    /// checks it): what proofs and reads by seq use, so that they do not walk every header before it.
    static func forEachIndexed(
        in directory: String, range: Range<UInt64>,
        _ body: (UInt64, UnsafeRawBufferPointer) throws(AuditLogError) -> Void
    ) throws(AuditLogError) {
        try forEach(
            in: directory, range: range,
            walk: { (file, seq) throws(AuditLogError) in
                try SegmentWalker(file: file, checking: .blocks, directory: directory, from: seq)
            }, body)
    }
}
