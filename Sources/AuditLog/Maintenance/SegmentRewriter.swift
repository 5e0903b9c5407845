/// Rewrites a sealed segment with some records replaced (redaction), crash-safely: the new file is written
/// aside and fsynced, the segment's block index is removed, the new file renamed over the old one and the
/// directory fsynced; then the block index is written again. A crash leaves the old segment or the new one, and
/// at worst a missing index, which the next open rebuilds. The old file's data is gone from the directory once
/// the rename is durable.
///
/// Only records change; every block keeps its seqs, frontier, root and commit flag, and the header and footer
/// are copied, so the Merkle tree is untouched (a replaced record must keep its leaf hash). In a version 2 segment
/// a change to the first block changes the dictionary of every other block: then all of them are compressed
/// again, against the new one.
enum SegmentRewriter {
    /// Rewrites `segment`, replacing each record for which `replacement` returns new bytes. Unchanged blocks
    /// are copied byte for byte. Returns how many records were replaced (0: the file was left alone).
    /// - Throws: ``AuditLogError/Code/corrupt`` (nothing changed) if a block fails its checksum.
    static func rewrite(
        _ segment: (baseSeq: UInt64, path: String), directory: String, directoryFD: FileDescriptor,
        maxBlockBytes: Int,
        replacement: (UInt64, UnsafeRawBufferPointer) throws(AuditLogError) -> [UInt8]?
    ) throws(AuditLogError) -> Int {
        let file = try SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq)
        var walker = try SegmentWalker(file: file, checking: .blocks)
        var out = try file.source.read(count: file.headerSize, at: 0)
        var payload: [UInt8] = []
        var builder = BlockBuilder(maxBlockBytes: maxBlockBytes, segmentVersion: file.header.version)
        var replaced = 0
        var dictionaryChanged = false
        walk: while true {
            switch try walker.next() {
            case .block(let header, let offset):
                let before = replaced
                var failure: AuditLogError?
                do throws(DecodeFailure) {
                    try walker.forEachRecord(header, payload: &payload) { (seq, record) throws(DecodeFailure) in
                        guard failure == nil else { return }
                        do throws(AuditLogError) {
                            if let new = try replacement(seq, record) {
                                new.withUnsafeBytes { builder.add(record: $0, seq: seq) }
                                replaced += 1
                            } else {
                                builder.add(record: record, seq: seq)
                            }
                        } catch { failure = error }
                    }
                } catch {
                    throw AuditLogError(.corrupt, error.reason, path: segment.path, offset: offset)
                }
                if let failure { throw failure }
                let first = header.firstSeq == segment.baseSeq
                if replaced == before && !(dictionaryChanged && header.compression == .frames) {
                    out.append(contentsOf: walker.block[0..<header.totalLength])
                    builder.discardBlock()
                    if first && file.header.version >= 2 {
                        // The blocks after it are compressed against its payload, as it stays.
                        let count = Int(header.uncompressedLength)
                        payload.withUnsafeBytes {
                            builder.use(LZ4Dictionary(payload: UnsafeRawBufferPointer(rebasing: $0[0..<count])))
                        }
                    }
                } else {
                    dictionaryChanged = dictionaryChanged || first
                    guard let frontier = walker.frontier(of: header) else {
                        throw AuditLogError(
                            .corrupt, "block frontier does not match its size", path: segment.path, offset: offset)
                    }
                    _ = builder.finishBlock(
                        frontier: frontier, root: header.root, startsCommit: header.startsCommit, into: &out)
                }
            case .footer(_, let offset):
                out.append(contentsOf: try file.source.read(count: SegmentFooter.size, at: offset))
                break walk
            case .end:
                throw AuditLogError(
                    .corrupt, "only sealed segments are rewritten", path: segment.path, offset: walker.offset)
            case .damaged(let damage):
                throw AuditLogError(
                    .corrupt, "\(damage.reason); nothing was changed. Run `auditlog verify`", path: segment.path,
                    offset: damage.offset)
            }
        }
        guard replaced > 0 else { return 0 }

        let temporary = try FileSystem.writeAside(out, for: segment.path, sync: true)
        FaultInjection.crashPoint("copy-written")
        let indexPath = SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: segment.baseSeq)
        try FileSystem.remove(indexPath)
        // The actor index's block table holds the old offsets (its pairs do not change: actor ids are kept).
        let actorIndexPath = SegmentIndexFiles.actorIndexPath(directory: directory, baseSeq: segment.baseSeq)
        try FileSystem.remove(actorIndexPath)
        // The facet summary holds names the rewrite may remove; the writer's maintenance thread writes it again.
        try FileSystem.remove(SegmentFacets.path(directory: directory, baseSeq: segment.baseSeq))
        // The archive holds the old bytes: the new file is uploaded again (a reused inode must not pass for the
        // uploaded one), and an evicted segment is local again.
        try ArchiveJournal.recordReplaced(segment: LogFiles.segmentName(baseSeq: segment.baseSeq), directory: directory)
        try FileSystem.rename(temporary, to: segment.path)
        try FileSystem.remove(EvictedSegment.path(directory: directory, baseSeq: segment.baseSeq))
        try directoryFD.synchronize()
        FaultInjection.crashPoint("segment-replaced")
        // The block offsets moved: the block index, then the actor index with its block table, written again.
        let index = try SegmentIndex(directory: directory, baseSeq: segment.baseSeq, path: segment.path)
        try? SegmentIndexFiles.replace(indexPath, with: index.encodedBlockIndex())
        try? SegmentIndexFiles.replace(actorIndexPath, with: index.encodedActorIndex())
        return replaced
    }
}
