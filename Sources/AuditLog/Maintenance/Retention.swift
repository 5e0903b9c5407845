/// How long a log keeps its events: by age, by size, or both (whichever removes more).
///
/// Retention removes whole sealed segments from the oldest on (never the active one), so it frees disk for
/// real; a segment goes only when its newest event is older than `maxAge`, or while the log is larger than
/// `maxBytes`. What is removed is recorded in the log itself (FORMAT.md, "Retention and redaction"), and the
/// Merkle frontier at the new first segment keeps the tree size, roots, checkpoints and proofs working.
public struct RetentionPolicy: Sendable, Equatable {
    /// Remove sealed segments whose newest event is older than this.
    public var maxAge: Duration?
    /// Remove the oldest sealed segments while the log (segments and their index files) is larger than this.
    public var maxBytes: Int64?
    /// A writer opened with this policy applies it in the background at open, after every segment seal, and
    /// this often. Default: hourly.
    public var checkInterval: Duration = .seconds(3600)

    /// - Parameters:
    ///   - maxAge: Keep events this long, for example `.seconds(400 * 86_400)`.
    ///   - maxBytes: Keep the log under this size.
    public init(maxAge: Duration? = nil, maxBytes: Int64? = nil) {
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }

    /// `max-age 400d, max-bytes 10737418240`: recorded in the retention event as the reason.
    var description: String {
        var parts: [String] = []
        if let age = maxAge?.wholeMilliseconds {
            let day: Int64 = 86_400_000
            parts.append(age % day == 0 ? "max-age \(age / day)d" : "max-age \(age)ms")
        }
        if let bytes = maxBytes { parts.append("max-bytes \(bytes)") }
        return parts.joined(separator: ", ")
    }
}

/// What one application of a ``RetentionPolicy`` removed (or, for a dry run, would remove).
public struct RetentionResult: Sendable, Equatable, Codable {
    /// Segment files removed, oldest first.
    public var segmentsRemoved: [String]
    /// Bytes freed: the segments and their index files.
    public var bytesRemoved: Int64
    /// The first seq kept: every event below it is gone.
    public var prunedBelow: UInt64
    /// Seq of the `auditlog.retention` event that records it; nil for a dry run or when nothing was removed.
    public var eventSeq: UInt64?
    public var dryRun: Bool
    /// Events and bytes the log holds afterwards (as of when the segments were chosen).
    public var eventsKept: UInt64
    public var bytesKept: Int64

    public init(
        segmentsRemoved: [String], bytesRemoved: Int64, prunedBelow: UInt64, eventSeq: UInt64?, dryRun: Bool,
        eventsKept: UInt64, bytesKept: Int64
    ) {
        self.segmentsRemoved = segmentsRemoved
        self.bytesRemoved = bytesRemoved
        self.prunedBelow = prunedBelow
        self.eventSeq = eventSeq
        self.dryRun = dryRun
        self.eventsKept = eventsKept
        self.bytesKept = bytesKept
    }
}

/// Which segments a policy removes, computed from segment footers (no record is read).
struct RetentionPlan {
    var remove: [(baseSeq: UInt64, path: String, bytes: Int64)] = []
    var boundary: UInt64 = 0
    var rootAtBoundary: SHA256Hash?
    var keptBytes: Int64 = 0
    var endSeq: UInt64 = 0

    init(directory: String, policy: RetentionPolicy, now: Int64) throws(AuditLogError) {
        let segments = try LogFiles.segments(in: directory)
        let sizes = segments.map { Self.bytes(of: $0, directory: directory) }
        var total = sizes.reduce(0, +)
        var i = 0
        // A log that is archived keeps each segment until its upload is verified (FORMAT.md, "Archive").
        let archived = ArchiveJournal.exists(directory: directory)
            ? try ArchiveJournal.archived(directory: directory, destination: nil) : nil
        // Never the last segment (the active one); stop at the first segment the policy keeps.
        while i + 1 < segments.count {
            if let archived, archived[LogFiles.segmentName(baseSeq: segments[i].baseSeq)] == nil { break }
            let file = try SegmentFile.open(path: segments[i].path, baseSeq: segments[i].baseSeq)
            guard let footer = try file.footer(), footer.endSeq == segments[i + 1].baseSeq else {
                break
            }
            let old = policy.maxAge.map { footer.maxTimestamp < now - $0.wholeMilliseconds } ?? false
            let over = policy.maxBytes.map { total > $0 } ?? false
            guard old || over else { break }
            remove.append((segments[i].baseSeq, segments[i].path, sizes[i]))
            total -= sizes[i]
            i += 1
        }
        keptBytes = total
        if i < segments.count {
            let first = try SegmentFile.open(path: segments[i].path, baseSeq: segments[i].baseSeq)
            boundary = first.header.baseSeq
            rootAtBoundary = first.header.frontier.root(using: try MerkleHasher())
        }
        endSeq = try LogState.current(directory: directory).treeSize
    }

