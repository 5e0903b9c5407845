/// Read-only access to a log: queries, record details, streams and follows, exports, proofs, statistics,
/// verification and retention plans.
///
/// Open one on a directory from any process, with no lock, while a writer appends (readers see complete blocks
/// only), or take the writer's own ``AuditLog/reader``, which sees exactly the acknowledged events and whose
/// followers are woken by each commit. It is `Sendable`: queries from several threads run in parallel, sharing the
/// cached index views and nothing else.
///
/// ```swift
/// let reader = try AuditLogReader(directory: "/var/lib/myapp/audit")
/// let page = try reader.events(matching: Query(actorIDs: ["user_42"], limit: 50))
/// let proof = try reader.inclusionProof(seq: page.events[0].seq)
/// ```
public final class AuditLogReader: Sendable {
    /// The log directory.
    public let directory: String
    /// The writer this reader belongs to, if it was made by one.
    let writer: LogWriter?
    let indexes = SegmentIndexCache()
    let facetCache = FacetCache()
    /// Decoded frames of recent pages, when asked for.
    let frameCache: FrameCache?
    /// Query engines between queries, with their buffers: a new engine's first reads fault in fresh pages (8% of a
    /// rare actor's page, `perf record`).
    private let engines = Locked<[QueryEngine]>([])

    /// A reader of the log in `directory`.
    /// - Parameter cacheBytes: How many bytes of decoded records to keep for pages asked again (0, the default: no
    ///   cache). A page's records are decoded in frames of ~4 KiB; a page asked again, or one that shares frames
    ///   with pages before it, copies them from the cache instead of checking and decompressing them (a repeated
    ///   first page of an actor takes about half the time). A few MiB hold the pages of many actors; see
    ///   ``cacheStatistics``.
    /// - Throws: ``AuditLogError/Code/notFound`` when there is no directory there, or no log in it (a log always
    ///   has a segment file: an empty or unrelated directory must not read, or verify, as an empty log);
    ///   ``AuditLogError/Code/invalidArgument`` for a negative `cacheBytes`.
    public init(directory: String, cacheBytes: Int = 0) throws(AuditLogError) {
        guard cacheBytes >= 0 else { throw AuditLogError(.invalidArgument, "cacheBytes must not be negative") }
        guard FileSystem.isDirectory(directory) else {
            throw AuditLogError(.notFound, "no log directory here", path: directory)
        }
        self.directory = directory
        writer = nil
        frameCache = cacheBytes > 0 ? FrameCache(capacity: cacheBytes) : nil
        // The listing that finds the log serves the first query too, when the directory is settled.
        guard try !indexes.segments(in: directory).segments.isEmpty else {
            throw AuditLogError(.notFound, Self.noLogMessage(directory), path: directory)
        }
    }

    /// Why `directory` holds no log, and where one is if a subdirectory holds it.
    private static func noLogMessage(_ directory: String) -> String {
        let message = "no log here: the directory has no segment files (*.seg), and every log has at least one"
        let subdirectories = ((try? FileSystem.contents(of: directory)) ?? []).sorted().lazy
            .map { LogFiles.path(directory, $0) }
            .filter { FileSystem.isDirectory($0) && !((try? LogFiles.segments(in: $0))?.isEmpty ?? true) }
        guard let log = subdirectories.first else { return message }
        return message + "; \(log) holds a log"
    }

    init(writer: LogWriter, cacheBytes: Int) {
        directory = writer.directory
        self.writer = writer
        frameCache = cacheBytes > 0 ? FrameCache(capacity: cacheBytes) : nil
    }

    /// How the cache of decoded records is doing: its size, hits and misses (nil without one).
    public var cacheStatistics: ReadCacheStatistics? { frameCache?.statistics }

    // MARK: State

    /// The tree size (events committed) and Merkle root: the writer's acknowledged state, or for a directory the
    /// state after its last complete block.
    public func state() throws(AuditLogError) -> LogState {
        if let writer { return writer.state }
        return try LogState.current(directory: directory)
    }

    /// Size and content figures, read from block headers (no payload is read).
    public func statistics() throws(AuditLogError) -> LogStatistics {
        try LogStatistics(directory: directory)
    }

    /// Bytes of every file in the log directory (segments, indexes, checkpoints, key and idempotency files), from
    /// the directory listing alone: cheap enough for every metrics scrape.
    public func bytesOnDisk() throws(AuditLogError) -> Int64 {
        try LogStatistics.bytesOnDisk(directory)
    }

    // MARK: Queries

    /// One page of the events matching `query`; pass ``QueryPage/nextCursor`` back for the next page.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` for a bad limit or a cursor of another query.
    public func events(matching query: Query) throws(AuditLogError) -> QueryPage {
        try withEngine { (engine) throws(AuditLogError) in try engine.events(matching: query) }
    }

