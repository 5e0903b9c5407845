/// What opening a log found and repaired.
public struct RecoveryReport: Sendable, Equatable, Codable {
    /// The segment whose torn tail was cut off, if any.
    public var truncatedSegment: String?
    /// How many bytes were cut (bytes of unacknowledged, incomplete writes).
    public var truncatedBytes: Int64 = 0
    /// Why the tail was not valid.
    public var reason: String?
    /// Temporary files left by an interrupted segment creation, removed.
    public var removedTemporaryFiles: [String] = []

    /// Whether open changed anything.
    public var repaired: Bool { truncatedBytes > 0 || !removedTemporaryFiles.isEmpty }

    public init(
        truncatedSegment: String? = nil, truncatedBytes: Int64 = 0, reason: String? = nil,
        removedTemporaryFiles: [String] = []
    ) {
        self.truncatedSegment = truncatedSegment
        self.truncatedBytes = truncatedBytes
        self.reason = reason
        self.removedTemporaryFiles = removedTemporaryFiles
    }
}

/// The writer's state after recovery: where to append and the Merkle state there.
struct RecoveredState {
    var segment: ActiveSegment
    var frontier: MerkleFrontier
    var root: SHA256Hash
    var report: RecoveryReport
    /// Whether everything recovered is known to be durable: the segment is new, or the previous writer closed
    /// cleanly (synced, and left a ``WriterTail``) and nothing was written after that.
    var durable: Bool
    /// The `TAIL` open resumed from, if it did: what the directory holds unless this writer writes another.
    var tail: WriterTail?
    /// The directory's names after recovery: its one listing at open, kept up to date with what recovery removed
    /// and created, for the level files and the index repair that follow (each listing of a 10M-event log's ~190
    /// names cost ~0.1 ms, and open listed it five times).
    var names: [String]
    /// The same names as a set, and the segments among them, oldest first, the active one last: each made once
    /// per open (they were made three times, a tenth of an open of a log with 50 segments).
    var present: Set<String>
    var segments: [(baseSeq: UInt64, path: String)]
}

/// Opening a log for writing (FORMAT.md, "Writing and recovery"). Only the last segment is read, so open time does
/// not depend on the size of the log; after a clean close, only its last block and what follows it.
enum Recovery {
    static func recover(directory: String, directoryFD: FileDescriptor, hasher: MerkleHasher) throws(AuditLogError)
        -> RecoveredState
    {
        var report = RecoveryReport()
        var names = try FileSystem.contents(of: directory)
        for name in names where name.hasSuffix(LogFiles.temporarySuffix) {
            try FileSystem.remove(LogFiles.path(directory, name))
            report.removedTemporaryFiles.append(name)
        }
        names.removeAll { $0.hasSuffix(LogFiles.temporarySuffix) }
        var segments = LogFiles.segments(named: names, in: directory)
        guard let last = segments.last else {
            let segment = try ActiveSegment.create(
                directory: directory, directoryFD: directoryFD, baseSeq: 0, frontier: MerkleFrontier())
            let name = LogFiles.segmentName(baseSeq: 0)
            names.append(name)
            return RecoveredState(
                segment: segment, frontier: MerkleFrontier(), root: hasher.emptyRoot(), report: report, durable: true,
                tail: nil, names: names, present: Set(names), segments: [(0, LogFiles.path(directory, name))])
        }

        let fd = try FileDescriptor.openForWriting(last.path, create: false)
        let file = try SegmentFile.open(path: last.path, baseSeq: last.baseSeq, fd: fd)
        var segment = ActiveSegment(
            fd: fd, baseSeq: last.baseSeq, version: file.header.version, size: Int64(file.headerSize))
        var frontier = file.header.frontier
        var root = frontier.root(using: hasher)

        // Every block is read and checked — after a clean close only those after the tail it recorded. Recovery
        // keeps the valid prefix: at the first entry that is not a valid continuation it cuts, unless a later
        // commit follows (then the damage is not a torn write).
        var walker: SegmentWalker
        var durable = false
        var resumedTail: WriterTail?
        if let tail = WriterTail.read(directory: directory), tail.baseSeq == last.baseSeq,
            let resumed = try resume(file, fd: fd, at: tail, hasher: hasher)
        {
            resumedTail = tail
            walker = resumed.walker
            frontier = resumed.frontier
            root = tail.lastBlockRoot
            segment.size = tail.validEnd
            segment.blockCount = tail.blockCount
            segment.minTimestamp = tail.minTimestamp
            segment.maxTimestamp = tail.maxTimestamp
            segment.lastBlock = (tail.lastBlockOffset, tail.lastBlockRoot)
            durable = tail.validEnd == walker.fileSize
        } else {
            walker = try SegmentWalker(file: file, checking: .blocks)
        }
        let fileSize = walker.fileSize
        var sealed = false
        scan: while true {
            let problem: String
            let cut: Int64
            switch try walker.next() {
            case .end:
                break scan
            case .footer:
                segment.size = walker.offset
                sealed = true
                break scan
            case .block(let header, let offset):
                guard let next = walker.frontier(of: header) else {
                    problem = "block frontier does not match its size"
                    cut = segment.size
                    break
                }
                frontier = next
                root = header.root
                segment.recordBlock(header, at: offset)
                segment.size = walker.offset
                continue scan
            case .damaged(let damage):
                problem = damage.reason
                // Bytes after a valid footer go; the footer stays, and the segment is sealed.
                sealed = damage.kind == .bytesAfterFooter
                cut = sealed ? damage.offset : segment.size
            }
            try refuseIfAcknowledgedDataFollows(
                file, from: cut, fileSize: fileSize, expectedSeq: frontier.size, problem)
            try fd.truncate(to: cut)
            try fd.synchronizeData()
            report.truncatedSegment = last.path
            report.truncatedBytes = fileSize - cut
            report.reason = problem
            break scan
        }
        // A stored root is only trusted after recomputing it from the stored frontier.
        guard frontier.root(using: hasher) == root else {
            throw AuditLogError(.corrupt, "the last block's root does not match its frontier", path: last.path)
        }
        if sealed {
            segment = try ActiveSegment.create(
                directory: directory, directoryFD: directoryFD, baseSeq: frontier.size, frontier: frontier)
            let name = LogFiles.segmentName(baseSeq: frontier.size)
            names.append(name)
            segments.append((frontier.size, LogFiles.path(directory, name)))
            durable = false
        }
        return RecoveredState(
            segment: segment, frontier: frontier, root: root, report: report, durable: durable, tail: resumedTail,
            names: names, present: Set(names), segments: segments)
    }

