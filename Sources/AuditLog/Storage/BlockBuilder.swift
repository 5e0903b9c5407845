/// Accumulates records into blocks and encodes them (FORMAT.md, "Block"). Owned by the commit leader.
struct BlockBuilder {
    let maxBlockBytes: Int
    /// The version of the segment the blocks go to: 2 writes frames (``BlockFrames``), 1 whole LZ4 blocks.
    private(set) var segmentVersion: UInt16
    /// Version 2: the segment's dictionary, made from its first block when that block is sealed (nil before).
    private(set) var dictionary: LZ4Dictionary?
    private(set) var payload: [UInt8] = []
    /// Buffers of sealed blocks, for the next ones.
    private var sparePayload: [UInt8] = []
    private var spareCompressed: [UInt8] = []
    private(set) var recordCount = 0
    private var firstSeq: UInt64 = 0
    private var minTimestamp = Int64.max
    private var maxTimestamp = Int64.min

    /// A builder for a segment of `segmentVersion` with no block yet, or (`dictionary`) with blocks already.
    init(maxBlockBytes: Int, segmentVersion: UInt16 = SegmentHeader.formatVersion, dictionary: LZ4Dictionary? = nil) {
        self.maxBlockBytes = maxBlockBytes
        self.segmentVersion = segmentVersion
        self.dictionary = dictionary
        payload.reserveCapacity(maxBlockBytes + 4096)
    }

    /// The blocks go after a first block (copied as it is) whose dictionary is `dictionary`.
    mutating func use(_ dictionary: LZ4Dictionary) {
        self.dictionary = dictionary
    }

    /// The next block is the first of a new segment (in the current format version).
    mutating func startSegment() {
        segmentVersion = SegmentHeader.formatVersion
        dictionary = nil
    }

    var isEmpty: Bool { recordCount == 0 }
    var isFull: Bool { payload.count >= maxBlockBytes }

    /// Adds one length-prefixed record, writing `seq` into it, and returns where the record is in ``payload``:
    /// its leaf hash is taken with ``leafHash(of:using:)``, or two at a time with ``leafHashes(of:_:using:)``.
    mutating func add(lengthPrefixedRecord bytes: UnsafeRawBufferPointer, recordOffset: Int, seq: UInt64) -> Range<Int>
    {
        if recordCount == 0 { firstSeq = seq }
        let start = payload.count + recordOffset
        payload.append(contentsOf: bytes)
        payload.storeLittleEndian(seq, at: start + RecordCodec.seqOffset)
        recordCount += 1
        let timestamp = payload.withUnsafeBytes {
            RecordCodec.timestamp(of: UnsafeRawBufferPointer(rebasing: $0[start...]))
        }
        minTimestamp = min(minTimestamp, timestamp)
        maxTimestamp = max(maxTimestamp, timestamp)
        return start..<payload.count
    }

    /// The leaf hash of the record at `range` of ``payload``.
    func leafHash(of range: Range<Int>, using hasher: MerkleHasher) -> SHA256Hash {
        payload.withUnsafeBytes { RecordCodec.leafHash(of: UnsafeRawBufferPointer(rebasing: $0[range]), using: hasher) }
    }

    /// The leaf hashes of two records of ``payload``, hashed together.
    func leafHashes(of first: Range<Int>, _ second: Range<Int>, using hasher: MerkleHasher) -> (SHA256Hash, SHA256Hash)
    {
        payload.withUnsafeBytes { raw in
            RecordCodec.leafHashes(
                of: UnsafeRawBufferPointer(rebasing: raw[first]), UnsafeRawBufferPointer(rebasing: raw[second]),
                using: hasher)
        }
    }

    /// Adds one record as it is (seq already in place), without hashing it: for rewriting a block whose Merkle
    /// state is unchanged (redaction keeps every leaf hash).
    mutating func add(record: UnsafeRawBufferPointer, seq: UInt64) {
        if recordCount == 0 { firstSeq = seq }
        payload.appendVarint(UInt64(record.count))
        payload.append(contentsOf: record)
        recordCount += 1
        let timestamp = RecordCodec.timestamp(of: record)
        minTimestamp = min(minTimestamp, timestamp)
        maxTimestamp = max(maxTimestamp, timestamp)
    }

    /// Drops the records added since the last finished block.
    mutating func discardBlock() {
        payload.removeAll(keepingCapacity: true)
        recordCount = 0
        minTimestamp = .max
        maxTimestamp = .min
    }

    /// Appends the finished block to `out` and starts a new one. Returns its header.
    mutating func finishBlock(frontier: MerkleFrontier, root: SHA256Hash, startsCommit: Bool, into out: inout [UInt8])
        -> BlockHeader
    {
        let block = seal(frontier: frontier, root: root, startsCommit: startsCommit)
        block.compress()
        let header = Self.encode(block, into: &out)
        recycle(block)
        return header
    }

