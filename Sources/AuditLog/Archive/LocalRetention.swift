/// How much of an archived log stays on the local disk (``ArchiveOptions/localRetention``): sealed segments whose
/// upload is verified are removed locally, oldest first, while the local segments are larger than `maxBytes` or
/// their newest event is older than `maxAge`. Each leaves a stub (FORMAT.md, "Archive") and its index files, and
/// every reader (queries, exports, `show`, proofs, verify) then fetches just the bytes it needs from the store,
/// through a bounded cache in the log directory. Nothing is removed from the log: its tree, proofs and checkpoints
/// are unchanged, and ``RetentionPolicy`` still decides when events go for good.
public struct LocalRetention: Sendable, Equatable {
    public static let defaultCacheBytes: Int64 = 256 << 20

    /// Keep the local segment files under this many bytes.
    public var maxBytes: Int64?
    /// Keep segments locally while their newest event is younger than this.
    public var maxAge: Duration?
    /// The bound of the cache of bytes fetched back (``ArchiveStores/cacheBytes``); default 256 MiB.
    public var cacheBytes: Int64 = defaultCacheBytes

    public init(maxBytes: Int64? = nil, maxAge: Duration? = nil, cacheBytes: Int64 = defaultCacheBytes) {
        self.maxBytes = maxBytes
        self.maxAge = maxAge
        self.cacheBytes = cacheBytes
    }
}

extension LogWriter {
    /// Evicts the sealed segments `policy` selects, oldest first, each only if its journal line says it was
    /// uploaded to `archive`, the store still holds an object of its size, and the local file still hashes to what
    /// was uploaded. Otherwise the segment is made pending again (uploaded again) and kept. The store is asked
    /// outside the writer's lock; the swap itself (stub written and synced, then the file removed and the
    /// directory synced) holds it, so a redaction cannot replace the segment in between. A crash leaves the file
    /// or the stub, or both (the file wins, and the next pass removes it). Returns the segments evicted.
    func evictArchivedSegments(_ archive: ArchiveOptions, policy: LocalRetention, now: Int64) throws(AuditLogError)
        -> [String]
    {
        let archived = try ArchiveJournal.archived(directory: directory, destination: archive.destination)
        let segments = try LogFiles.segments(in: directory)
        let local = segments.compactMap { segment in FileSystem.fileSize(segment.path).map { (segment, $0) } }
        var total = local.reduce(0) { $0 + $1.1 }
        var evicted: [String] = []
        // Never the last segment (the active one).
        for (segment, size) in local where segment.baseSeq != segments.last?.baseSeq {
            if isStopping { break }  // the log is closing: the next open goes on
            let name = LogFiles.segmentName(baseSeq: segment.baseSeq)
            let file = try SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq)
            guard let footer = try file.footer() else { break }
            let old = policy.maxAge.map { footer.maxTimestamp < now - $0.wholeMilliseconds } ?? false
            let over = policy.maxBytes.map { total > $0 } ?? false
            guard old || over else { break }
            guard let sha256 = archived[name] else { continue }  // not uploaded yet
            guard let inode = FileSystem.inode(segment.path) else { continue }
            let key = "\(archive.logID)/\(name)"
            let objects: [ArchivedObject]
            do throws(ArchiveStoreError) {
                objects = try archive.store.list(prefix: key)
            } catch {
                throw AuditLogError(archive: error, "cannot check \(archive.store.location)/\(key) before evicting it")
            }
            let bytes = try file.source.read(count: Int(size), at: 0)
            guard objects.contains(where: { $0.key == key && $0.size == size }),
                bytes.count == Int(size), try SHA256Hash.digest(of: bytes).description == sha256
            else {
                try ArchiveJournal.recordReplaced(segment: name, directory: directory)
                continue
            }
            let stub = EvictedSegment(
                storeLocation: archive.store.location, logID: archive.logID, size: size, contentTag: sha256)
            let done = try exclusively { () throws(AuditLogError) -> Bool in
                guard FileSystem.inode(segment.path) == inode else { return false }
                try stub.write(directory: directory, baseSeq: segment.baseSeq, directoryFD: directoryHandle)
                FaultInjection.crashPoint("stub-written")
                try FileSystem.remove(segment.path)
                try directoryHandle.synchronize()
                return true
            }
            if done {
                evicted.append(name)
                total -= size
            }
        }
        return evicted
    }
}
