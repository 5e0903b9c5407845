import Synchronization

/// The outcome of checking one segment on its own.
struct SegmentCheck {
    var result: VerificationReport.SegmentResult
    var problems: [VerificationReport.Problem] = []
    var headerBase: UInt64?
    var headerSize = 0
    var nameMatchesHeader = true
    var headerFrontier: MerkleFrontier?
    /// The frontier after the last verified record.
    var finalFrontier: MerkleFrontier?
    /// Roots at the checkpoint sizes this segment covers.
    var roots: [UInt64: SHA256Hash] = [:]
    /// Redacted records (to be matched with redaction events), and the log's own retention and redaction events.
    var redacted: [(seq: UInt64, actorID: String, fields: UInt16, by: UInt64, offset: Int64)] = []
    var retentions: [(seq: UInt64, retention: SystemEvents.Retention)] = []
    var redactionRules: [SystemEvents.RedactionRule] = []
    /// Each actor with records that are not redacted: the first such record's seq and block offset.
    var unredactedActors = FirstRecordsByActor()
    /// Why the segment could not be fetched from an archive at all: no verdict, the verification fails.
    var unreadable: AuditLogError?
}

/// Hands segments to verification threads and collects their results.
final class SegmentWork: Sendable {
    let log: any VerifiableLog
    let segments: [(baseSeq: UInt64, name: String, bytes: Int64)]
    let checkpointSizes: [UInt64]
    let totalBytes: Int64
    let progress: (@Sendable (Int64, Int64) -> Void)?
    let next = Atomic<Int>(0)
    let done = Atomic<Int64>(0)
    let results: Locked<[SegmentCheck?]>
    /// The threads asked for. When fewer segments are left to take than there are other threads, those threads
    /// will run out of work: a job then verifies the second half of its segment on `spare` (``SecondHalf``).
    let jobs: Int
    let spare = HelperThread()

    init(
        log: any VerifiableLog, segments: [(baseSeq: UInt64, name: String, bytes: Int64)], checkpointSizes: [UInt64],
        totalBytes: Int64, jobs: Int, progress: (@Sendable (Int64, Int64) -> Void)?
    ) {
        self.jobs = jobs
        self.log = log
        self.segments = segments
        self.checkpointSizes = checkpointSizes
        self.totalBytes = totalBytes
        self.progress = progress
        results = Locked(Array(repeating: nil, count: segments.count))
    }

    func run() {
        guard let hasher = try? MerkleHasher() else { return }
        while true {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard index < segments.count else { return }
            let entry = segments[index]
            let check = SegmentVerifier.check(
                name: entry.name, bytes: entry.bytes,
                open: { () throws(AuditLogError) in try log.open(segment: entry.name) },
                nameBase: entry.baseSeq, isLast: index == segments.count - 1,
                checkpointSizes: checkpointSizes, hasher: hasher,
                split: segments.count - 1 - index < jobs - 1 ? spare : nil
            ) { bytes in
                let total = self.done.wrappingAdd(bytes, ordering: .relaxed).newValue
                self.progress?(total, self.totalBytes)
            }
            results.withLock { $0[index] = check }
        }
    }
}

