/// A log's archive in object storage (FORMAT.md, "Archive"), read with nothing but the store: what an auditor
/// given read-only credentials to the bucket uses.
public struct ArchiveReader: Sendable {
    public let store: any ArchiveStore
    public let logID: String

    public init(store: any ArchiveStore, logID: String) {
        self.store = store
        self.logID = logID
    }

    /// The archive's address: `s3://BUCKET/PREFIX/<log id>`.
    public var location: String { "\(store.location)/\(logID)" }

    /// The ids of the logs archived in the store (those with at least one segment), sorted.
    public static func logIDs(in store: any ArchiveStore) throws(AuditLogError) -> [String] {
        let objects = try list(store, prefix: "")
        var ids: Set<String> = []
        for object in objects {
            let parts = object.key.split(separator: "/", maxSplits: 1)
            if parts.count == 2, LogFiles.baseSeq(ofSegmentNamed: String(parts[1])) != nil { ids.insert(String(parts[0])) }
        }
        return ids.sorted()
    }

    /// Verifies the archived log as ``AuditLogReader/verify(checkpoints:key:jobs:progress:)`` verifies a directory,
    /// with the same checks, classes and report, fetching one segment at a time per job (memory: `jobs` segments),
    /// never writing anything locally.
    /// - Throws: ``AuditLogError/Code/notFound`` when the store holds no segment of this log;
    ///   ``AuditLogError/Code/archiveUnavailable`` or ``AuditLogError/Code/archiveRefused`` when a listing or a
    ///   fetch fails: then there is no verdict at all, never a partial one.
    public func verify(
        checkpoints: [(name: String, text: String)] = [], key: NoteVerifierKey? = nil, jobs: Int = 1,
        progress: (@Sendable (Int64, Int64) -> Void)? = nil
    ) throws(AuditLogError) -> VerificationReport {
        let log = try ArchivedLog(self)
        guard !log.segments().isEmpty else {
            throw AuditLogError(.notFound, "no archived segment of log \(logID) at \(location)")
        }
        return try LogVerifier.verify(log, checkpoints: checkpoints, key: key, jobs: jobs, progress: progress)
    }

    /// What the archive holds of the log.
    public struct Summary: Sendable, Equatable, Codable {
        public var logID: String
        /// Archived segments, and the bytes of every object of the log (segments, index files, checkpoints).
        public var segments: Int
        public var bytes: Int64
        /// The seqs the archived segments hold: from the base of the oldest to the end of the newest (its footer).
        public var firstSeq: UInt64
        public var treeSize: UInt64
        /// The tree size of the newest archived checkpoint, if any.
        public var newestCheckpoint: UInt64?
    }

    /// What the archive holds of the log, from a listing and the footer of its newest segment (one ranged GET).
    /// Nothing is verified: ``verify(checkpoints:key:jobs:progress:)`` does that.
    public func summary() throws(AuditLogError) -> Summary {
        let log = try ArchivedLog(self)
        let segments = log.segments()
        guard let first = segments.first, let last = segments.last else {
            throw AuditLogError(.notFound, "no archived segment of log \(logID) at \(location)")
        }
        let size = Int64(SegmentFooter.size)
        let tail = try fetch(last.name, range: max(0, last.bytes - size)..<last.bytes)
        let footer = tail.withUnsafeBytes { raw in
            Result { () throws(DecodeFailure) in try SegmentFooter.decode(raw) }
        }
        guard case .success(let footer) = footer else {
            throw AuditLogError(.corrupt, "\(location)/\(last.name) does not end in a footer: run auditlog verify")
        }
        let checkpoints = log.objects.compactMap {
            LogFiles.number(ofFileNamed: $0.name, fileExtension: LogFiles.checkpointExtension)
        }
        return Summary(
            logID: logID, segments: segments.count, bytes: log.objects.reduce(0) { $0 + $1.size },
            firstSeq: first.baseSeq, treeSize: footer.endSeq, newestCheckpoint: checkpoints.max())
    }

    /// What ``download(to:progress:)`` did.
    public struct Download: Sendable, Equatable {
        /// Objects fetched, and their bytes; objects already there unchanged; local files the archive no longer
        /// holds, removed.
        public var fetched = 0
        public var bytes: Int64 = 0
        public var unchanged = 0
        public var removed = 0
    }

