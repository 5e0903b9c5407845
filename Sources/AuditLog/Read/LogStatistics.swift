/// Size and content figures of a log, read from block headers (payloads are not read), and for segments evicted to
/// the archive from their footers.
public struct LogStatistics: Sendable, Equatable, Codable {
    /// Events in the log (the tree size minus events before the first segment).
    public var eventCount: UInt64
    public var segmentCount: Int
    /// Bytes of every file in the directory.
    public var bytesOnDisk: Int64
    /// Uncompressed record bytes (of the segments on the local disk).
    public var recordBytes: Int64
    /// Record bytes as stored in blocks, after LZ4 (of the segments on the local disk).
    public var storedPayloadBytes: Int64
    /// Segments evicted to the archive (``LocalRetention``): counted from their footers, not in the byte figures.
    public var evictedSegments = 0
    public var blockCount: Int
    /// Oldest and newest event timestamp, nil for an empty log.
    public var oldestTimestamp: Timestamp?
    public var newestTimestamp: Timestamp?
    /// Merkle tree size and root after the last complete block.
    public var state: LogState

    public init(
        eventCount: UInt64, segmentCount: Int, bytesOnDisk: Int64, recordBytes: Int64, storedPayloadBytes: Int64,
        blockCount: Int, oldestTimestamp: Timestamp?, newestTimestamp: Timestamp?, state: LogState
    ) {
        self.eventCount = eventCount
        self.segmentCount = segmentCount
        self.bytesOnDisk = bytesOnDisk
        self.recordBytes = recordBytes
        self.storedPayloadBytes = storedPayloadBytes
        self.blockCount = blockCount
        self.oldestTimestamp = oldestTimestamp
        self.newestTimestamp = newestTimestamp
        self.state = state
    }

    /// Uncompressed over stored record bytes.
    public var compressionRatio: Double {
        storedPayloadBytes == 0 ? 1 : Double(recordBytes) / Double(storedPayloadBytes)
    }

    /// The JSON of `auditlog stats --json`.
    enum CodingKeys: String, CodingKey {
        case eventCount = "events"
        case segmentCount = "segments"
        case blockCount = "blocks"
        case bytesOnDisk, recordBytes
        case storedPayloadBytes = "storedRecordBytes"
        case compressionRatio, oldestTimestamp, newestTimestamp, treeSize, root, evictedSegments
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(eventCount, forKey: .eventCount)
        try c.encode(segmentCount, forKey: .segmentCount)
        try c.encode(blockCount, forKey: .blockCount)
        try c.encode(bytesOnDisk, forKey: .bytesOnDisk)
        try c.encode(recordBytes, forKey: .recordBytes)
        try c.encode(storedPayloadBytes, forKey: .storedPayloadBytes)
        try c.encode((compressionRatio * 1000).rounded() / 1000, forKey: .compressionRatio)
        try c.encode(oldestTimestamp, forKey: .oldestTimestamp)
        try c.encode(newestTimestamp, forKey: .newestTimestamp)
        try c.encode(state.treeSize, forKey: .treeSize)
        try c.encode(state.root, forKey: .root)
        try c.encode(evictedSegments, forKey: .evictedSegments)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            eventCount: try c.decode(UInt64.self, forKey: .eventCount),
            segmentCount: try c.decode(Int.self, forKey: .segmentCount),
            bytesOnDisk: try c.decode(Int64.self, forKey: .bytesOnDisk),
            recordBytes: try c.decode(Int64.self, forKey: .recordBytes),
            storedPayloadBytes: try c.decode(Int64.self, forKey: .storedPayloadBytes),
            blockCount: try c.decode(Int.self, forKey: .blockCount),
            oldestTimestamp: try c.decodeIfPresent(Timestamp.self, forKey: .oldestTimestamp),
            newestTimestamp: try c.decodeIfPresent(Timestamp.self, forKey: .newestTimestamp),
            state: LogState(
                treeSize: try c.decode(UInt64.self, forKey: .treeSize), root: try c.decode(SHA256Hash.self, forKey: .root)))
        evictedSegments = try c.decodeIfPresent(Int.self, forKey: .evictedSegments) ?? 0
    }
}

extension LogStatistics {
    static func bytesOnDisk(_ directory: String) throws(AuditLogError) -> Int64 {
        var bytes: Int64 = 0
        for name in try FileSystem.contents(of: directory) {
            bytes += FileSystem.fileSize(LogFiles.path(directory, name)) ?? 0
        }
        return bytes
    }

    /// Reads the statistics of the log in `directory` from its block headers.
    init(directory: String) throws(AuditLogError) {
        guard FileSystem.isDirectory(directory) else {
            throw AuditLogError(.notFound, "no log directory here", path: directory)
        }
        let hasher = try MerkleHasher()
        let segments = try LogFiles.segments(in: directory)
        var stats = LogStatistics(
            eventCount: 0, segmentCount: segments.count, bytesOnDisk: 0, recordBytes: 0, storedPayloadBytes: 0,
            blockCount: 0, oldestTimestamp: nil, newestTimestamp: nil,
            state: LogState(treeSize: 0, root: hasher.emptyRoot()))
        stats.bytesOnDisk = try Self.bytesOnDisk(directory)
        for entry in segments {
            let file = try SegmentFile.open(path: entry.path, baseSeq: entry.baseSeq)
            if !(file.source is FileDescriptor), let footer = try file.footer() {
                // Evicted: its footer says enough (two small reads), not the header of every block.
                stats.evictedSegments += 1
                stats.blockCount += Int(footer.blockCount)
                stats.eventCount += footer.endSeq - entry.baseSeq
                let oldest = min(stats.oldestTimestamp?.millisecondsSinceEpoch ?? .max, footer.minTimestamp)
                let newest = max(stats.newestTimestamp?.millisecondsSinceEpoch ?? .min, footer.maxTimestamp)
                stats.oldestTimestamp = Timestamp(millisecondsSinceEpoch: oldest)
                stats.newestTimestamp = Timestamp(millisecondsSinceEpoch: newest)
                stats.state = LogState(treeSize: footer.endSeq, root: footer.root)
                continue
            }
            stats.state = LogState(treeSize: entry.baseSeq, root: file.header.frontier.root(using: hasher))
            // Complete blocks only, as the log's state counts them; the walk stops at damage (verify reports it).
            var walker = try SegmentWalker(file: file, checking: .headers)
            while case .block(let header, _) = try walker.next() {
                stats.blockCount += 1
                stats.eventCount += UInt64(header.recordCount)
                stats.recordBytes += Int64(header.uncompressedLength)
                stats.storedPayloadBytes += Int64(header.storedLength)
                let oldest = min(stats.oldestTimestamp?.millisecondsSinceEpoch ?? .max, header.minTimestamp)
                let newest = max(stats.newestTimestamp?.millisecondsSinceEpoch ?? .min, header.maxTimestamp)
                stats.oldestTimestamp = Timestamp(millisecondsSinceEpoch: oldest)
                stats.newestTimestamp = Timestamp(millisecondsSinceEpoch: newest)
                stats.state = LogState(treeSize: header.endSeq, root: header.root)
            }
        }
        self = stats
    }
}
