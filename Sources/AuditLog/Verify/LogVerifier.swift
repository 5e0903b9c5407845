import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension AuditLogReader {
    /// Verifies the log offline, read-only, without trusting anything derived: every block checksum,
    /// every leaf hash, every stored root and frontier, segment continuity, and the checkpoints found in the log
    /// and given here (signatures with `key`, and that the log contains each checkpoint's tree).
    ///
    /// Segments are checked independently from the frontier in their header, on up to `jobs` threads; a large
    /// segment taken when fewer are left than there are threads is split in two at a block, each half checked on
    /// a thread of its own from the frontier stored before it.
    /// - Parameters:
    ///   - checkpoints: Signed checkpoint notes the auditor holds, as (name, text) pairs.
    ///   - key: The verifier key checkpoints must be signed by; without it signatures are not checked.
    ///   - progress: Called with (bytes verified, total bytes) from worker threads.
    /// - Returns: The report; integrity problems are in ``VerificationReport/problems``.
    /// - Throws: only when the directory cannot be read at all.
    public func verify(
        checkpoints: [(name: String, text: String)] = [], key: NoteVerifierKey? = nil, jobs: Int = 1,
        progress: (@Sendable (Int64, Int64) -> Void)? = nil
    ) throws(AuditLogError) -> VerificationReport {
        try LogVerifier.verify(
            directory: directory, checkpoints: checkpoints, key: key, jobs: jobs, progress: progress)
    }
}

/// What the verifier reads: a log directory, or a log's archive in object storage (``ArchivedLog``).
protocol VerifiableLog: Sendable {
    /// The directory or the archive's address, for the report.
    var location: String { get }
    /// The segments, by the base seq their names give, in order, with their sizes.
    func segments() throws(AuditLogError) -> [(baseSeq: UInt64, name: String, bytes: Int64)]
    /// The signed checkpoints kept with the log, by file name.
    func checkpoints() throws(AuditLogError) -> [(name: String, text: String)]
    /// A segment's bytes.
    func open(segment name: String) throws(AuditLogError) -> any ByteSource
    /// The seq of a retention or redaction event a crash interrupted (`maintenance.pending`): the next open
    /// finishes it, so what it has not done yet is not a problem.
    func pendingMaintenance() -> UInt64?
}

extension VerifiableLog {
    func pendingMaintenance() -> UInt64? { nil }
}

/// A log directory, as the verifier reads it.
struct LocalLog: VerifiableLog {
    let directory: String
    var location: String { directory }

    func segments() throws(AuditLogError) -> [(baseSeq: UInt64, name: String, bytes: Int64)] {
        var segments: [(baseSeq: UInt64, name: String, bytes: Int64)] = []
        for segment in try LogFiles.segments(in: directory) {
            var size = FileSystem.fileSize(segment.path)
            if size == nil { size = try EvictedSegment.read(segmentPath: segment.path)?.size }
            segments.append((segment.baseSeq, LogFiles.segmentName(baseSeq: segment.baseSeq), size ?? 0))
        }
        return segments
    }

    func checkpoints() throws(AuditLogError) -> [(name: String, text: String)] {
        var notes: [(name: String, text: String)] = []
        for name in try FileSystem.contents(of: directory).sorted() where name.hasSuffix(LogFiles.checkpointExtension) {
            let path = LogFiles.path(directory, name)
            guard let fd = try? FileDescriptor.openForReading(path), let bytes = try? fd.read(count: 64 << 10, at: 0)
            else {
                throw AuditLogError(.io, "cannot read checkpoint", path: path)
            }
            notes.append((name, String(decoding: bytes, as: UTF8.self)))
        }
        return notes
    }

    func open(segment name: String) throws(AuditLogError) -> any ByteSource {
        try SegmentFile.source(path: LogFiles.path(directory, name), whole: true)
    }

    func pendingMaintenance() -> UInt64? { try? MaintenanceJournal.read(directory: directory) }
}

/// The whole-log checks: checkpoints parsed and their signatures checked, segments verified in parallel
/// (``SegmentVerifier``), then the chain between segments, the retention and redaction records
/// (``MaintenanceAudit``), and each checkpoint against the recomputed tree.
enum LogVerifier {
    static func verify(
        directory: String, checkpoints: [(name: String, text: String)], key: NoteVerifierKey?, jobs: Int,
        progress: (@Sendable (Int64, Int64) -> Void)?
    ) throws(AuditLogError) -> VerificationReport {
        guard FileSystem.isDirectory(directory) else {
            throw AuditLogError(.notFound, "no log directory here", path: directory)
        }
        return try verify(
            LocalLog(directory: directory), checkpoints: checkpoints, key: key, jobs: jobs, progress: progress)
    }

    static func verify(
        _ log: any VerifiableLog, checkpoints: [(name: String, text: String)], key: NoteVerifierKey?, jobs: Int,
        progress: (@Sendable (Int64, Int64) -> Void)?
    ) throws(AuditLogError) -> VerificationReport {
        let started = monotonicNanoseconds()
        var report = VerificationReport(directory: log.location)
        let segments = try log.segments()

        // Checkpoints: kept with the log and from the auditor.
        let notes = checkpoints + (try log.checkpoints())
        var sizes: Set<UInt64> = []
        var parsed: [(String, Checkpoint?, VerificationReport.CheckpointResult.Signature, String?)] = []
        for (name, text) in notes {
            do throws(AuditLogError) {
                let note = try SignedNote(text)
                let checkpoint = try Checkpoint(note.text)
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
        let totalBytes = segments.reduce(Int64(0)) { $0 + $1.bytes }
        let checkpointSizes = sizes.sorted()
        let work = SegmentWork(
            log: log, segments: segments, checkpointSizes: checkpointSizes, totalBytes: totalBytes,
            jobs: max(1, jobs), progress: progress)
        let jobs = max(1, min(jobs, segments.count))
        report.jobs = jobs
        var threads: [BackgroundThread] = []
        for _ in 1..<max(1, jobs) { threads.append(try BackgroundThread { work.run() }) }
        work.run()
        for thread in threads { thread.join() }
        work.spare.stop()
        let results = work.results.withLock { $0 }
        if let error = results.lazy.compactMap({ $0?.unreadable }).first { throw error }

        // Continuity between segments, then totals.
        let hasher = try MerkleHasher()
        var rootsAtSizes: [UInt64: SHA256Hash] = [0: hasher.emptyRoot()]
        var previous: SegmentCheck?
        var chainIntact = true
        for (index, entry) in segments.enumerated() {
            guard let check = results[index] else { continue }
            let name = entry.name
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
        MaintenanceAudit.check(
            results.compactMap { $0 }, pending: log.pendingMaintenance(), into: &report, hasher: hasher)

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
}