    /// Brings a local view of the archived log up to date in `directory` (created, mode 0700, if missing; its
    /// parent must exist): every index file and checkpoint, fetched when new or changed (by size and the store's
    /// tag, kept in `.archive-etags`) and written aside and renamed into place, and for every segment a stub
    /// (``EvictedSegment``), so that readers fetch just the bytes they need, through the directory's bounded cache
    /// (`archive-cache/`); the log's files the archive no longer holds are removed. The view is a log directory
    /// every reader opens (queries, exports, `show`, proofs) once the store is known (``ArchiveStores``); it holds
    /// sealed segments only.
    /// - Parameter progress: Called after each object fetched, with the count so far and the total to fetch.
    @discardableResult
    public func download(to directory: String, progress: ((Int, Int) -> Void)? = nil) throws(AuditLogError)
        -> Download
    {
        try FileSystem.createDirectory(directory)
        return try SidecarFile.withLock(LogFiles.path(directory, ".archive-lock")) { () throws(AuditLogError) in
            let log = try ArchivedLog(self)
            guard !log.segments().isEmpty else {
                throw AuditLogError(.notFound, "no archived segment of log \(logID) at \(location)")
            }
            let manifestPath = LogFiles.path(directory, ".archive-etags")
            var etags: [String: String] = [:]
            for line in String(decoding: try SidecarFile.read(manifestPath) ?? [], as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: " ", maxSplits: 1)
                if fields.count == 2 { etags[String(fields[0])] = String(fields[1]) }
            }
            let directoryFD = try FileDescriptor.openDirectory(directory)
            var stubs: [String] = []
            let tags = Dictionary(log.objects.map { ($0.name, $0.etag ?? "") }, uniquingKeysWith: { first, _ in first })
            for segment in log.segments() {
                let tag = (tags[segment.name] ?? "").utf8.filter {
                    (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0)
                }
                let stub = EvictedSegment(
                    storeLocation: store.location, logID: logID, size: segment.bytes,
                    contentTag: "\(segment.baseSeq)-\(String(decoding: tag, as: UTF8.self))")
                let path = segment.name.dropLast(LogFiles.segmentExtension.count) + EvictedSegment.fileExtension
                stubs.append(String(path))
                if (try? EvictedSegment.read(segmentPath: LogFiles.path(directory, segment.name))) != stub {
                    try stub.write(directory: directory, baseSeq: segment.baseSeq, directoryFD: directoryFD)
                }
            }
            let wanted = log.objects.filter { Self.isFetched($0.name) }
            let stale = wanted.filter { object in
                let path = LogFiles.path(directory, object.name)
                return FileSystem.fileSize(path) != object.size || object.etag == nil || etags[object.name] != object.etag
            }
            var result = Download(unchanged: wanted.count - stale.count)
            for object in stale {
                let bytes = try fetch(object.name)
                try FileSystem.writeAtomically(bytes, to: LogFiles.path(directory, object.name), directoryFD: directoryFD)
                etags[object.name] = object.etag
                result.fetched += 1
                result.bytes += Int64(bytes.count)
                progress?(result.fetched, stale.count)
            }
            // Segment files themselves are never kept (a copy made before segments were read on demand has them).
            let names = Set(wanted.map(\.name) + stubs)
            for name in try FileSystem.contents(of: directory)
            where (Self.isFetched(name) || name.hasSuffix(LogFiles.segmentExtension)
                || name.hasSuffix(EvictedSegment.fileExtension)) && !names.contains(name)
            {
                try FileSystem.remove(LogFiles.path(directory, name))
                etags[name] = nil
                result.removed += 1
            }
            let manifest = etags.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)\n" }.joined()
            try FileSystem.writeAtomically(Array(manifest.utf8), to: manifestPath, directoryFD: directoryFD)
            return result
        }
    }

    /// Whether a name is one of the files of an archive a local view holds: a segment's index files, a checkpoint.
    private static func isFetched(_ name: String) -> Bool {
        [".idx", ".aix", ".fct", LogFiles.checkpointExtension].contains {
            LogFiles.number(ofFileNamed: name, fileExtension: $0) != nil
        }
    }

    static func list(_ store: any ArchiveStore, prefix: String) throws(AuditLogError) -> [ArchivedObject] {
        do throws(ArchiveStoreError) {
            return try store.list(prefix: prefix)
        } catch {
            throw AuditLogError(archive: error, "cannot list \(store.location)/\(prefix)")
        }
    }

    func fetch(_ name: String, range: Range<Int64>? = nil) throws(AuditLogError) -> [UInt8] {
        guard let bytes = try store.fetch("\(logID)/\(name)", range: range) else {
            throw AuditLogError(.archiveUnavailable, "\(location)/\(name) vanished while it was being read")
        }
        return bytes
    }
}

/// An archived log as the verifier reads it: the objects listed once, each segment fetched whole when its turn
/// comes.
struct ArchivedLog: VerifiableLog {
    let reader: ArchiveReader
    let objects: [(name: String, size: Int64, etag: String?)]

    init(_ reader: ArchiveReader) throws(AuditLogError) {
        self.reader = reader
        let prefix = reader.logID + "/"
        objects = try ArchiveReader.list(reader.store, prefix: prefix).compactMap { object in
            guard object.key.hasPrefix(prefix) else { return nil }
            let name = String(object.key.dropFirst(prefix.count))
            return name.contains("/") ? nil : (name, object.size, object.etag)
        }
    }

    var location: String { reader.location }

    func segments() -> [(baseSeq: UInt64, name: String, bytes: Int64)] {
        objects.compactMap { object in
            LogFiles.baseSeq(ofSegmentNamed: object.name).map { ($0, object.name, object.size) }
        }.sorted { $0.baseSeq < $1.baseSeq }
    }

    func checkpoints() throws(AuditLogError) -> [(name: String, text: String)] {
        var notes: [(name: String, text: String)] = []
        for object in objects where object.name.hasSuffix(LogFiles.checkpointExtension) {
            let bytes = try reader.fetch(object.name, range: 0..<min(object.size, 64 << 10))
            notes.append((object.name, String(decoding: bytes, as: UTF8.self)))
        }
        return notes
    }

    func open(segment name: String) throws(AuditLogError) -> any ByteSource {
        MemoryBytes(try reader.fetch(name), path: "\(location)/\(name)")
    }
}
