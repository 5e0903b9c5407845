/// What one redaction changed.
public struct RedactionResult: Sendable, Equatable, Codable {
    /// Seq of the `auditlog.redaction` event that records the redaction (what, which fields, why).
    public var eventSeq: UInt64
    /// Records rewritten without the fields (records already without them are not counted).
    public var recordsRedacted: Int
    /// Segment files rewritten.
    public var segmentsRewritten: Int
    public var fields: [RedactableField]

    public init(eventSeq: UInt64, recordsRedacted: Int, segmentsRewritten: Int, fields: [RedactableField]) {
        self.eventSeq = eventSeq
        self.recordsRedacted = recordsRedacted
        self.segmentsRewritten = segmentsRewritten
        self.fields = fields
    }
}

extension AuditLog {
    /// Erases personal data (GDPR right to erasure) from the stored events of an actor, or from chosen events.
    ///
    /// The redaction is first recorded in the log as an `auditlog.redaction` event (target, fields, reason);
    /// then every segment holding an affected event is rewritten without the fields (the active segment is
    /// sealed first if it holds one). A redacted record keeps its leaf hash, so the tree, earlier checkpoints
    /// and proofs still verify, and drops its salt, so the hash cannot be brute-forced back to the data. The old
    /// bytes leave the directory: segment files are replaced by rename, and index files hold no personal data.
    /// Crash-safe: the next open finishes a redaction whose event was committed.
    /// - Parameters:
    ///   - target: An actor id (every event of that actor so far), or up to 10,000 seqs.
    ///   - fields: What to remove; by default every field that can hold personal data.
    ///   - reason: Why (a ticket, a request id): recorded in the redaction event, shown by `auditlog show`.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` for an empty reason or field list, an unknown seq, or the
    ///   log's own events, or an actor without events.
    @discardableResult
    public func redact(
        _ target: RedactionTarget, fields: [RedactableField] = RedactableField.personalData, reason: String
    ) throws(AuditLogError) -> RedactionResult {
        try writer.redact(target, fields: Set(fields).sorted(), reason: reason)
    }
}

/// When and why an event was redacted: from the redaction event that did it.
public struct RedactionDetails: Sendable, Equatable, Codable {
    /// Seq of the `auditlog.redaction` event.
    public var eventSeq: UInt64
    /// When it was recorded.
    public var timestamp: Timestamp
    public var reason: String
    public var fields: [RedactableField]

    public init(eventSeq: UInt64, timestamp: Timestamp, reason: String, fields: [RedactableField]) {
        self.eventSeq = eventSeq
        self.timestamp = timestamp
        self.reason = reason
        self.fields = fields
    }
}

extension AuditLogReader {
    /// When and why `stored` was redacted, from the redaction event that did it (nil if it is not redacted).
    public func redactionDetails(of stored: StoredEvent) throws(AuditLogError) -> RedactionDetails? {
        guard let redaction = stored.redaction else { return nil }
        let event = try event(seq: redaction.redactedBy)
        guard let rule = SystemEvents.redactionRule(event) else {
            throw AuditLogError(
                .corrupt, "event \(redaction.redactedBy) should record the redaction of \(stored.seq) but does not",
                path: directory)
        }
        return RedactionDetails(
            eventSeq: event.seq, timestamp: event.event.timestamp, reason: rule.reason, fields: redaction.fields)
    }
}

extension LogWriter {
    static let maxRedactedSeqs = 10_000

    func redact(_ target: RedactionTarget, fields: [RedactableField], reason: String) throws(AuditLogError)
        -> RedactionResult
    {
        guard !reason.allSatisfy(\.isWhitespace) else {
            throw AuditLogError(.invalidArgument, "give a reason for the redaction (it is recorded in the log)")
        }
        guard !fields.isEmpty else { throw AuditLogError(.invalidArgument, "choose at least one field to redact") }
        guard reason.utf8.count <= options.limits.maxStringBytes else {
            throw AuditLogError(.invalidArgument, "the reason is over \(options.limits.maxStringBytes) bytes")
        }
        return try exclusively { () throws(AuditLogError) in
            try checkTarget(target)
            var rule = SystemEvents.RedactionRule(target: target, fields: fields, reason: reason)
            rule.seq = try commitSystemEvent(SystemEvents.event(rule), journal: true)
            let result = try apply(rule)
            FaultInjection.crashPoint("applied")
            try MaintenanceJournal.remove(directory: directory, directoryFD: directoryHandle)
            return result
        }
    }