    /// Takes the block's records out of the builder, which starts a new block: ``SealedBlock/compress()`` (on
    /// any thread) then ``encode(_:into:)`` finish it, and ``recycle(_:)`` gives its buffers back.
    mutating func seal(frontier: MerkleFrontier, root: SHA256Hash, startsCommit: Bool) -> SealedBlock {
        let framed = segmentVersion >= 2
        let block = SealedBlock(
            payload: payload, compressed: spareCompressed, recordCount: recordCount, firstSeq: firstSeq,
            minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, frontier: frontier.hashes, root: root,
            startsCommit: startsCommit, framed: framed, dictionary: dictionary)
        if framed && dictionary == nil {
            dictionary = payload.withUnsafeBytes { LZ4Dictionary(payload: $0) }
        }
        payload = sparePayload
        spareCompressed = []
        sparePayload = []
        payload.removeAll(keepingCapacity: true)
        if payload.capacity == 0 { payload.reserveCapacity(maxBlockBytes + 4096) }
        recordCount = 0
        minTimestamp = .max
        maxTimestamp = .min
        return block
    }

    /// Keeps a sealed block's buffers for the next blocks.
    mutating func recycle(_ block: SealedBlock) {
        swap(&sparePayload, &block.payload)
        swap(&spareCompressed, &block.compressed)
    }

    /// Appends a sealed, compressed block to `out` (FORMAT.md, "Block"). Returns its header.
    static func encode(_ block: SealedBlock, into out: inout [UInt8]) -> BlockHeader {
        let useStored = block.framed || (block.compressedCount.map { $0 < block.payload.count } ?? false)
        let compression: BlockHeader.Compression = block.framed ? .frames : useStored ? .lz4 : .none
        let header = BlockHeader(
            storedLength: UInt32(useStored ? block.compressedCount! : block.payload.count),
            uncompressedLength: UInt32(block.payload.count), recordCount: UInt32(block.recordCount),
            firstSeq: block.firstSeq, minTimestamp: block.minTimestamp, maxTimestamp: block.maxTimestamp,
            compression: compression, frontierCount: UInt8(block.frontier.count),
            startsCommit: block.startsCommit, root: block.root)
        let start = out.count
        header.encode(into: &out)
        for hash in block.frontier { hash.withUnsafeBytes { out.append(contentsOf: $0) } }
        if useStored {
            block.compressed.withUnsafeBytes {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<block.compressedCount!]))
            }
        } else {
            out.append(contentsOf: block.payload)
        }
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<$0.count])) }
        out.appendLittleEndian(crc)
        return header
    }
}

/// A block whose records are complete, out of its ``BlockBuilder``: a class, so that another thread can compress
/// it while the builder fills the next block (the writer's commit does; the thread that compresses it has it alone
/// until the owner waits for it).
final class SealedBlock: @unchecked Sendable {
    fileprivate(set) var payload: [UInt8]
    fileprivate var compressed: [UInt8]
    /// The stored length after ``compress()``; nil if LZ4 did not compress (version 1).
    private(set) var compressedCount: Int?
    /// Version 2: stored as frames (``BlockFrames``), against `dictionary` (nil for a segment's first block).
    let framed: Bool
    let dictionary: LZ4Dictionary?
    let recordCount: Int
    let firstSeq: UInt64
    let minTimestamp: Int64
    let maxTimestamp: Int64
    let frontier: [SHA256Hash]
    let root: SHA256Hash
    let startsCommit: Bool

    fileprivate init(
        payload: [UInt8], compressed: [UInt8], recordCount: Int, firstSeq: UInt64, minTimestamp: Int64,
        maxTimestamp: Int64, frontier: [SHA256Hash], root: SHA256Hash, startsCommit: Bool, framed: Bool,
        dictionary: LZ4Dictionary?
    ) {
        self.framed = framed
        self.dictionary = dictionary
        self.payload = payload
        self.compressed = compressed
        self.recordCount = recordCount
        self.firstSeq = firstSeq
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
        self.frontier = frontier
        self.root = root
        self.startsCommit = startsCommit
    }

    /// Compresses the payload: frames against the dictionary (version 2) or one LZ4 block (version 1).
    func compress() {
        if framed {
            compressedCount = payload.withUnsafeBytes {
                BlockFrames.encode($0, dictionary: dictionary, into: &compressed)
            }
            return
        }
        let bound = LZ4.compressBound(payload.count)
        if compressed.count < bound { compressed = [UInt8](repeating: 0, count: bound) }
        compressedCount = payload.withUnsafeBytes { source in
            compressed.withUnsafeMutableBytes { LZ4.compress(source, into: $0) }
        }
    }
}