/// Checks one segment from its header frontier: every block, record, leaf hash, root and frontier.
enum SegmentVerifier {
    static func check(
        name: String, bytes: Int64, open: () throws(AuditLogError) -> any ByteSource, nameBase: UInt64, isLast: Bool,
        checkpointSizes: [UInt64], hasher: MerkleHasher, split: HelperThread? = nil, progress: (Int64) -> Void
    ) -> SegmentCheck {
        var check = SegmentCheck(
            result: .init(
                file: name, baseSeq: nameBase, endSeq: nameBase, bytes: bytes, recordBytes: 0,
                sealed: false, incompleteTailBytes: 0, isValid: false))
        func problem(
            _ kind: VerificationReport.ProblemKind, _ offset: Int64, _ length: Int64?, _ seq: UInt64?, _ message: String
        ) {
            check.problems.append(
                .init(kind: kind, file: name, offset: offset, length: length, seq: seq, message: message))
        }
        let file: SegmentFile
        do throws(AuditLogError) {
            // The header is checked against its own base first, so that a swapped file is told apart from damage.
            file = try SegmentFile.open(source: try open())
        } catch  where error.code == .archiveUnavailable || error.code == .archiveRefused {
            // Not a verdict on the log: the verification fails as a whole.
            check.unreadable = error
            return check
        } catch  where error.code == .notFound {
            // An evicted segment whose object is not in the archive.
            problem(.missingSegment, 0, nil, nameBase, error.message)
            return check
        } catch {
            problem(
                error.code == .io ? .truncated : .modified, error.offset ?? 0, nil, nameBase,
                "segment header is damaged: \(error.message)")
            return check
        }
        let header = file.header
        check.headerBase = header.baseSeq
        check.headerSize = file.headerSize
        check.headerFrontier = header.frontier
        check.result.baseSeq = header.baseSeq
        check.result.endSeq = header.baseSeq
        if header.baseSeq != nameBase {
            check.nameMatchesHeader = false
            problem(
                .reordered, SegmentFile.baseSeqOffset, 8, header.baseSeq,
                "the file is named for seq \(nameBase) but holds the segment starting at seq \(header.baseSeq): "
                    + "segment files were swapped or renamed")
            return check
        }
        guard var walker = try? SegmentWalker(file: file, checking: .blocks) else {
            problem(.modified, 0, nil, nameBase, "cannot read the segment")
            return check
        }
        var frontier = header.frontier
        progress(Int64(file.headerSize))
        let secondHalf = split.flatMap { helper in
            SecondHalf.start(on: helper, name: name, file: file, isLast: isLast, checkpointSizes: checkpointSizes)
        }
        let reachedSplit = walkBlocks(
            name: name, file: file, walker: &walker, frontier: &frontier, check: &check, isLast: isLast,
            checkpointSizes: checkpointSizes, hasher: hasher, stop: secondHalf?.offset, progress: progress)
        if let secondHalf {
            let done = secondHalf.wait()
            if reachedSplit {  // stopped at the split, so with no problem before it
                if let done, done.start == frontier {
                    merge(done.check, into: &check)
                    frontier = done.frontier
                    progress(done.bytes)
                } else {  // the helper could not start its half, or started from another state: walk it here
                    _ = walkBlocks(
                        name: name, file: file, walker: &walker, frontier: &frontier, check: &check, isLast: isLast,
                        checkpointSizes: checkpointSizes, hasher: hasher, stop: nil, progress: progress)
                }
            }
        }
        check.result.endSeq = frontier.size
        check.finalFrontier = check.problems.isEmpty ? frontier : nil
        check.result.isValid = check.problems.isEmpty
        return check
    }

