/// What retention removed from a log's archive (``AuditLog/applyArchiveRetention(_:recordKept:now:)``), recorded in the log by an
/// `auditlog.archive.retention` event (FORMAT.md, "Archive").
public struct ArchiveRetentionResult: Sendable, Equatable, Codable {
    /// The archive: `s3://BUCKET/PREFIX/<log id>`.
    public var archive: String
    /// The log's first seq: the archive's objects of segments below it are the ones retention removes.
    public var prunedBelow: UInt64
    /// Segments whose objects were removed (every version), by file name, oldest first; and the bytes of every
    /// object removed (segments, index files, checkpoints).
    public var segmentsRemoved: [String]
    public var bytesRemoved: Int64
    /// Segments kept because the store still locks them (object lock), and the latest end of their retention.
    public var segmentsKept: [String]
    public var keptUntil: String?
    /// Seq of the event that records it; nil when no event was written (nothing was removable, and the kept
    /// segments were recorded before).
    public var eventSeq: UInt64?
}

extension LogWriter {
    /// Retention on the archive: the objects of segments below the log's first seq (those local retention removed)
    /// are removed from the store, every version, except where the store still locks them (object lock): those
    /// stay, and the event says so. The event is committed before anything is removed; a pass that fails midway
    /// is finished (and recorded again) by the next. Without anything removable, an event is written only when
    /// `recordKept` (retention has just moved the log's first seq) and some segments are kept. Returns nil when the
    /// archive holds nothing below the log's first seq.
    func applyArchiveRetention(_ archive: ArchiveOptions, recordKept: Bool, now: Int64) throws(AuditLogError)
        -> ArchiveRetentionResult?
    {
        guard let first = try LogFiles.segments(in: directory).first, first.baseSeq > 0 else { return nil }
        let boundary = first.baseSeq
        let prefix = archive.logID + "/"
        let below = try ArchiveReader.list(archive.store, prefix: prefix).filter { object in
            let name = String(object.key.dropFirst(prefix.count))
            return !name.contains("/") && Self.archivedFileNumber(name).map { $0 < boundary } == true
        }
        guard !below.isEmpty else { return nil }
        var removable: [ArchivedObject] = []
        var kept: [(segment: String, until: String)] = []
        for object in below {
            let head: ArchivedObject?
            do throws(ArchiveStoreError) {
                head = try archive.store.head(object.key)
            } catch {
                throw AuditLogError(archive: error, "cannot check \(archive.store.location)/\(object.key)")
            }
            guard let head else { continue }  // gone meanwhile
            if let until = head.retainUntil, RFC3339.parse(until).map({ $0 > now }) ?? true {  // unreadable: locked
                if object.key.hasSuffix(LogFiles.segmentExtension) {
                    kept.append((String(object.key.dropFirst(prefix.count)), until))
                }
            } else {
                removable.append(object)
            }
        }
        let removed = removable.map { String($0.key.dropFirst(prefix.count)) }.filter {
            $0.hasSuffix(LogFiles.segmentExtension)
        }
        var result = ArchiveRetentionResult(
            archive: archive.destination, prunedBelow: boundary, segmentsRemoved: removed,
            bytesRemoved: removable.reduce(0) { $0 + $1.size }, segmentsKept: kept.map(\.segment),
            keptUntil: kept.map(\.until).max())
        guard !removable.isEmpty || (recordKept && !kept.isEmpty) else { return result }
        result.eventSeq = try commitSystemEvent(SystemEvents.event(result), journal: false)
        FaultInjection.crashPoint("archive-retention-recorded")
        for object in removable {
            do throws(ArchiveStoreError) {
                try archive.store.delete(object.key)
            } catch where error.kind == .refused {
                continue  // locked after all, or not ours to delete: it stays, and the next pass tries again
            } catch {
                throw AuditLogError(archive: error, "cannot remove \(archive.store.location)/\(object.key)")
            }
        }
        return result
    }

    /// The number in the name of a file an archive holds (segment, index file, checkpoint), or nil.
    private static func archivedFileNumber(_ name: String) -> UInt64? {
        [LogFiles.segmentExtension, ".idx", ".aix", ".fct", LogFiles.checkpointExtension].lazy.compactMap {
            LogFiles.number(ofFileNamed: name, fileExtension: $0)
        }.first
    }
}

extension AuditLog {
    /// Applies retention to the log's archive now: removes from the store the objects of segments that retention
    /// removed from the log, except those the store still locks (object lock), and records it in the log with an
    /// `auditlog.archive.retention` event (also when nothing could be removed, if `recordKept`: pass true right
    /// after a retention that removed segments, so that what the lock keeps is on record). The writer does this in
    /// the background after each retention pass when both ``Options/retention`` and ``Options/archive`` are set.
    /// - Parameter archive: The archive (default: ``Options/archive``).
    /// - Returns: What was removed and kept, or nil when the archive holds nothing below the log's first seq.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` without an archive; ``AuditLogError/Code/archiveUnavailable``
    ///   or ``AuditLogError/Code/archiveRefused`` when the store fails or refuses (what was removed stays removed).
    @discardableResult
    public func applyArchiveRetention(
        _ archive: ArchiveOptions? = nil, recordKept: Bool = false, now: Timestamp = .now
    ) throws(AuditLogError) -> ArchiveRetentionResult? {
        guard let archive = archive ?? options.archive else {
            throw AuditLogError(.invalidArgument, "no archive: give one, or open the log with Options.archive")
        }
        return try writer.applyArchiveRetention(archive, recordKept: recordKept, now: now.millisecondsSinceEpoch)
    }
}
