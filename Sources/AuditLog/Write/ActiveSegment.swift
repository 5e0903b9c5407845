/// The segment the writer appends to, and what it has written so far.
struct ActiveSegment {
    var fd: FileDescriptor
    var baseSeq: UInt64
    /// Its format version (FORMAT.md, "Segment header"): a version 1 segment left by an older writer is appended
    /// to in version 1 until it is sealed.
    var version: UInt16
    /// Bytes of the file that hold valid header, blocks (and nothing else).
    var size: Int64
    var blockCount: UInt32 = 0
    var minTimestamp = Int64.max
    var maxTimestamp = Int64.min
    /// Where the last block starts, and the root it stores (nil before the first block).
    var lastBlock: (offset: Int64, root: SHA256Hash)?

    mutating func recordBlock(_ header: BlockHeader, at offset: Int64) {
        blockCount += 1
        minTimestamp = min(minTimestamp, header.minTimestamp)
        maxTimestamp = max(maxTimestamp, header.maxTimestamp)
        lastBlock = (offset, header.root)
    }

    /// The tail to record at a clean close: where this segment's blocks end (nil without blocks).
    func tail() throws(AuditLogError) -> WriterTail? {
        guard let lastBlock else { return nil }
        return WriterTail(
            baseSeq: baseSeq, inode: try fd.inode(), validEnd: size, blockCount: blockCount,
            lastBlockOffset: lastBlock.offset, lastBlockRoot: lastBlock.root, minTimestamp: minTimestamp,
            maxTimestamp: maxTimestamp)
    }

    /// Creates a new segment file: written under a temporary name, fsynced, renamed into place, and the directory
    /// fsynced, so a segment file either exists with a complete header or not at all.
    static func create(
        directory: String, directoryFD: FileDescriptor, baseSeq: UInt64, frontier: MerkleFrontier
    ) throws(AuditLogError) -> ActiveSegment {
        let name = LogFiles.segmentName(baseSeq: baseSeq)
        let path = LogFiles.path(directory, name)
        guard !FileSystem.exists(path) else {
            throw AuditLogError(.corrupt, "segment already exists; refusing to overwrite it", path: path)
        }
        let header = SegmentHeader(baseSeq: baseSeq, createdAt: currentTimeMilliseconds(), frontier: frontier)
        let bytes = header.encode()
        try FileSystem.writeAtomically(bytes, to: path, directoryFD: directoryFD)
        let fd = try FileDescriptor.openForWriting(path, create: false)
        return ActiveSegment(fd: fd, baseSeq: baseSeq, version: header.version, size: Int64(bytes.count))
    }
}