    /// Checks the entries from `walker`'s position on, folding leaves into `frontier`, until the end, the footer,
    /// the first problem, or (returning true) the entry at offset `stop`.
    fileprivate static func walkBlocks(
        name: String, file: SegmentFile, walker: inout SegmentWalker, frontier: inout MerkleFrontier,
        check: inout SegmentCheck, isLast: Bool, checkpointSizes: [UInt64], hasher: MerkleHasher, stop: Int64?,
        progress: (Int64) -> Void
    ) -> Bool {
        func problem(
            _ kind: VerificationReport.ProblemKind, _ offset: Int64, _ length: Int64?, _ seq: UInt64?, _ message: String
        ) {
            check.problems.append(
                .init(kind: kind, file: name, offset: offset, length: length, seq: seq, message: message))
        }
        var payload: [UInt8] = []
        var leaves: [SHA256Hash] = []
        var ignored: [(level: Int, hash: SHA256Hash)] = []
        var nextCheckpoint = checkpointSizes.firstIndex { $0 > frontier.size } ?? checkpointSizes.count
        return walk()

        /// Checks every entry from the walker's position on, stopping at the end, the footer, the first problem
        /// or `stop`.
        func walk() -> Bool {
            while true {
                if let stop, walker.offset == stop { return true }
                let step: SegmentWalker.Step
                switch Result(catching: { () throws(AuditLogError) in try walker.next() }) {
                case .success(let next): step = next
                case .failure(let error):
                    problem(.modified, walker.offset, nil, frontier.size, "cannot read: \(error)")
                    return false
                }
                switch step {
                case .end:
                    return false
                case .footer:
                    check.result.sealed = true
                    progress(Int64(SegmentFooter.size))
                    return false
                case .damaged(let damage):
                    classify(damage)
                    return false
                case .block(let blockHeader, let offset):
                    let length = Int64(blockHeader.totalLength)
                    var recordBytes = 0
                    var bad: String?
                    // Leaves are hashed two at a time (the SHA extensions interleave two messages): a record waits
                    // for the next one of its block (the block's payload stays put while its records are read);
                    // the block's last record is hashed alone. A block with fewer records than its header says
                    // leaves one unhashed, and fails its root as it would anyway. The leaves join the frontier at
                    // the end of the block (and at a checkpoint's size), level by level.
                    var waiting: UnsafeRawBufferPointer?
                    leaves.removeAll(keepingCapacity: true)
                    func append(_ leaf: SHA256Hash) {
                        leaves.append(leaf)
                        let size = frontier.size + UInt64(leaves.count)
                        if nextCheckpoint < checkpointSizes.count && checkpointSizes[nextCheckpoint] == size {
                            appendLeaves()
                            check.roots[frontier.size] = frontier.root(using: hasher)
                            nextCheckpoint += 1
                        }
                    }
                    func appendLeaves() {
                        frontier.append(contentsOf: leaves, using: hasher, completing: &ignored, fromLevel: 64)
                        leaves.removeAll(keepingCapacity: true)
                    }
                    do throws(DecodeFailure) {
                        try walker.forEachRecord(blockHeader, payload: &payload) {
                            (seq, record) throws(DecodeFailure) in
                            guard record[0] == RecordCodec.version else {
                                throw DecodeFailure(reason: "record version \(record[0]) is unknown", offset: 0)
                            }
                            recordBytes += record.count
                            if let first = waiting {
                                waiting = nil
                                let (a, b) = RecordCodec.leafHashes(of: first, record, using: hasher)
                                append(a)
                                append(b)
                            } else if seq + 1 == blockHeader.endSeq {
                                append(RecordCodec.leafHash(of: record, using: hasher))
                            } else {
                                waiting = record
                            }
                            if RecordCodec.isRedacted(record) || SystemEvents.mayBeSystemEvent(record) {
                                try note(record, at: offset)
                            } else if let actor = SegmentIndexFiles.actorID(ofRecord: record) {
                                check.unredactedActors.add(
                                    id: actor, hash: SegmentIndexFiles.actorHash(actor), seq: seq, offset: offset)
                            }
                        }
                    } catch {
                        bad = error.reason
                    }
                    appendLeaves()
                    if let bad {
                        problem(
                            .modified, offset, length, blockHeader.firstSeq, "block records cannot be decoded: \(bad)")
                        return false
                    }
                    let root = frontier.root(using: hasher)
                    guard root == blockHeader.root, walker.frontier(of: blockHeader) == frontier else {
                        problem(
                            .modified, offset, length, blockHeader.firstSeq,
                            "the records up to seq \(blockHeader.endSeq) do not hash to the root stored in this "
                                + "block: a record in it or before it (since the segment header) was changed, removed "
                                + "or added")
                        return false
                    }
                    check.result.recordBytes += Int64(recordBytes)
                    progress(length)
                }
            }
        }

        /// Keeps what cross-checks need from a redacted record or a system event (both rare).
        func note(_ record: UnsafeRawBufferPointer, at offset: Int64) throws(DecodeFailure) {
            let stored = try RecordCodec.decode(record, into: StoredEvent.self, using: hasher)
            if let redaction = stored.redaction {
                check.redacted.append(
                    (
                        stored.seq, stored.event.actor.id, RedactableField.mask(of: redaction.fields),
                        redaction.redactedBy, offset
                    ))
            } else if let retention = SystemEvents.retention(stored.event) {
                check.retentions.append((stored.seq, retention))
            } else if let rule = SystemEvents.redactionRule(stored) {
                check.redactionRules.append(rule)
            }
        }

        /// Bad bytes at the end of the active segment with nothing committed after them, in the shape a crash
        /// leaves, are a torn write (reported, not a failure). An entry cut short by the end of a sealed segment's
        /// file, with nothing committed after it, means the file was cut short. Anything else is damage.
        func classify(_ damage: SegmentDamage) {
            let fileSize = walker.fileSize
            let laterCommit =
                (try? file.containsCommit(after: damage.offset, fileSize: fileSize, laterThan: frontier.size)) ?? true
            let torn = damage.isCutShort || looksTorn(file, damage, fileSize: fileSize)
            if isLast && !laterCommit && torn && damage.kind != .bytesAfterFooter {
                check.result.incompleteTailBytes = fileSize - damage.offset
                return
            }
            if !isLast && !laterCommit && damage.isCutShort {
                problem(
                    .truncated, damage.offset, fileSize - damage.offset, frontier.size,
                    "the segment is cut short at byte \(damage.offset) (\(damage.reason))")
                return
            }
            problem(.modified, damage.offset, damage.length ?? (fileSize - damage.offset), frontier.size, damage.reason)
        }
    }
}

