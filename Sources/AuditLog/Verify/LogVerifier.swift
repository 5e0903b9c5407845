import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension AuditLog {
    /// Verifies a log directory offline, read-only, without trusting anything derived: every block checksum,
    /// every leaf hash, every stored root and frontier, segment continuity, and the checkpoints found in the log
    /// and given here (signatures with `key`, and that the log contains each checkpoint's tree).
    ///
    /// Segments are checked independently from the frontier in their header, `jobs` at a time.
    /// - Parameters:
    ///   - checkpoints: Signed checkpoint notes the auditor holds, as (name, text) pairs.
    ///   - key: The verifier key checkpoints must be signed by; without it signatures are not checked.
    ///   - progress: Called with (bytes verified, total bytes) from worker threads.
    /// - Returns: The report; integrity problems are in ``VerificationReport/problems``.
    /// - Throws: only when the directory cannot be read at all.
    public static func verify(
        directory: String, checkpoints: [(name: String, text: String)] = [], key: NoteVerifierKey? = nil,
        jobs: Int = 1, progress: (@Sendable (Int64, Int64) -> Void)? = nil
    ) throws(AuditLogError) -> VerificationReport {
        let started = monotonicNanoseconds()
        guard FileSystem.isDirectory(directory) else {
            throw AuditLogError(.notFound, "no log directory here", path: directory)
        }
        var report = VerificationReport(directory: directory)
        let segments = try LogFiles.segments(in: directory)

        // Checkpoints: from the log directory and from the auditor.
        var notes = checkpoints
        for name in try FileSystem.contents(of: directory).sorted() where name.hasSuffix(LogFiles.checkpointExtension) {
            let path = LogFiles.path(directory, name)
            guard let fd = try? FileDescriptor.openForReading(path), let bytes = try? fd.read(count: 64 << 10, at: 0)
            else {
                throw AuditLogError(.io, "cannot read checkpoint", path: path)
            }
            notes.append((name, String(decoding: bytes, as: UTF8.self)))
        }
        var sizes: Set<UInt64> = []
        var parsed: [(String, Checkpoint?, VerificationReport.CheckpointResult.Signature, String?)] = []
        for (name, text) in notes {
            do throws(AuditLogError) {
                let note = try SignedNote(text)
                let checkpoint = try Checkpoint(text: note.text)
                var signature = VerificationReport.CheckpointResult.Signature.notChecked
                var problem: String?
                if let key {
                    signature = note.isSigned(by: key) ? .valid : .invalid
                    if signature == .invalid {
                        let signers = note.signatures.map { "\($0.name)+\(hexString($0.keyID))" }.joined(
                            separator: ", ")
                        problem =
                            note.signatures.contains(where: { $0.name == key.name && $0.keyID == key.keyID })
                            ? "the signature by \(key.name) does not verify (forged or altered)"
                            : "not signed by \(key.name)+\(hexString(key.keyID)); signed by \(signers)"
                    } else if checkpoint.origin != key.name {
                        signature = .invalid
                        problem = "checkpoint origin \(checkpoint.origin) is not the key's name \(key.name)"
                    }
                }
                sizes.insert(checkpoint.treeSize)
                parsed.append((name, checkpoint, signature, problem))
            } catch {
                parsed.append((name, nil, .invalid, "unreadable checkpoint: \(error.message)"))
            }
        }

        // Segments, in parallel.
        let totalBytes = segments.reduce(Int64(0)) { $0 + (FileSystem.fileSize($1.path) ?? 0) }
        let checkpointSizes = sizes.sorted()
        let work = SegmentWork(
            segments: segments, checkpointSizes: checkpointSizes, totalBytes: totalBytes, progress: progress)
        let jobs = max(1, min(jobs, segments.count))
        report.jobs = jobs
        var threads: [BackgroundThread] = []
        for _ in 1..<max(1, jobs) { threads.append(try BackgroundThread { work.run() }) }
        work.run()
        for thread in threads { thread.join() }
        let results = work.results.withLock { $0 }

        // Continuity between segments, then totals.
        let hasher = try MerkleHasher()
        var rootsAtSizes: [UInt64: SHA256Hash] = [0: hasher.emptyRoot()]
        var previous: SegmentCheck?
        var chainIntact = true
        for (index, entry) in segments.enumerated() {
            guard let check = results[index] else { continue }
            let name = fileName(entry.path)
            report.segments.append(check.result)
            report.recordBytes += check.result.recordBytes
            report.problems += check.problems
            if !check.problems.isEmpty { chainIntact = false }
            if index == 0, let base = check.headerBase, base > 0 {
                // Only retention may remove the first segments, and it records that in the log.
                let pruned = results.compactMap { $0?.retentions.map(\.retention.prunedBelow).max() }.max() ?? 0
                if pruned >= base {
                    report.prunedBelow = base
                } else {
                    report.problems.append(
                        .init(
                            kind: .missingSegment, file: name, offset: 0, length: nil, seq: 0,
                            message: "seq 0..<\(base) missing: the log's first segment(s) are gone, and no "
                                + "retention event in the log removed them"))
                    chainIntact = false
                }
            }
            if let previous {
                if !previous.result.sealed && previous.problems.isEmpty {
                    report.problems.append(
                        .init(
                            kind: .truncated, file: previous.result.file, offset: previous.result.bytes, length: nil,
                            seq: previous.result.endSeq,
                            message: "segment ends without a footer but is followed by another: the file was cut short")
                    )
                    chainIntact = false
                }
                if previous.problems.isEmpty, let base = check.headerBase, check.nameMatchesHeader {
                    if base > previous.result.endSeq {
                        report.problems.append(
                            .init(
                                kind: .missingSegment, file: name, offset: 0, length: nil, seq: previous.result.endSeq,
                                message: "seq \(previous.result.endSeq)..<\(base) missing: a segment between "
                                    + "\(previous.result.file) and \(name) is gone"))
                        chainIntact = false
                    } else if base < previous.result.endSeq {
                        report.problems.append(
                            .init(
                                kind: .reordered, file: name, offset: 0, length: nil, seq: base,
                                message:
                                    "segment starts at seq \(base), inside the previous segment (which ends at \(previous.result.endSeq))"
                            ))
                        chainIntact = false
                    } else if check.headerFrontier != previous.finalFrontier {
                        report.problems.append(
                            .init(
                                kind: .modified, file: name, offset: 0, length: Int64(check.headerSize), seq: base,
                                message: "segment header frontier does not continue the previous segment's tree"))
                        chainIntact = false
                    }
                }
            }
            if chainIntact {
                for (size, root) in check.roots { rootsAtSizes[size] = root }
                if let frontier = check.headerFrontier, rootsAtSizes[frontier.size] == nil {
                    rootsAtSizes[frontier.size] = frontier.root(using: hasher)
                }
                report.treeSize = check.result.endSeq
                report.root = check.finalFrontier?.root(using: hasher)
            }
            previous = check
        }
        if segments.isEmpty { report.root = hasher.emptyRoot() }
        checkRetentionAndRedaction(results.compactMap { $0 }, segments: segments, into: &report, hasher: hasher)

        // Checkpoints against the recomputed tree.
        for (name, checkpoint, signature, problem) in parsed {
            var result = VerificationReport.CheckpointResult(
                source: name, checkpoint: checkpoint, signature: signature, consistent: nil)
            if let problem {
                report.problems.append(
                    .init(
                        kind: .badSignature, file: name, offset: nil, length: nil, seq: checkpoint?.treeSize,
                        message: problem))
            }
            if let checkpoint {
                if checkpoint.treeSize > report.treeSize && chainIntact {
                    result.consistent = false
                    report.problems.append(
                        .init(
                            kind: .truncated, file: name, offset: nil, length: nil, seq: report.treeSize,
                            message: "the log has \(report.treeSize) events but checkpoint \(name) commits to "
                                + "\(checkpoint.treeSize): it was truncated or rolled back"))
                } else if let root = rootsAtSizes[checkpoint.treeSize] {
                    result.consistent = root == checkpoint.root
                    if root != checkpoint.root {
                        report.problems.append(
                            .init(
                                kind: .inconsistentWithCheckpoint, file: name, offset: nil, length: nil,
                                seq: checkpoint.treeSize,
                                message:
                                    "the log's root at tree size \(checkpoint.treeSize) is \(root.hex), the checkpoint "
                                    + "says \(checkpoint.root.hex): the log was rewritten"))
                    }
                }
            }
            report.checkpoints.append(result)
        }
        report.seconds = Double(monotonicNanoseconds() - started) / 1e9
        return report
    }

    /// Each retention event's root at its boundary must match the frontier kept there; each redacted record
    /// must be covered, for every field it lacks, by redaction events after it.
    private static func checkRetentionAndRedaction(
        _ checks: [SegmentCheck], segments: [(baseSeq: UInt64, path: String)], into report: inout VerificationReport,
        hasher: MerkleHasher
    ) {
        for check in checks {
            for (seq, retention) in check.retentions {
                guard let kept = checks.first(where: { $0.headerBase == retention.prunedBelow }),
                    let frontier = kept.headerFrontier
                else { continue }  // a later retention removed that boundary too
                let root = frontier.root(using: hasher)
                if root != retention.rootAtBoundary {
                    report.problems.append(
                        .init(
                            kind: .modified, file: kept.result.file, offset: 0, length: Int64(kept.headerSize),
                            seq: retention.prunedBelow,
                            message: "retention event \(seq) recorded root \(retention.rootAtBoundary.hex) at seq "
                                + "\(retention.prunedBelow), but the segment starting there carries \(root.hex)"))
                }
            }
        }
        var byActor: [String: [SystemEvents.RedactionRule]] = [:]
        var bySeq: [UInt64: [SystemEvents.RedactionRule]] = [:]
        for rule in checks.flatMap(\.redactionRules) {
            switch rule.target {
            case .actor(let id): byActor[id, default: []].append(rule)
            case .events(let seqs): for seq in Set(seqs) { bySeq[seq, default: []].append(rule) }
            }
        }
        for check in checks {
            for record in check.redacted {
                let covering = ((byActor[record.actorID] ?? []) + (bySeq[record.seq] ?? [])).filter {
                    $0.seq <= record.by && $0.covers(seq: record.seq, actorID: record.actorID)
                }
                let fields = covering.reduce(UInt16(0)) { $0 | $1.fields }
                if covering.contains(where: { $0.seq == record.by }) && record.fields & ~fields == 0 {
                    report.redactedEvents += 1
                    continue
                }
                report.problems.append(
                    .init(
                        kind: .unrecordedRedaction, file: check.result.file, offset: record.offset, length: nil,
                        seq: record.seq,
                        message:
                            "event \(record.seq) is redacted (\(RedactableField.fields(in: record.fields).map(\.rawValue).joined(separator: ", "))) "
                            + "but no redaction event in the log covers it: its data was removed without a record"))
            }
        }
    }

    private static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

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
}

