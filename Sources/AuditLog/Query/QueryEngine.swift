/// Runs queries against a log directory, in this process or another, using the segment indexes.
///
/// The plan: segments outside the time range or beyond the cursor are skipped whole; within a segment, an actor
/// filter reads only that actor's records (from the actor index), and a time range only the blocks whose time
/// range meets it; only then are records decoded and every filter applied. So cost grows with what matches.
/// Index views are cached, so a long-lived engine answers repeated queries from memory-mapped indexes.
public final class QueryEngine {
    public let directory: String
    private var indexes: [UInt64: SegmentIndex] = [:]
    private let hasher: MerkleHasher
    private var block: [UInt8] = []
    private var payload: [UInt8] = []

    public init(directory: String) throws(AuditLogError) {
        guard FileSystem.isDirectory(directory) else {
            throw AuditLogError(.notFound, "no log directory here", path: directory)
        }
        self.directory = directory
        hasher = try MerkleHasher()
    }

    /// Sizes of the active segment and its block index when its view was built.
    private var activeSizes: (segment: Int64, index: Int64)?

    private func index(_ segment: (baseSeq: UInt64, path: String), isLast: Bool) throws(AuditLogError) -> SegmentIndex {
        if let cached = indexes[segment.baseSeq], cached.inode == FileSystem.inode(segment.path) {
            // A sealed segment changes only when redaction rewrites it, as a new file (inode).
            if cached.sealed { return cached }
            // The active segment grows: its view is reused only while neither it nor its index has grown.
            // (Re-parsing it on every query was 20% of a first-page query, `perf record` of `query --repeat`.)
            if isLast, let sizes = activeSizes, sizes == (try currentSizes(segment)) { return cached }
        }
        let before = try currentSizes(segment)
        let index = try SegmentIndex(directory: directory, baseSeq: segment.baseSeq, path: segment.path)
        indexes[segment.baseSeq] = index
        if isLast { activeSizes = before }
        return index
    }

    private func currentSizes(_ segment: (baseSeq: UInt64, path: String)) throws(AuditLogError) -> (
        segment: Int64, index: Int64
    ) {
        (
            FileSystem.fileSize(segment.path) ?? 0,
            FileSystem.fileSize(SegmentIndexFiles.blockIndexPath(directory: directory, baseSeq: segment.baseSeq)) ?? 0
        )
    }

    /// One page of the events matching `query`.
    public func events(matching query: Query) throws(AuditLogError) -> QueryPage {
        guard (1...10_000).contains(query.limit) else {
            throw AuditLogError(.invalidArgument, "limit must be between 1 and 10000")
        }
        let after = try query.cursor.map { (cursor) throws(AuditLogError) in
            try QueryCursor.decode(cursor, query: query)
        }
        var results: [StoredEvent] = []
        try scan(query, after: after) { event in
            results.append(event)
            return results.count <= query.limit
        }
        let more = results.count > query.limit
        if more { results.removeLast() }
        return QueryPage(
            events: results, nextCursor: more ? QueryCursor.encode(after: results.last!.seq, query: query) : nil)
    }

    /// Calls `body` with every event matching `query` (its filters and order; limit and cursor are ignored)
    /// until `body` returns false, in constant memory.
    public func forEach(matching query: Query, _ body: (StoredEvent) throws(AuditLogError) -> Bool)
        throws(AuditLogError)
    {
        try scan(query, after: nil, body)
    }

    /// Calls `body` with every event matching `query` encoded by `encoder` (its filters and order; limit and
    /// cursor are ignored) until `body` returns false, in constant memory. The export path: JSON is written
    /// straight from the stored records when only a time range filters them, which is several times faster than
    /// ``forEach(matching:_:)`` followed by ``ExportEncoder/append(_:to:)`` (the bytes are the same).
    public func forEach(
        matching query: Query, encodedBy encoder: inout ExportEncoder,
        _ body: (UnsafeRawBufferPointer) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) {
        var line: [UInt8] = []
        func emit(_ line: [UInt8]) throws(AuditLogError) -> Bool {
            var result = Result<Bool, AuditLogError>.success(true)
            line.withUnsafeBytes { bytes in result = Result { () throws(AuditLogError) in try body(bytes) } }
            return try result.get()
        }
        if encoder.format != .csv && query.filtersOnlyByTime {
            var encoder2 = encoder
            defer { encoder = encoder2 }
            try scan(
                query, after: nil,
                produce: { (seq, record) throws(AuditLogError) -> [UInt8]? in
                    var json: [UInt8] = []
                    json.reserveCapacity(record.count * 2)
                    do throws(DecodeFailure) {
                        try RecordJSON.append(record, using: hasher, to: &json)
                    } catch {
                        throw AuditLogError(.corrupt, "record \(seq): \(error.reason)", path: directory)
                    }
                    return json
                },
                { (json) throws(AuditLogError) in
                    line.removeAll(keepingCapacity: true)
                    encoder2.append(encodedJSON: json, to: &line)
                    return try emit(line)
                })
            return
        }
        try scan(query, after: nil) { (stored) throws(AuditLogError) in
            line.removeAll(keepingCapacity: true)
            encoder.append(stored, to: &line)
            return try emit(line)
        }
    }

