/// Accumulates records into blocks and encodes them (FORMAT.md, "Block"). Owned by the commit leader.
struct BlockBuilder {
    let maxBlockBytes: Int
    private(set) var payload: [UInt8] = []
    private var compressed: [UInt8] = []
    private(set) var recordCount = 0
    private var firstSeq: UInt64 = 0
    private var minTimestamp = Int64.max
    private var maxTimestamp = Int64.min

    init(maxBlockBytes: Int) {
        self.maxBlockBytes = maxBlockBytes
        payload.reserveCapacity(maxBlockBytes + 4096)
    }

    var isEmpty: Bool { recordCount == 0 }
    var isFull: Bool { payload.count >= maxBlockBytes }

    /// Adds one length-prefixed record, writing `seq` into it, and returns where the record is in ``payload``:
    /// its leaf hash is taken with ``leafHash(of:using:)``, or two at a time with ``leafHashes(of:_:using:)``.
    mutating func add(lengthPrefixedRecord bytes: UnsafeRawBufferPointer, recordOffset: Int, seq: UInt64) -> Range<Int> {
        if recordCount == 0 { firstSeq = seq }
        let start = payload.count + recordOffset
        payload.append(contentsOf: bytes)
        payload.storeLittleEndian(seq, at: start + RecordCodec.seqOffset)
        recordCount += 1
        let timestamp = payload.withUnsafeBytes { RecordCodec.timestamp(of: UnsafeRawBufferPointer(rebasing: $0[start...])) }
        minTimestamp = min(minTimestamp, timestamp)
        maxTimestamp = max(maxTimestamp, timestamp)
        return start..<payload.count
    }

    /// The leaf hash of the record at `range` of ``payload``.
    func leafHash(of range: Range<Int>, using hasher: MerkleHasher) -> SHA256Hash {
        payload.withUnsafeBytes { RecordCodec.leafHash(of: UnsafeRawBufferPointer(rebasing: $0[range]), using: hasher) }
    }

    /// The leaf hashes of two records of ``payload``, hashed together.
    func leafHashes(of first: Range<Int>, _ second: Range<Int>, using hasher: MerkleHasher) -> (SHA256Hash, SHA256Hash) {
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
        let bound = LZ4.compressBound(payload.count)
        if compressed.count < bound { compressed = [UInt8](repeating: 0, count: bound) }
        let compressedCount = payload.withUnsafeBytes { source in
            compressed.withUnsafeMutableBytes { LZ4.compress(source, into: $0) }
        }
        let useLZ4 = compressedCount.map { $0 < payload.count } ?? false
        let header = BlockHeader(
            storedLength: UInt32(useLZ4 ? compressedCount! : payload.count), uncompressedLength: UInt32(payload.count),
            recordCount: UInt32(recordCount), firstSeq: firstSeq, minTimestamp: minTimestamp,
            maxTimestamp: maxTimestamp, compression: useLZ4 ? .lz4 : .none,
            frontierCount: UInt8(frontier.hashes.count), startsCommit: startsCommit, root: root)
        let start = out.count
        header.encode(into: &out)
        for hash in frontier.hashes { hash.withUnsafeBytes { out.append(contentsOf: $0) } }
        if useLZ4 {
            compressed.withUnsafeBytes {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<compressedCount!]))
            }
        } else {
            out.append(contentsOf: payload)
        }
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<$0.count])) }
        out.appendLittleEndian(crc)

        payload.removeAll(keepingCapacity: true)
        recordCount = 0
        minTimestamp = .max
        maxTimestamp = .min
        return header
    }
}