    func result(eventSeq: UInt64?, dryRun: Bool) -> RetentionResult {
        RetentionResult(
            segmentsRemoved: remove.map { LogFiles.segmentName(baseSeq: $0.baseSeq) },
            bytesRemoved: remove.reduce(0) { $0 + $1.bytes }, prunedBelow: boundary, eventSeq: eventSeq,
            dryRun: dryRun, eventsKept: endSeq - boundary, bytesKept: keptBytes)
    }

    private static func bytes(of segment: (baseSeq: UInt64, path: String), directory: String) -> Int64 {
        (FileSystem.fileSize(segment.path) ?? 0)
            + (FileSystem.fileSize(SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: segment.baseSeq))
                ?? 0)
            + (FileSystem.fileSize(SegmentIndexFiles.actorIndexPath(directory: directory, baseSeq: segment.baseSeq))
                ?? 0)
            + (FileSystem.fileSize(SegmentFacets.path(directory: directory, baseSeq: segment.baseSeq)) ?? 0)
    }

    /// Removes every file of the log below seq `boundary`: segments oldest first (so what is left is always a
    /// contiguous run of segments), then their index files and checkpoints of smaller trees; then fsyncs the
    /// directory. Idempotent, so a crash midway is finished by running it again.
    static func removeFiles(below boundary: UInt64, directory: String, directoryFD: FileDescriptor)
        throws(AuditLogError)
    {
        guard boundary > 0 else { return }
        let names = try FileSystem.contents(of: directory)
        guard names.contains(LogFiles.segmentName(baseSeq: boundary))
            || names.contains(LogFiles.name(boundary, EvictedSegment.fileExtension))
        else {
            throw AuditLogError(
                .corrupt, "retention would keep seq \(boundary) on, but no segment starts there; nothing was removed",
                path: directory)
        }
        func below(_ fileExtension: String) -> [String] {
            names.filter { (LogFiles.number(ofFileNamed: $0, fileExtension: fileExtension) ?? .max) < boundary }
                .sorted()
        }
        // An evicted segment's stub goes with it; its object stays in the archive (the archive's own retention).
        for name in (below(LogFiles.segmentExtension) + below(EvictedSegment.fileExtension)).sorted() {
            try FileSystem.remove(LogFiles.path(directory, name))
            FaultInjection.crashPoint("segment-removed")
        }
        for fileExtension in [
            SegmentIndexFiles.blockIndexExtension, SegmentIndexFiles.actorIndexExtension, SegmentFacets.fileExtension,
            LogFiles.checkpointExtension,
        ] {
            for name in below(fileExtension) { try FileSystem.remove(LogFiles.path(directory, name)) }
        }
        try directoryFD.synchronize()
    }
}

extension AuditLog {
    /// Applies `policy` now: removes the sealed segments it selects and records that in the log with an
    /// `auditlog.retention` event (seq, boundary, root at the boundary, reason). Crash-safe: a crash leaves the
    /// old files or the new, and the next open finishes what the recorded event says.
    /// - Parameter now: The time the age limit counts back from (default: the current time).
    public func applyRetention(_ policy: RetentionPolicy, dryRun: Bool = false, now: Timestamp = .now)
        throws(AuditLogError) -> RetentionResult
    {
        try writer.applyRetention(policy, dryRun: dryRun, now: now.millisecondsSinceEpoch)
    }

}

extension AuditLogReader {
    /// What `policy` would remove from the log now, without changing anything (no writer needed).
    /// - Parameter now: The time the age limit counts back from (default: the current time).
    public func retentionPlan(_ policy: RetentionPolicy, now: Timestamp = .now) throws(AuditLogError)
        -> RetentionResult
    {
        try RetentionPlan(directory: directory, policy: policy, now: now.millisecondsSinceEpoch)
            .result(eventSeq: nil, dryRun: true)
    }
}

extension LogWriter {
    func applyRetention(_ policy: RetentionPolicy, dryRun: Bool, now: Int64) throws(AuditLogError) -> RetentionResult {
        guard policy.maxAge != nil || policy.maxBytes != nil else {
            throw AuditLogError(.invalidArgument, "a retention policy needs a maximum age, a maximum size, or both")
        }
        return try exclusively { () throws(AuditLogError) in
            let plan = try RetentionPlan(directory: directory, policy: policy, now: now)
            guard !dryRun, !plan.remove.isEmpty, let root = plan.rootAtBoundary else {
                return plan.result(eventSeq: nil, dryRun: dryRun)
            }
            let retention = SystemEvents.Retention(
                prunedBelow: plan.boundary, rootAtBoundary: root, segmentsRemoved: plan.remove.count,
                bytesRemoved: plan.remove.reduce(0) { $0 + $1.bytes }, reason: policy.description)
            let seq = try commitSystemEvent(SystemEvents.event(retention), journal: true)
            try RetentionPlan.removeFiles(below: plan.boundary, directory: directory, directoryFD: directoryHandle)
            FaultInjection.crashPoint("applied")
            try MaintenanceJournal.remove(directory: directory, directoryFD: directoryHandle)
            return plan.result(eventSeq: seq, dryRun: false)
        }
    }
}