extension SegmentVerifier {
    /// Whether bad bytes at the end of the log have the shape a crash leaves: an entry cut short by the end of
    /// the file, or zeros (space the file system allocated but the write never reached). A complete block that
    /// fails its checksum, or other bytes, were changed after they were written.
    fileprivate static func looksTorn(_ file: SegmentFile, _ damage: SegmentDamage, fileSize: Int64) -> Bool {
        let offset = damage.offset
        if fileSize - offset < Int64(BlockHeader.size) { return true }
        guard let rest = try? file.source.read(count: Int(min(fileSize - offset, 1 << 20)), at: offset) else {
            return false
        }
        // A block whose header survived but whose body did not reach the disk reads as zeros after the header.
        let body = rest.dropFirst(damage.kind == .blockChecksum ? BlockHeader.size : 0)
        return !body.isEmpty && body.allSatisfy { $0 == 0 }
    }
}

extension SegmentVerifier {
    /// Smaller segments are verified by one thread (a hand-over costs tens of µs, a 4 MiB segment ~5 ms).
    static let minimumBytesToSplit: Int64 = 4 << 20

    /// Adds what the second half of a segment found to what the first half found.
    fileprivate static func merge(_ second: SegmentCheck, into check: inout SegmentCheck) {
        check.problems += second.problems
        check.roots.merge(second.roots) { first, _ in first }
        check.redacted += second.redacted
        check.retentions += second.retentions
        check.redactionRules += second.redactionRules
        check.unredactedActors.add(second.unredactedActors)
        check.result.recordBytes += second.result.recordBytes
        check.result.sealed = second.result.sealed
        check.result.incompleteTailBytes = second.result.incompleteTailBytes
    }
}

/// The second half of a large segment, verified on a helper thread while the job verifies the first half: it
/// starts at the block a walk over the headers finds at the middle of the file, from the frontier stored in the
/// block before it (a block the first half checks whole). The job takes these findings only if its own walk
/// stopped at that very block with no problem and the frontier this half started from; otherwise it walks the
/// rest itself. Local files only (an archived segment's reads are not for two threads).
private final class SecondHalf: @unchecked Sendable {
    // @unchecked: set before the helper's task starts; `done` is written by the task and read after `wait`.
    let offset: Int64
    private let start: MerkleFrontier
    private let blockCount: UInt32
    private let lastRoot: SHA256Hash
    private let name: String
    private let file: SegmentFile
    private let isLast: Bool
    private let checkpointSizes: [UInt64]
    private let helper: HelperThread
    private var done: (check: SegmentCheck, frontier: MerkleFrontier, start: MerkleFrontier, bytes: Int64)?

