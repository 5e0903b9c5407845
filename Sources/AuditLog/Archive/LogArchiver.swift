/// Where and how a log's sealed segments are archived (FORMAT.md, "Archive"): ``AuditLog/Options/archive`` for the
/// writer's background uploads, or a ``LogArchiver`` run once.
public struct ArchiveOptions: Sendable {
    public var store: any ArchiveStore
    /// The log's name in the store: its objects are `<logID>/<file name>`. Letters, digits, `.`, `_` and `-`, at
    /// most 128 characters; ``logID(origin:)`` derives one from a checkpoint origin.
    public var logID: String
    /// Lock every object against deletion and overwriting for this many days (S3 Object Lock, COMPLIANCE mode),
    /// or nil.
    public var retainDays: Int?
    /// Remove archived segments from the local disk (their index files stay), read from the store from then on.
    public var localRetention: LocalRetention?

    public init(
        store: any ArchiveStore, logID: String, retainDays: Int? = nil, localRetention: LocalRetention? = nil
    ) throws(AuditLogError) {
        guard !logID.isEmpty, logID.utf8.count <= 128, logID != ".", logID != "..",
            logID.utf8.allSatisfy({ Self.isLogIDByte($0) })
        else {
            throw AuditLogError(
                .invalidArgument,
                "log id \"\(logID)\": use 1 to 128 letters, digits, '.', '_' or '-' (it names the log in the archive)")
        }
        if let retainDays, !(1...36500).contains(retainDays) {
            throw AuditLogError(.invalidArgument, "object lock: retention of \(retainDays) days; use 1 to 36500")
        }
        if let localRetention, localRetention.maxBytes == nil && localRetention.maxAge == nil {
            throw AuditLogError(.invalidArgument, "local retention needs a maximum size, a maximum age, or both")
        }
        self.store = store
        self.logID = logID
        self.retainDays = retainDays
        self.localRetention = localRetention
    }

