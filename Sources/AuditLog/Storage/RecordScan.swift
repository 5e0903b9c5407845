/// Raw access to the records of a seq range, for proofs and for rebuilding derived data.
enum RecordScan {
    /// Calls `body` with the seq and canonical bytes of every record in `range`, in order. Blocks are read whole
    /// and checked against their checksums. `walk` gives the walk over a segment for the range's first seq in it
    /// (a caller that has the indexes can start it at the block holding that seq; by default it starts at the
    /// segment's first block).
    /// - Throws: ``AuditLogError/Code/corrupt`` if a block is damaged or a seq of the range is not in the log.
    static func forEach(
        in directory: String, range: Range<UInt64>,
        walk: (SegmentFile, _ from: UInt64) throws(AuditLogError) -> SegmentWalker = { file, _ in
            try SegmentWalker(file: file, checking: .blocks)
        },
        _ body: (UInt64, UnsafeRawBufferPointer) throws(AuditLogError) -> Void
    ) throws(AuditLogError) {
        guard !range.isEmpty else { return }
        let segments = try LogFiles.segments(in: directory)
        guard var index = segments.lastIndex(where: { $0.baseSeq <= range.lowerBound }) else {
            let removed = segments.first.map { ": retention removed the events below seq \($0.baseSeq)" } ?? ""
            throw AuditLogError(
                .invalidArgument, "seq \(range.lowerBound) is not in the log\(removed)", path: directory)
        }
        var next = range.lowerBound
        var payload: [UInt8] = []
        while next < range.upperBound {
            guard index < segments.count else {
                throw AuditLogError(
                    .invalidArgument, "seq \(next) is not in the log (it ends earlier)", path: directory)
            }
            let file = try SegmentFile.open(path: segments[index].path, baseSeq: segments[index].baseSeq)
            var walker = try walk(file, next)
            walk: while next < range.upperBound {
                switch try walker.next() {
                case .block(let header, let offset):
                    guard header.endSeq > next else { continue walk }
                    var failure: AuditLogError?
                    do throws(DecodeFailure) {
                        try walker.forEachRecord(header, payload: &payload) { (seq, record) throws(DecodeFailure) in
                            guard failure == nil, seq >= next, seq < range.upperBound else { return }
                            do throws(AuditLogError) { try body(seq, record) } catch { failure = error }
                        }
                    } catch {
                        throw AuditLogError(.corrupt, error.reason, path: file.path, offset: offset)
                    }
                    if let failure { throw failure }
                    next = min(range.upperBound, header.endSeq)
                case .footer, .end:
                    break walk
                case .damaged(let damage):
                    throw AuditLogError(
                        .corrupt, "seq \(walker.nextSeq) cannot be read: \(damage.reason)", path: file.path,
                        offset: damage.offset)
                }
            }
            index += 1
        }
    }
}