    /// A walk resumed after the last block a ``WriterTail`` names, with the frontier stored in that block; nil
    /// unless the tail describes this very file (inode, length) and the block is there, whole, with its root.
    private static func resume(_ file: SegmentFile, fd: FileDescriptor, at tail: WriterTail, hasher: MerkleHasher)
        throws(AuditLogError) -> (walker: SegmentWalker, frontier: MerkleFrontier)?
    {
        let fileSize = try fd.size()
        guard try fd.inode() == tail.inode, tail.validEnd <= fileSize, tail.lastBlockOffset >= Int64(file.headerSize),
            case .block(let header) = try file.entry(at: tail.lastBlockOffset, fileSize: fileSize),
            tail.lastBlockOffset + Int64(header.totalLength) == tail.validEnd, header.root == tail.lastBlockRoot
        else { return nil }
        var block: [UInt8] = []
        guard try file.readBlock(header, at: tail.lastBlockOffset, into: &block) == nil,
            let frontier = block.withUnsafeBytes({ BlockDecoder.frontier(of: $0, header) }),
            frontier.root(using: hasher) == header.root
        else { return nil }
        let walker = try SegmentWalker(
            file: file, checking: .blocks, offset: tail.validEnd, nextSeq: header.endSeq,
            blockCount: tail.blockCount, lastRoot: header.root)
        return (walker, frontier)
    }

    /// A torn write only ever damages the last group commit. If a valid block that starts a later commit lies
    /// past the damage, the damaged bytes were acknowledged, and truncating would lose them: refuse instead.
    private static func refuseIfAcknowledgedDataFollows(
        _ file: SegmentFile, from offset: Int64, fileSize: Int64, expectedSeq: UInt64, _ problem: String
    ) throws(AuditLogError) {
        guard try file.containsCommit(after: offset, fileSize: fileSize, laterThan: expectedSeq) else { return }
        throw AuditLogError(
            .corrupt,
            "the segment is damaged (\(problem)) before data of a later commit, so this is not a torn write and "
                + "truncating would lose acknowledged events; run `auditlog verify` on it and restore the file "
                + "from a copy",
            path: file.path, offset: offset)
    }
}
