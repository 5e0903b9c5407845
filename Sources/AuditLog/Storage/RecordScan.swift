/// Raw access to the records of a seq range, for proofs and for rebuilding derived data.
enum RecordScan {
    /// Calls `body` with the seq and canonical bytes of every record in `range`, in order. Blocks are read whole
    /// and checked against their checksums.
    /// - Throws: ``AuditLogError/Code/corrupt`` if a block is damaged or a seq of the range is not in the log.
    static func forEach(
        in directory: String, range: Range<UInt64>,
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
        var block: [UInt8] = []
        var payload: [UInt8] = []
        while next < range.upperBound {
            guard index < segments.count else {
                throw AuditLogError(
                    .invalidArgument, "seq \(next) is not in the log (it ends earlier)", path: directory)
            }
            let file = try SegmentFile.open(path: segments[index].path, baseSeq: segments[index].baseSeq)
            let size = try file.fd.size()
            var offset = Int64(file.headerSize)
            walk: while next < range.upperBound {
                switch try file.entry(at: offset, fileSize: size) {
                case .block(let header):
                    if header.endSeq > next {
                        if let reason = try file.readBlock(header, at: offset, into: &block) {
                            throw AuditLogError(.corrupt, reason, path: file.path, offset: offset)
                        }
                        var failure: AuditLogError?
                        do throws(DecodeFailure) {
                            try BlockDecoder.forEachRecord(inBlock: block, header, payload: &payload) {
                                (seq, record) throws(DecodeFailure) in
                                guard failure == nil, seq >= next, seq < range.upperBound else { return }
                                do throws(AuditLogError) { try body(seq, record) } catch { failure = error }
                            }
                        } catch {
                            throw AuditLogError(.corrupt, error.reason, path: file.path, offset: offset)
                        }
                        if let failure { throw failure }
                        next = min(range.upperBound, header.endSeq)
                    }
                    offset += Int64(header.totalLength)
                case .footer, .end, .invalid:
                    break walk
                }
            }
            index += 1
        }
    }
}
