/// An append-only, tamper-evident audit log stored in one directory.
///
/// ```swift
/// let log = try AuditLog(directory: "/var/lib/myapp/audit")
/// try log.append([event])
/// let reader = try log.events(from: 0)
/// while let stored = try reader.next() { print(stored.seq, stored.event.action) }
/// try log.close()
/// ```
///
/// One process at a time may open a directory as `AuditLog` (the writer); any number of ``LogReader``s, in
/// any process, may read it meanwhile. `append` is thread-safe and batches concurrent callers into group
/// commits. Nothing in the API updates or deletes an event.
public final class AuditLog: Sendable {
    /// When an acknowledged append is on stable storage.
    public enum Durability: Sendable, Equatable {
        /// Every commit is fdatasynced before `append` returns: acknowledged means on disk.
        case sync
        /// Commits are written before `append` returns and fdatasynced at most this many milliseconds later.
        case interval(milliseconds: Int)
        /// Commits are written before `append` returns; the OS decides when they reach the disk.
        case none
    }

    public struct Options: Sendable {
        public var durability: Durability = .sync
        /// A segment is sealed, and a new one started, at the first commit after it reaches this size.
        /// Default 32 MiB. Opening checks the whole active segment (about 1.2 ms per MiB), so this bounds open
        /// time; retention drops whole segments, so it is also the granularity of retention.
        public var maxSegmentBytes: Int = 32 << 20
        /// A block is closed when its uncompressed records reach this size. Default 64 KiB.
        public var maxBlockBytes: Int = 64 << 10
        public var limits = EventLimits()
        /// Create the directory when it does not exist. Default true.
        public var createIfMissing = true
        /// When set, the writer signs a C2SP checkpoint of the log into the log directory
        /// (`<tree size>.checkpoint`) at every segment seal and at close, once the data it covers is synced.
        public var checkpointSigner: NoteSigner?
        /// With a signer, also sign a checkpoint after a commit when this many seconds have passed since the last.
        public var checkpointIntervalSeconds: Int?
        /// When set, the writer applies this retention policy in the background: at open, after every segment
        /// seal, and every ``RetentionPolicy/checkIntervalSeconds``.
        public var retention: RetentionPolicy?

        public init(durability: Durability = .sync) {
            self.durability = durability
        }
    }

    let writer: LogWriter
    let queryEngine = SharedQueryEngine()

    /// The log directory.
    public var directory: String { writer.directory }

    /// What opening the log found and repaired (a torn tail cut off, temporary files removed).
    public var recoveryReport: RecoveryReport { writer.report }

    /// Opens (creating if needed) the log in `directory` for writing, recovering from a crash if there was one.
    /// - Throws: ``AuditLogError/Code/locked`` if another writer has it open; ``AuditLogError/Code/corrupt`` if the
    ///   last segment is damaged in a way that is not a torn write.
    public init(directory: String, options: Options = Options()) throws(AuditLogError) {
        guard options.maxSegmentBytes >= 4096, (1024...(16 << 20)).contains(options.maxBlockBytes) else {
            throw AuditLogError(
                .invalidArgument, "maxSegmentBytes must be at least 4 KiB and maxBlockBytes 1 KiB to 16 MiB")
        }
        if case .interval(let ms) = options.durability, ms <= 0 {
            throw AuditLogError(.invalidArgument, "the sync interval must be positive")
        }
        writer = try LogWriter(directory: directory, options: options)
    }

    /// A log dropped without ``close()`` is closed here: queued appends finish, the file is synced and the
    /// directory lock released. Errors are lost; call ``close()`` to see them.
    deinit {
        try? writer.close()
    }

    /// Appends events, assigning them consecutive sequence numbers, and returns once they are acknowledged
    /// (see ``Durability``). Either every event of the call is stored or, on error, none is acknowledged.
    /// - Returns: The sequence numbers assigned, in order.
    /// - Throws: ``AuditLogError/Code/invalidEvent`` (nothing appended) if an event breaks the limits;
    ///   ``AuditLogError/Code/writerFailed`` after a failed write or sync.
    @discardableResult
    public func append(_ events: [AuditEvent]) throws(AuditLogError) -> Range<UInt64> {
        try writer.append(events)
    }

    /// Appends one event; see ``append(_:)-([AuditEvent])``.
    @discardableResult
    public func append(_ event: AuditEvent) throws(AuditLogError) -> UInt64 {
        try writer.append([event]).lowerBound
    }

    /// The tree size (number of events acknowledged) and Merkle root.
    public var state: LogState { writer.state }

    /// A reader of the acknowledged events from `seq` on, as of now.
    public func events(from seq: UInt64 = 0) throws(AuditLogError) -> LogReader {
        let reader = try LogReader(directory: directory, upTo: state.treeSize)
        try reader.seek(to: seq)
        return reader
    }

    /// Waits for appends in progress, syncs the log to disk and releases the directory. Appends after `close`
    /// throw ``AuditLogError/Code/closed``.
    public func close() throws(AuditLogError) {
        try writer.close()
    }
}

/// A Merkle tree size and its root hash.
public struct LogState: Sendable, Equatable {
    /// Number of events: the next seq.
    public var treeSize: UInt64
    /// RFC 6962 root of the first `treeSize` events.
    public var root: SHA256Hash
}