    /// One page of the events matching `query`, appended to `out` as `encoder` writes them, straight from the
    /// stored records: the bytes ``events(matching:)`` and then ``ExportEncoder/append(_:to:)`` give, without
    /// building the events. For a service that answers with the page as JSON. Returns how many events there are
    /// and the cursor of the next page (nil on the last).
    /// - Throws: as ``events(matching:)``.
    public func appendPage(matching query: Query, encoder: inout ExportEncoder, to out: inout [UInt8])
        throws(AuditLogError) -> (events: Int, nextCursor: String?)
    {
        try withEngine { (engine) throws(AuditLogError) in
            try engine.appendPage(matching: query, encoder: &encoder, to: &out)
        }
    }

    /// Calls `body` with every event matching `query` (its filters and order; limit and cursor are ignored) until
    /// `body` returns false, in constant memory.
    public func forEach(matching query: Query, _ body: (StoredEvent) throws(AuditLogError) -> Bool)
        throws(AuditLogError)
    {
        try withEngine { (engine) throws(AuditLogError) in try engine.forEach(matching: query, body) }
    }

    /// The event with sequence number `seq`.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` if it is not in the log.
    public func event(seq: UInt64) throws(AuditLogError) -> StoredEvent {
        try withEngine { (engine) throws(AuditLogError) in try engine.event(seq: seq) }
    }

    /// Runs `body` with an engine from the pool, or a new one when none is free, and keeps it for the next query
    /// (up to four, none that holds more than 1 MiB of buffers).
    private func withEngine<R>(_ body: (QueryEngine) throws(AuditLogError) -> R) throws(AuditLogError) -> R {
        var engine: QueryEngine
        if let pooled = engines.withLock({ $0.popLast() }) {
            engine = pooled
        } else {
            engine = try QueryEngine(directory: directory, indexes: indexes, frameCache: frameCache)
        }
        defer {
            if engine.bufferBytes <= 1 << 20 { engines.withLock { if $0.count < 4 { $0.append(engine) } } }
        }
        return try body(engine)
    }

    // MARK: Sequential reads

    /// The events from `seq` on, up to the end of the log as it is when the sequence reaches it.
    public func events(from seq: UInt64 = 0) -> EventStream {
        EventStream(reader: self, start: seq, pollInterval: nil)
    }

    /// The events from `seq` on, then each new event as it is committed, until the task is cancelled.
    /// - Parameter pollInterval: How often, at most, a reader of a directory looks for new events written by
    ///   another process: sooner after an event, backing off to this while none comes (the writer's own reader is
    ///   woken by each commit, and looks this often anyway).
    public func follow(from seq: UInt64 = 0, pollInterval: Duration = .milliseconds(100)) -> EventStream {
        EventStream(reader: self, start: seq, pollInterval: pollInterval)
    }

    /// A synchronous iterator over the events from `seq` on.
    public func eventIterator(from seq: UInt64 = 0) throws(AuditLogError) -> EventIterator {
        let iterator = try EventIterator(directory: directory, upTo: writer?.state.treeSize)
        try iterator.seek(to: seq)
        return iterator
    }

    // MARK: Proofs

    /// An RFC 9162 inclusion proof that event `seq` is in the tree of `treeSize` events (default: the whole log).
    public func inclusionProof(seq: UInt64, treeSize: UInt64? = nil) throws(AuditLogError) -> InclusionProof {
        try ProofBuilder.inclusionProof(
            directory: directory, seq: seq, treeSize: treeSize, current: try state(), levels: levelFiles())
    }

    /// An RFC 9162 consistency proof that the tree of `newSize` events (default: the whole log) extends the tree
    /// of `oldSize` events.
    public func consistencyProof(from oldSize: UInt64, to newSize: UInt64? = nil) throws(AuditLogError)
        -> ConsistencyProof
    {
        try ProofBuilder.consistencyProof(
            directory: directory, from: oldSize, to: newSize, current: try state(), levels: levelFiles())
    }

    /// The writer's level files, or the directory's as they are now (read-only).
    private func levelFiles() -> MerkleLevelFiles {
        writer?.appender.levels ?? MerkleLevelFiles(readingFrom: directory)
    }

    /// The text of the newest signed checkpoint in the log directory, if the writer signs them.
    public func latestCheckpoint() throws(AuditLogError) -> String? {
        let sizes = try FileSystem.contents(of: directory).compactMap {
            LogFiles.number(ofFileNamed: $0, fileExtension: LogFiles.checkpointExtension)
        }
        guard let newest = sizes.max() else { return nil }
        let path = LogFiles.path(directory, LogFiles.checkpointName(treeSize: newest))
        return String(decoding: try FileDescriptor.openForReading(path).read(count: 64 << 10, at: 0), as: UTF8.self)
    }
}