    /// A log id from a checkpoint origin (`audit.example.com/orders` → `audit.example.com_orders`): every byte
    /// other than a letter, a digit, `.`, `_` or `-` becomes `_`.
    public static func logID(origin: String) -> String {
        String(decoding: origin.utf8.prefix(128).map { isLogIDByte($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
    }

    private static func isLogIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// What the journal records uploads against: the store and the log id.
    var destination: String { "\(store.location)/\(logID)" }
}

/// What one archiving run did.
public struct ArchiveRun: Sendable, Equatable {
    /// Segments uploaded and verified in this run, by file name.
    public var uploaded: [String] = []
    /// Bytes uploaded (segments, their index files and checkpoints).
    public var bytes: Int64 = 0
    /// Sealed segments already archived before the run.
    public var alreadyArchived = 0
    /// Sealed segments still not archived after the run (it was stopped, or failed).
    public var pending = 0
}

/// Uploads a log's sealed segments to an ``ArchiveStore`` (FORMAT.md, "Archive"): each segment with its index files
/// and the checkpoint signed at its seal, each object checked end to end by the store, then recorded in the
/// log's upload journal (`archive.journal`, fdatasynced). A crash at any point loses nothing: a segment is archived
/// once its journal line is written, and a segment without one is uploaded again by the next run (objects are
/// replaced whole, never appended to); so is a segment a redaction replaced since. Local files are never removed
/// here; retention keeps every segment of a log with a journal until it is archived.
///
/// One run at a time per log, across processes (it holds a lock on the journal): the writer's background uploads
/// (``AuditLog/Options/archive``) and `auditlog archive` can both be pointed at a log.
public struct LogArchiver: Sendable {
    public let directory: String
    public let options: ArchiveOptions

    public init(directory: String, options: ArchiveOptions) {
        self.directory = directory
        self.options = options
    }

    /// Sealed segments not yet archived to this destination, by file name, oldest first.
    public func pendingSegments() throws(AuditLogError) -> [String] {
        let archived = try ArchiveJournal.archived(directory: directory, destination: options.destination)
        return try sealedSegments().map(\.name).filter { archived[$0] == nil }
    }

    /// Uploads every sealed segment not yet archived, oldest first.
    /// - Parameters:
    ///   - shouldContinue: Asked before each segment; the run stops when it returns false.
    ///   - progress: Called after each segment with its name and the run so far.
    /// - Throws: ``AuditLogError/Code/archiveUnavailable`` when the store cannot be reached or fails (try again
    ///   later), ``AuditLogError/Code/archiveRefused`` when it refuses; what was archived before stays archived.
    @discardableResult
    public func run(
        shouldContinue: () -> Bool = { true }, progress: ((String, ArchiveRun) -> Void)? = nil
    ) throws(AuditLogError) -> ArchiveRun {
        try SidecarFile.withLock(ArchiveJournal.path(directory)) { () throws(AuditLogError) -> ArchiveRun in
            let archived = try ArchiveJournal.archived(directory: directory, destination: options.destination)
            let sealed = try sealedSegments()
            var run = ArchiveRun()
            var pending = sealed.filter { archived[$0.name] == nil }
            run.alreadyArchived = sealed.count - pending.count
            run.pending = pending.count
            while let segment = pending.first, shouldContinue() {
                let (hash, inode) = try upload(segment, run: &run)
                FaultInjection.crashPoint("segment-uploaded")
                try ArchiveJournal.record(
                    segment: segment.name, sha256: hash, inode: inode, destination: options.destination,
                    directory: directory)
                FaultInjection.crashPoint("archived")
                pending.removeFirst()
                run.pending = pending.count
                run.uploaded.append(segment.name)
                progress?(segment.name, run)
            }
            return run
        }
    }

    // MARK: Private

    /// The sealed segments: every one but the last (the writer's active segment). Each is checked to end in its
    /// footer when it is uploaded.
    private func sealedSegments() throws(AuditLogError) -> [(name: String, baseSeq: UInt64)] {
        try LogFiles.segments(in: directory).dropLast().map { (LogFiles.segmentName(baseSeq: $0.baseSeq), $0.baseSeq) }
    }

    /// Uploads the segment, then its index files and seal checkpoint where present; returns the segment's SHA-256
    /// and the inode of the file uploaded.
    private func upload(_ segment: (name: String, baseSeq: UInt64), run: inout ArchiveRun)
        throws(AuditLogError) -> (SHA256Hash, UInt64)
    {
        let path = LogFiles.path(directory, segment.name)
        let fd = try FileDescriptor.openForReading(path)
        guard let footer = try SegmentFile.open(path: path, baseSeq: segment.baseSeq, fd: fd).footer() else {
            throw AuditLogError(.corrupt, "a segment followed by others has no footer: run auditlog verify", path: path)
        }
        let inode = try fd.inode()
        let bytes = try fd.read(count: Int(try fd.size()), at: 0)
        let hash = try SHA256Hash.digest(of: bytes)
        try put(segment.name, bytes, run: &run)
        let derived = [".idx", ".aix", ".fct"].map { LogFiles.name(segment.baseSeq, $0) }
        for name in derived + [LogFiles.checkpointName(treeSize: footer.endSeq)] {
            if let bytes = try SidecarFile.read(LogFiles.path(directory, name)) { try put(name, bytes, run: &run) }
        }
        // A sealed segment changes only by a rename over it (a redaction's rewritten copy): if that happened while
        // it was uploaded, upload the new one on the next run rather than record what no longer describes it.
        guard FileSystem.inode(path) == inode else {
            throw AuditLogError(
                .archiveUnavailable,
                "\(segment.name) was replaced while it was uploaded (a redaction?); it is uploaded again next run",
                path: path)
        }
        return (hash, inode)
    }

    private func put(_ name: String, _ bytes: [UInt8], run: inout ArchiveRun) throws(AuditLogError) {
        let key = "\(options.logID)/\(name)"
        do throws(ArchiveStoreError) {
            try options.store.put(key, bytes: bytes, retainDays: options.retainDays)
        } catch {
            throw AuditLogError(archive: error, "cannot upload \(name) to \(options.store.location)/\(key)")
        }
        run.bytes += Int64(bytes.count)
    }
}

extension AuditLogError {
    /// An ``ArchiveStoreError`` as ``Code/archiveRefused`` (trying again will not help) or
    /// ``Code/archiveUnavailable`` (it may).
    init(archive error: ArchiveStoreError, _ context: String) {
        self.init(error.kind == .refused ? .archiveRefused : .archiveUnavailable, "\(context): \(error.message)")
    }
}

/// `archive.journal` (FORMAT.md, "Archive"): one line per archived segment, `<segment file name> <SHA-256 hex>
/// <inode> <destination>`, appended and fdatasynced after every object of the segment is verified in the store;
/// and `<segment file name> replaced` when a redaction replaced the segment, or its object turned out missing.
enum ArchiveJournal {
    static let name = "archive.journal"

    static func path(_ directory: String) -> String { LogFiles.path(directory, name) }

    /// The segments archived to `destination` (to any destination when nil), by file name, each with its SHA-256
    /// in hex; empty without a journal. A segment counts only while its file is the one uploaded (the inode
    /// recorded, and no `replaced` line since): a redaction that replaced it makes it pending again, so the
    /// redacted bytes are uploaded too. An evicted segment (``EvictedSegment``) counts wherever it went. A line
    /// torn by a crash (no newline) or not of the format is ignored: its segment is uploaded again.
    static func archived(directory: String, destination: String?) throws(AuditLogError) -> [String: String] {
        var uploads: [String: [(sha256: String, inode: UInt64, destination: String)]] = [:]
        for line in (try SidecarFile.read(path(directory)) ?? []).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            let fields = line.split(separator: 0x20, maxSplits: 3).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count >= 2, LogFiles.baseSeq(ofSegmentNamed: fields[0]) != nil else { continue }
            if fields.count == 2, fields[1] == "replaced" {
                uploads[fields[0]] = nil
            } else if fields.count == 4, SHA256Hash(hex: fields[1]) != nil, let inode = UInt64(fields[2]) {
                uploads[fields[0], default: []].append((fields[1], inode, fields[3]))
            }
        }
        var archived: [String: String] = [:]
        for (segment, lines) in uploads {
            guard let inode = FileSystem.inode(LogFiles.path(directory, segment)) else { continue }
            if let line = lines.last(where: { $0.inode == inode && (destination == nil || $0.destination == destination) }) {
                archived[segment] = line.sha256
            }
        }
        for name in try FileSystem.contents(of: directory) {
            guard let baseSeq = LogFiles.number(ofFileNamed: name, fileExtension: EvictedSegment.fileExtension) else {
                continue
            }
            let segment = LogFiles.segmentName(baseSeq: baseSeq)
            if archived[segment] == nil, !FileSystem.exists(LogFiles.path(directory, segment)),
                let stub = try EvictedSegment.read(segmentPath: LogFiles.path(directory, segment))
            {
                archived[segment] = stub.contentTag
            }
        }
        return archived
    }

    /// Whether the log has a journal: once archived, its retention waits for each segment's upload.
    static func exists(directory: String) -> Bool { FileSystem.exists(path(directory)) }

    static func record(segment: String, sha256: SHA256Hash, inode: UInt64, destination: String, directory: String)
        throws(AuditLogError)
    {
        try append("\(segment) \(sha256) \(inode) \(destination)\n", directory: directory)
    }

    /// Makes the segment pending again: its file was replaced (a redaction), or its object is not in the store.
    static func recordReplaced(segment: String, directory: String) throws(AuditLogError) {
        guard exists(directory: directory) else { return }
        try append("\(segment) replaced\n", directory: directory)
    }

    private static func append(_ text: String, directory: String) throws(AuditLogError) {
        var line = Array(text.utf8)
        // After a line torn by a crash, start a new line rather than extend the torn one.
        if let last = try SidecarFile.read(path(directory))?.last, last != 0x0A { line.insert(0x0A, at: 0) }
        try SidecarFile.append(path(directory), line, sync: true)
    }
}

/// How far the writer's background uploads got (``AuditLog/archiveStatus``).
public struct ArchiveStatus: Sendable, Equatable {
    var configured = false
    /// Sealed segments not archived yet, as of the last attempt.
    public var pendingSegments = 0
    /// Segments uploaded and verified since the log was opened.
    public var uploadedSegments = 0
    /// Segments removed from the local disk by ``ArchiveOptions/localRetention`` since the log was opened.
    public var evictedSegments = 0
    /// The segment uploaded last, by file name.
    public var lastUploaded: String?
    /// Why the last attempt failed; nil once an attempt succeeds. ``AuditLogError/Code/archiveUnavailable`` is
    /// tried again with back-off, ``AuditLogError/Code/archiveRefused`` at the next seal or check interval.
    public var lastError: AuditLogError?
}