    /// The event with sequence number `seq`.
    public func event(seq: UInt64) throws(AuditLogError) -> StoredEvent {
        var found: StoredEvent?
        try RecordScan.forEach(in: directory, range: seq..<seq + 1) { (seq, record) throws(AuditLogError) in
            found = try decode(seq, record)
        }
        guard let found else { throw AuditLogError(.invalidArgument, "seq \(seq) is not in the log", path: directory) }
        return found
    }

    private func decode(_ seq: UInt64, _ record: UnsafeRawBufferPointer) throws(AuditLogError) -> StoredEvent {
        do throws(DecodeFailure) {
            return try RecordCodec.decode(record, into: StoredEvent.self, using: hasher)
        } catch {
            throw AuditLogError(.corrupt, "record \(seq): \(error.reason)", path: directory)
        }
    }

    private func scan(_ query: Query, after cursor: UInt64?, _ body: (StoredEvent) throws(AuditLogError) -> Bool)
        throws(AuditLogError)
    {
        try scan(
            query, after: cursor,
            produce: { (seq, record) throws(AuditLogError) -> StoredEvent? in
                let event = try self.decode(seq, record)
                return query.matches(event.event) ? event : nil
            }, body)
    }

    /// The scan: `produce` turns each record that passes the index-level filters (time, actor hash, cursor) into
    /// what `body` receives, or nil to skip it.
    private func scan<T>(
        _ query: Query, after cursor: UInt64?,
        produce: (UInt64, UnsafeRawBufferPointer) throws(AuditLogError) -> T?,
        _ body: (T) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) {
        let newest = query.order == .newestFirst
        let segments = try LogFiles.segments(in: directory)
        if indexes.count > segments.count {
            // Retention removed segments: forget their views.
            let present = Set(segments.map(\.baseSeq))
            indexes = indexes.filter { present.contains($0.key) }
        }
        let order = newest ? Array(segments.indices.reversed()) : Array(segments.indices)
        let range = query.timeRange
        let actorHashes = Set(query.actors.map(SegmentIndexFiles.actorHash))
        for i in order {
            let segment = segments[i]
            if let cursor {
                if newest && segment.baseSeq >= cursor { continue }
                if !newest && i + 1 < segments.count && segments[i + 1].baseSeq <= cursor + 1 { continue }
            }
            let index = try index(segment, isLast: i == segments.count - 1)
            if let range,
                index.blocks.isEmpty || index.maxTimestamp < range.lowerBound || index.minTimestamp > range.upperBound
            {
                continue
            }
            let file = try SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq)
            /// Whether a seq is on the right side of the cursor.
            func wanted(_ seq: UInt64) -> Bool {
                guard let cursor else { return true }
                return newest ? seq < cursor : seq > cursor
            }
            if !actorHashes.isEmpty {
                // Only this segment's records of the actors, from the actor index, block by block.
                var seqs = actorHashes.flatMap { index.seqs(forActorHash: $0) }.filter(wanted).sorted()
                if newest { seqs.reverse() }
                var position = 0
                while position < seqs.count {
                    guard let b = index.blockIndex(containing: seqs[position]) else {
                        position += 1  // a hash entry for a record past the indexed blocks: nothing to read
                        continue
                    }
                    let info = index.blocks[b]
                    var inBlock: [UInt64] = []
                    while position < seqs.count && seqs[position] >= info.firstSeq && seqs[position] < info.endSeq {
                        inBlock.append(seqs[position])
                        position += 1
                    }
                    if let range, info.maxTimestamp < range.lowerBound || info.minTimestamp > range.upperBound {
                        continue
                    }
                    let prefix = inBlock.map { Int(index.recordEnds[Int($0 - index.baseSeq)]) }.max()!
                    let events = try records(
                        of: info, in: file, seqs: Set(inBlock), prefix: prefix, query: query, produce: produce)
                    for (_, event) in newest ? events.reversed() : events {
                        if try !body(event) { return }
                    }
                }
            } else {
                var blocks = range.map { index.blockIndexes(overlapping: $0) } ?? Array(index.blocks.indices)
                if newest { blocks.reverse() }
                for b in blocks {
                    let info = index.blocks[b]
                    if !wanted(newest ? info.firstSeq : info.endSeq - 1) { continue }
                    let events = try records(of: info, in: file, seqs: nil, prefix: nil, query: query, produce: produce)
                    for (seq, event) in newest ? events.reversed() : events where wanted(seq) {
                        if try !body(event) { return }
                    }
                }
            }
        }
    }

    /// The records of one block that match `query` (only those in `seqs`, if given, and only as far as `prefix`
    /// bytes into the payload), in seq order. Records outside the time range are skipped before decoding. The
    /// whole block's checksum is checked either way.
    private func records<T>(
        of info: BlockInfo, in file: SegmentFile, seqs: Set<UInt64>?, prefix: Int?, query: Query,
        produce: (UInt64, UnsafeRawBufferPointer) throws(AuditLogError) -> T?
    ) throws(AuditLogError) -> [(UInt64, T)] {
        guard case .block(let header) = try file.entry(at: info.offset, fileSize: try file.fd.size()),
            header.firstSeq == info.firstSeq
        else {
            throw AuditLogError(
                .corrupt, "no block for seq \(info.firstSeq) where the index says", path: file.path, offset: info.offset
            )
        }
        if let damage = try file.readBlock(header, at: info.offset, into: &block) {
            throw AuditLogError(.corrupt, damage.reason, path: file.path, offset: info.offset)
        }
        var out: [(UInt64, T)] = []
        var failure: AuditLogError?
        let range = query.timeRange
        do throws(DecodeFailure) {
            let visit = { (seq: UInt64, record: UnsafeRawBufferPointer) throws(DecodeFailure) -> Void in
                guard failure == nil else { return }
                if let seqs, !seqs.contains(seq) { return }
                if let range, !range.contains(RecordCodec.timestamp(of: record)) { return }
                do throws(AuditLogError) {
                    if let item = try produce(seq, record) { out.append((seq, item)) }
                } catch { failure = error }
            }
            if let prefix {
                try BlockDecoder.forEachRecord(inBlock: block, header, prefix: prefix, payload: &payload, visit)
            } else {
                try BlockDecoder.forEachRecord(inBlock: block, header, payload: &payload, visit)
            }
        } catch {
            throw AuditLogError(
                .corrupt, "block at seq \(header.firstSeq): \(error.reason)", path: file.path, offset: info.offset)
        }
        if let failure { throw failure }
        return out
    }
}

extension AuditLog {
    /// One page of the events matching `query`; see ``QueryEngine``. Queries of one log share a cached engine and
    /// run one at a time; for parallel queries give each thread its own ``QueryEngine``.
    public func events(matching query: Query) throws(AuditLogError) -> QueryPage {
        try withQueryEngine { (engine) throws(AuditLogError) in try engine.events(matching: query) }
    }

    /// The event with sequence number `seq`.
    public func event(seq: UInt64) throws(AuditLogError) -> StoredEvent {
        try withQueryEngine { (engine) throws(AuditLogError) in try engine.event(seq: seq) }
    }

    private func withQueryEngine<T>(_ body: (QueryEngine) throws(AuditLogError) -> T) throws(AuditLogError) -> T {
        queryEngine.lock.lock()
        defer { queryEngine.lock.unlock() }
        if queryEngine.engine == nil { queryEngine.engine = try QueryEngine(directory: directory) }
        return try body(queryEngine.engine!)
    }
}

/// The query engine of an open log, created on first use.
final class SharedQueryEngine: @unchecked Sendable {
    // @unchecked: `engine` is only touched while `lock` is held.
    let lock = ConditionLock()
    var engine: QueryEngine?
}
