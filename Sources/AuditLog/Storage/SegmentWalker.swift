/// The one walk over a segment's entries, from header to header (FORMAT.md, "Segment").
///
/// Every reader of a segment in order (recovery, readers, record scans, index rebuilds, redaction's rewriter, the
/// verifier, the log state and statistics) walks it here, so they agree on what a valid segment is: each block
/// header checks out and starts at the seq after the previous block; the footer, if any, matches the blocks
/// before it (end seq, block count, root) and ends the file. A block is only reported once it is known to be
/// complete: with ``Checking/blocks`` every block is read whole and its checksum checked; with
/// ``Checking/headers`` a block counts once the next header checks out, and the last block's checksum is checked
/// before the walk reports the end. So a block still being written, or torn, is never reported by either.
///
/// The walker reports; callers decide. ``Step/damaged(_:)`` carries a typed ``SegmentDamage`` and leaves the
/// walker where the damage starts, so a caller that follows a growing file can call ``refreshFileSize()`` and
/// try again.
struct SegmentWalker {
    enum Checking {
        /// Read every block whole and check its checksum; ``block`` holds the bytes of the block just reported.
        case blocks
        /// Read block headers only; check the checksum of the last block alone.
        case headers
    }

    enum Step {
        /// A complete block at `offset`.
        case block(BlockHeader, offset: Int64)
        /// The footer at `offset`; it matches the blocks before it and ends the file. The walk is over.
        case footer(SegmentFooter, offset: Int64)
        /// The end of the file (or, with ``Checking/headers``, of its complete blocks), with no footer.
        case end
        /// The bytes at ``offset`` are not a valid continuation of the segment.
        case damaged(SegmentDamage)
    }

    let file: SegmentFile
    let checking: Checking
    /// Offset of the next entry.
    private(set) var offset: Int64
    /// Seq of the next block's first record: the tree size after the blocks reported so far.
    private(set) var nextSeq: UInt64
    /// Blocks reported so far, counted from the segment's first block.
    private(set) var blockCount: UInt32
    /// Root stored in the last block reported (nil before the first).
    private(set) var lastRoot: SHA256Hash?
    /// Whether the footer was reported.
    private(set) var sealed = false
    /// The file size the walk is bounded by.
    private(set) var fileSize: Int64
    /// The bytes of the block just reported, with ``Checking/blocks`` (at least `header.totalLength` of them).
    private(set) var block: [UInt8] = []
    /// With ``Checking/headers``: the entry after the block just reported, read to know that block is complete.
    private var peeked: (offset: Int64, entry: SegmentEntry)?

    /// Starts at the first block of `file`.
    init(file: SegmentFile, checking: Checking) throws(AuditLogError) {
        try self.init(
            file: file, checking: checking, offset: Int64(file.headerSize), nextSeq: file.header.baseSeq,
            blockCount: 0, lastRoot: nil)
    }

    /// Starts at `offset`, where the block holding `nextSeq` must start, after `blockCount` blocks whose last
    /// stored `lastRoot` (a position the caller knows from an index, checked by the walk like any other).
    init(
        file: SegmentFile, checking: Checking, offset: Int64, nextSeq: UInt64, blockCount: UInt32,
        lastRoot: SHA256Hash?
    ) throws(AuditLogError) {
        self.file = file
        self.checking = checking
        self.offset = offset
        self.nextSeq = nextSeq
        self.blockCount = blockCount
        self.lastRoot = lastRoot
        fileSize = try file.source.size()
    }

    /// Re-reads the file size; returns whether the file grew. For readers that follow a file being appended to.
    mutating func refreshFileSize() throws(AuditLogError) -> Bool {
        let size = try file.source.size()
        guard size > fileSize else { return false }
        fileSize = size
        peeked = nil
        return true
    }

    /// The next entry. After ``Step/footer(_:offset:)`` and ``Step/end`` it keeps returning ``Step/end``
    /// (unless the file grew and the segment is not sealed); after ``Step/damaged(_:)`` the same damage.
    mutating func next() throws(AuditLogError) -> Step {
        if sealed { return .end }
        let entry: SegmentEntry
        if let peeked, peeked.offset == offset {
            entry = peeked.entry
        } else {
            entry = try file.entry(at: offset, fileSize: fileSize)
        }
        peeked = nil
        switch entry {
        case .end:
            return .end
        case .invalid(let damage):
            return .damaged(damage)
        case .footer(let footer):
            let root: SHA256Hash
            if let lastRoot { root = lastRoot } else { root = file.header.frontier.root(using: try MerkleHasher()) }
            guard footer.endSeq == nextSeq, footer.blockCount == blockCount, footer.root == root else {
                return .damaged(
                    SegmentDamage(
                        kind: .footerMismatch, offset: offset, length: Int64(SegmentFooter.size),
                        reason: "segment footer does not match the blocks before it (footer: end seq "
                            + "\(footer.endSeq), \(footer.blockCount) blocks; found \(nextSeq), \(blockCount))"))
            }
            let end = offset + Int64(SegmentFooter.size)
            guard end == fileSize else {
                return .damaged(
                    SegmentDamage(
                        kind: .bytesAfterFooter, offset: end, length: fileSize - end,
                        reason: "\(fileSize - end) bytes after the segment footer"))
            }
            let at = offset
            offset = end
            sealed = true
            return .footer(footer, offset: at)
        case .block(let header):
            let length = Int64(header.totalLength)
            guard header.firstSeq == nextSeq else {
                let reason =
                    header.firstSeq > nextSeq
                    ? "seq \(nextSeq)..<\(header.firstSeq) missing: blocks were removed"
                    : "block repeats seq \(header.firstSeq) (expected \(nextSeq)): blocks were duplicated or moved"
                return .damaged(
                    SegmentDamage(
                        kind: .seqDiscontinuity(expected: nextSeq, found: header.firstSeq), offset: offset,
                        length: length, reason: reason))
            }
            switch checking {
            case .blocks:
                if let damage = try file.readBlock(header, at: offset, into: &block) { return .damaged(damage) }
            case .headers:
                // The block is complete if a valid entry follows it; at the end of what is written, check it.
                let following = try file.entry(at: offset + length, fileSize: fileSize)
                peeked = (offset + length, following)
                switch following {
                case .block, .footer:
                    break
                case .end, .invalid:
                    var bytes: [UInt8] = []
                    if let damage = try file.readBlock(header, at: offset, into: &bytes) {
                        peeked = nil
                        return .damaged(damage)
                    }
                }
            }
            let at = offset
            offset += length
            nextSeq = header.endSeq
            blockCount += 1
            lastRoot = header.root
            return .block(header, offset: at)
        }
    }
}

extension SegmentWalker {
    /// Decompresses the block just reported (``Checking/blocks``) and calls `body` with each record and its seq.
    func forEachRecord(
        _ header: BlockHeader, payload: inout [UInt8],
        _ body: (UInt64, UnsafeRawBufferPointer) throws(DecodeFailure) -> Void
    ) throws(DecodeFailure) {
        try BlockDecoder.forEachRecord(
            inBlock: block, header, dictionary: try file.dictionary(for: header), payload: &payload, body)
    }

    /// The frontier stored in the block just reported (``Checking/blocks``), if it is consistent with its header.
    func frontier(of header: BlockHeader) -> MerkleFrontier? {
        block.withUnsafeBytes { BlockDecoder.frontier(of: $0, header) }
    }
}