    /// Starts verifying the second half of `file` on `helper`, or returns nil (the job verifies all of it): a
    /// small or archived segment, no block boundary found, or a busy helper.
    static func start(
        on helper: HelperThread, name: String, file: SegmentFile, isLast: Bool, checkpointSizes: [UInt64]
    ) -> SecondHalf? {
        guard file.source is FileDescriptor, let size = try? file.source.size(),
            size >= SegmentVerifier.minimumBytesToSplit,
            let point = splitPoint(file, size: size)
        else { return nil }
        let half = SecondHalf(
            offset: point.offset, start: point.start, blockCount: point.blockCount, lastRoot: point.lastRoot,
            name: name, file: file, isLast: isLast, checkpointSizes: checkpointSizes, helper: helper)
        return helper.start({ half.run() }) ? half : nil
    }

    private init(
        offset: Int64, start: MerkleFrontier, blockCount: UInt32, lastRoot: SHA256Hash, name: String,
        file: SegmentFile, isLast: Bool, checkpointSizes: [UInt64], helper: HelperThread
    ) {
        self.offset = offset
        self.start = start
        self.blockCount = blockCount
        self.lastRoot = lastRoot
        self.name = name
        self.file = file
        self.isLast = isLast
        self.checkpointSizes = checkpointSizes
        self.helper = helper
    }

    /// The first block that starts in the second half of the file, with the frontier stored in the block before
    /// it (read whole, checksum checked); nil if the headers do not lead there.
    private static func splitPoint(_ file: SegmentFile, size: Int64)
        -> (offset: Int64, start: MerkleFrontier, blockCount: UInt32, lastRoot: SHA256Hash)?
    {
        guard var walker = try? SegmentWalker(file: file, checking: .headers) else { return nil }
        var previous: (header: BlockHeader, offset: Int64)?
        while case .block(let header, let offset)? = try? walker.next() {
            if offset >= size / 2, let before = previous {
                var bytes: [UInt8] = []
                do throws(AuditLogError) {
                    guard try file.readBlock(before.header, at: before.offset, into: &bytes) == nil else { return nil }
                } catch {
                    return nil
                }
                guard let frontier = bytes.withUnsafeBytes({ BlockDecoder.frontier(of: $0, before.header) }) else {
                    return nil
                }
                return (offset, frontier, walker.blockCount - 1, before.header.root)
            }
            previous = (header, offset)
        }
        return nil
    }

    private func run() {
        guard let hasher = try? MerkleHasher(),
            var walker = try? SegmentWalker(
                file: file, checking: .blocks, offset: offset, nextSeq: start.size, blockCount: blockCount,
                lastRoot: lastRoot)
        else { return }
        var check = SegmentCheck(
            result: .init(
                file: name, baseSeq: file.header.baseSeq, endSeq: start.size, bytes: 0, recordBytes: 0, sealed: false,
                incompleteTailBytes: 0, isValid: false))
        var frontier = start
        var bytes: Int64 = 0
        _ = SegmentVerifier.walkBlocks(
            name: name, file: file, walker: &walker, frontier: &frontier, check: &check, isLast: isLast,
            checkpointSizes: checkpointSizes, hasher: hasher, stop: nil
        ) { bytes += $0 }
        done = (check, frontier, start, bytes)
    }

    /// Waits for this half; its findings, unless it could not start.
    func wait() -> (check: SegmentCheck, frontier: MerkleFrontier, start: MerkleFrontier, bytes: Int64)? {
        helper.wait()
        return done
    }
}