/// Hands segments to verification threads and collects their results.
private final class SegmentWork: Sendable {
    let segments: [(baseSeq: UInt64, path: String)]
    let checkpointSizes: [UInt64]
    let totalBytes: Int64
    let progress: (@Sendable (Int64, Int64) -> Void)?
    let next = Atomic<Int>(0)
    let done = Atomic<Int64>(0)
    let results: Locked<[SegmentCheck?]>

    init(
        segments: [(baseSeq: UInt64, path: String)], checkpointSizes: [UInt64], totalBytes: Int64,
        progress: (@Sendable (Int64, Int64) -> Void)?
    ) {
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
                path: entry.path, nameBase: entry.baseSeq, isLast: index == segments.count - 1,
                checkpointSizes: checkpointSizes, hasher: hasher
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
        path: String, nameBase: UInt64, isLast: Bool, checkpointSizes: [UInt64], hasher: MerkleHasher,
        progress: (Int64) -> Void
    ) -> SegmentCheck {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var check = SegmentCheck(
            result: .init(
                file: name, baseSeq: nameBase, endSeq: nameBase, bytes: FileSystem.fileSize(path) ?? 0, recordBytes: 0,
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
            file = try SegmentFile.open(path: path)
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
        var payload: [UInt8] = []
        var nextCheckpoint = checkpointSizes.firstIndex { $0 > frontier.size } ?? checkpointSizes.count
        progress(Int64(file.headerSize))
        walk()
        check.result.endSeq = frontier.size
        check.finalFrontier = check.problems.isEmpty ? frontier : nil
        check.result.isValid = check.problems.isEmpty
        return check

        /// Checks every entry from the header on, stopping at the end, the footer or the first problem.
        func walk() {
            while true {
                let step: SegmentWalker.Step
                switch Result(catching: { () throws(AuditLogError) in try walker.next() }) {
                case .success(let next): step = next
                case .failure(let error):
                    problem(.modified, walker.offset, nil, frontier.size, "cannot read: \(error)")
                    return
                }
                switch step {
                case .end:
                    return
                case .footer:
                    check.result.sealed = true
                    progress(Int64(SegmentFooter.size))
                    return
                case .damaged(let damage):
                    classify(damage)
                    return
                case .block(let blockHeader, let offset):
                    let length = Int64(blockHeader.totalLength)
                    var recordBytes = 0
                    var bad: String?
                    do throws(DecodeFailure) {
                        try walker.forEachRecord(blockHeader, payload: &payload) { (_, record) throws(DecodeFailure) in
                            guard record[0] == RecordCodec.version else {
                                throw DecodeFailure(reason: "record version \(record[0]) is unknown", offset: 0)
                            }
                            recordBytes += record.count
                            frontier.append(RecordCodec.leafHash(of: record, using: hasher), using: hasher)
                            if RecordCodec.isRedacted(record) || SystemEvents.mayBeSystemEvent(record) {
                                try note(record, at: offset)
                            }
                            if nextCheckpoint < checkpointSizes.count
                                && checkpointSizes[nextCheckpoint] == frontier.size
                            {
                                check.roots[frontier.size] = frontier.root(using: hasher)
                                nextCheckpoint += 1
                            }
                        }
                    } catch {
                        bad = error.reason
                    }
                    if let bad {
                        problem(
                            .modified, offset, length, blockHeader.firstSeq, "block records cannot be decoded: \(bad)")
                        return
                    }
                    let root = frontier.root(using: hasher)
                    guard root == blockHeader.root, walker.frontier(of: blockHeader) == frontier else {
                        problem(
                            .modified, offset, length, blockHeader.firstSeq,
                            "the records up to seq \(blockHeader.endSeq) do not hash to the root stored in this "
                                + "block: a record in it or before it (since the segment header) was changed, removed "
                                + "or added")
                        return
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
        guard let rest = try? file.fd.read(count: Int(min(fileSize - offset, 1 << 20)), at: offset) else {
            return false
        }
        // A block whose header survived but whose body did not reach the disk reads as zeros after the header.
        let body = rest.dropFirst(damage.kind == .blockChecksum ? BlockHeader.size : 0)
        return !body.isEmpty && body.allSatisfy { $0 == 0 }
    }
}

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
