/// Reads the events of a log in seq order, synchronously, in this process or another, while a writer appends.
///
/// It sees only complete blocks whose checksums match: a block still being written looks like the end of the log.
/// It takes no lock and never writes. Made by a writer's ``AuditLog/reader`` it stops at the tree size acknowledged
/// when it was made; made by an ``AuditLogReader`` of a directory it reads up to whatever is there, and reading on
/// after `nil` picks up what was written since. For async code, ``EventStream`` wraps it.
///
/// ```swift
/// let iterator = try AuditLogReader(directory: path).eventIterator(from: 0)
/// while let stored = try iterator.next() { … }
/// ```
public final class EventIterator {
    public let directory: String
    private var bound: UInt64?
    private let hasher: MerkleHasher
    private var segments: [(baseSeq: UInt64, path: String)] = []
    private var segmentIndex = 0
    private var walker: SegmentWalker?
    private var startSeq: UInt64 = 0
    private var payload: [UInt8] = []
    private var decoded: [StoredEvent] = []
    private var decodedIndex = 0

    init(directory: String, upTo bound: UInt64?) throws(AuditLogError) {
        guard FileSystem.isDirectory(directory) else {
            throw AuditLogError(.notFound, "no log directory here", path: directory)
        }
        self.directory = directory
        self.bound = bound
        hasher = try MerkleHasher()
    }

    /// Positions the reader so that ``next()`` returns the event with sequence number `seq` (or the first after
    /// it that exists).
    public func seek(to seq: UInt64) throws(AuditLogError) {
        segments = try LogFiles.segments(in: directory)
        decoded.removeAll(keepingCapacity: true)
        decodedIndex = 0
        startSeq = seq
        segmentIndex = max(0, (segments.lastIndex { $0.baseSeq <= seq }) ?? 0)
        walker = nil
        if !segments.isEmpty { try openSegment(at: segmentIndex, from: seq) }
    }

    /// Opens segment `index` at its first block, or at the block holding `seq` when given.
    private func openSegment(at index: Int, from seq: UInt64? = nil) throws(AuditLogError) {
        let entry = segments[index]
        let file = try SegmentFile.open(path: entry.path, baseSeq: entry.baseSeq)
        if let seq, seq > entry.baseSeq {
            walker = try SegmentWalker(file: file, checking: .blocks, directory: directory, from: seq)
        } else {
            walker = try SegmentWalker(file: file, checking: .blocks)
        }
        segmentIndex = index
    }

    /// Seq of the next block's first record.
    private var expectedSeq: UInt64 { walker?.nextSeq ?? 0 }

    /// Reads on up to `bound` events (nil: whatever is there). Bounds only grow.
    func extendBound(to newBound: UInt64?) {
        guard let current = bound else { return }
        bound = newBound.map { max(current, $0) }
    }

    private func corrupt(_ message: String, at offset: Int64? = nil) -> AuditLogError {
        AuditLogError(.corrupt, message, path: walker?.file.path, offset: offset ?? walker?.offset)
    }

    /// The next event, or nil at the end of what is committed now.
    /// - Throws: ``AuditLogError/Code/corrupt`` if stored data fails its checks.
    public func next() throws(AuditLogError) -> StoredEvent? {
        while true {
            while decodedIndex < decoded.count {
                let event = decoded[decodedIndex]
                if let bound, event.seq >= bound { return nil }  // kept for when the bound grows
                decodedIndex += 1
                if event.seq < startSeq { continue }
                return event
            }
            if let bound, expectedSeq >= bound { return nil }
            guard walker != nil else {
                // An empty directory so far: look again, a writer may have created the first segment.
                segments = try LogFiles.segments(in: directory)
                if segments.isEmpty { return nil }
                try openSegment(at: 0)
                continue
            }
            switch try walker!.next() {
            case .block(let header, let offset):
                if header.endSeq > startSeq { try decodeBlock(header, at: offset) }
            case .footer:
                if segmentIndex + 1 >= segments.count { segments = try LogFiles.segments(in: directory) }
                guard segmentIndex + 1 < segments.count else { return nil }  // the writer is starting the next one
                guard segments[segmentIndex + 1].baseSeq == expectedSeq else {
                    throw AuditLogError(
                        .corrupt,
                        "the segment holding seq \(expectedSeq) is missing (next segment starts at "
                            + "\(segments[segmentIndex + 1].baseSeq))", path: directory)
                }
                try openSegment(at: segmentIndex + 1)
            case .end:
                if try walker!.refreshFileSize() { continue }
                if walker!.sealed {
                    // Past the footer: the next segment may have appeared since.
                    segments = try LogFiles.segments(in: directory)
                    if segmentIndex + 1 < segments.count, segments[segmentIndex + 1].baseSeq == expectedSeq {
                        try openSegment(at: segmentIndex + 1)
                        continue
                    }
                }
                if let bound, expectedSeq < bound {
                    throw corrupt("the log ends at seq \(expectedSeq) but \(bound) events were acknowledged")
                }
                return nil
            case .damaged(let damage):
                if try walker!.refreshFileSize() { continue }
                if try isCommittedTail() { return nil }
                throw corrupt(damage.reason, at: damage.offset)
            }
        }
    }

    /// Whether an invalid entry at `offset` is just the end of what the writer has committed so far: it is in
    /// the last segment, no acknowledged seq lies beyond it, and no later commit follows it.
    private func isCommittedTail() throws(AuditLogError) -> Bool {
        if let bound, expectedSeq < bound { return false }
        segments = try LogFiles.segments(in: directory)
        guard segmentIndex == segments.count - 1, let walker else { return false }
        return try !walker.file.containsCommit(
            after: walker.offset, fileSize: try walker.file.source.size(), laterThan: expectedSeq)
    }

    private func decodeBlock(_ header: BlockHeader, at blockOffset: Int64) throws(AuditLogError) {
        decoded.removeAll(keepingCapacity: true)
        decodedIndex = 0
        do throws(DecodeFailure) {
            try walker!.forEachRecord(header, payload: &payload) {
                (seq, record) throws(DecodeFailure) in
                guard seq >= startSeq else { return }
                let record = try RecordCodec.decode(record, into: StoredEvent.self, using: hasher)
                decoded.append(record)
            }
        } catch {
            throw corrupt("block at seq \(header.firstSeq): \(error.reason)", at: blockOffset)
        }
    }
}