    /// Refuses targets that would redact nothing or the log's own records, before anything is recorded.
    private func checkTarget(_ target: RedactionTarget) throws(AuditLogError) {
        let engine = try AuditLogReader(directory: directory)
        switch target {
        case .actor(let id):
            guard !id.isEmpty else { throw AuditLogError(.invalidArgument, "the actor id is empty") }
            guard id != SystemEvents.actorID else {
                throw AuditLogError(.invalidArgument, "the log's own actor \"\(id)\" cannot be redacted")
            }
            var found = false
            try engine.forEach(matching: Query(actorIDs: [id])) { _ in
                found = true
                return false
            }
            guard found else { throw AuditLogError(.invalidArgument, "actor \"\(id)\" has no events in this log") }
        case .events(let seqs):
            guard !seqs.isEmpty, seqs.count <= Self.maxRedactedSeqs else {
                throw AuditLogError(.invalidArgument, "give 1 to \(Self.maxRedactedSeqs) seqs to redact")
            }
            let size = state.treeSize
            for seq in Set(seqs) {
                guard seq < size else {
                    throw AuditLogError(.invalidArgument, "seq \(seq) is not in the log (it has \(size) events)")
                }
                let stored = try engine.event(seq: seq)
                guard !SystemEvents.isReserved(stored.event.actor) else {
                    throw AuditLogError(
                        .invalidArgument,
                        "seq \(seq) is the log's own \(stored.event.action) record; it cannot be redacted")
                }
            }
        }
    }

    /// Rewrites every record the rule covers (sealing the active segment first if it holds one). Idempotent:
    /// records already redacted of these fields are left as they are. Exclusive only (or at open).
    func apply(_ rule: SystemEvents.RedactionRule) throws(AuditLogError) -> RedactionResult {
        var seqs: [UInt64]
        switch rule.target {
        case .actor(let id):
            seqs = []
            try AuditLogReader(directory: directory).forEach(matching: Query(actorIDs: [id], order: .oldestFirst)) {
                guard $0.seq < rule.seq else { return false }
                seqs.append($0.seq)
                return true
            }
        case .events(let list):
            seqs = Set(list).filter { $0 < rule.seq }.sorted()
        }
        guard let last = seqs.last else {
            return RedactionResult(
                eventSeq: rule.seq, recordsRedacted: 0, segmentsRewritten: 0,
                fields: rule.fields)
        }
        try sealActiveSegment(ifItHolds: last)
        FaultInjection.crashPoint("sealed")
        let wanted = Set(seqs)
        let hasher = try MerkleHasher()
        let segments = try LogFiles.segments(in: directory)
        var records = 0
        var rewritten = 0
        for (i, segment) in segments.enumerated() {
            let end = i + 1 < segments.count ? segments[i + 1].baseSeq : UInt64.max
            guard seqs.contains(where: { $0 >= segment.baseSeq && $0 < end }) else { continue }
            let count = try SegmentRewriter.rewrite(
                segment, directory: directory, directoryFD: directoryHandle, maxBlockBytes: options.maxBlockBytes
            ) { (seq, record) throws(AuditLogError) in
                guard wanted.contains(seq) else { return nil }
                do throws(DecodeFailure) {
                    return try RecordCodec.redacting(
                        record, fields: RedactableField.mask(of: rule.fields), redactedBy: rule.seq, hasher: hasher)
                } catch {
                    throw AuditLogError(.corrupt, "record \(seq): \(error.reason)", path: segment.path)
                }
            }
            records += count
            if count > 0 { rewritten += 1 }
        }
        return RedactionResult(
            eventSeq: rule.seq, recordsRedacted: records, segmentsRewritten: rewritten,
            fields: rule.fields)
    }

    /// Finishes a retention or redaction that a crash interrupted after its event was committed
    /// (``MaintenanceJournal``); called at open, before any append.
    func finishPendingMaintenance() throws(AuditLogError) {
        guard let seq = try MaintenanceJournal.read(directory: directory) else { return }
        if seq < state.treeSize {
            let stored = try AuditLogReader(directory: directory).event(seq: seq)
            if let retention = SystemEvents.retention(stored.event) {
                try RetentionPlan.removeFiles(
                    below: retention.prunedBelow, directory: directory, directoryFD: directoryHandle)
            } else if let rule = SystemEvents.redactionRule(stored) {
                _ = try apply(rule)
            }
        }
        // Otherwise the event never committed: nothing was changed.
        try MaintenanceJournal.remove(directory: directory, directoryFD: directoryHandle)
    }
}
