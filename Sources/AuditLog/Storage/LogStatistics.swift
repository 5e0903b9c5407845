/// Size and content figures of a log, read from block headers (payloads are not read).
public struct LogStatistics: Sendable, Equatable {
    /// Events in the log (the tree size minus events before the first segment).
    public var eventCount: UInt64
    public var segmentCount: Int
    /// Bytes of every file in the directory.
    public var bytesOnDisk: Int64
    /// Uncompressed record bytes.
    public var recordBytes: Int64
    /// Record bytes as stored in blocks (after LZ4).
    public var storedPayloadBytes: Int64
    public var blockCount: Int
    /// Oldest and newest event timestamp (ms), nil for an empty log.
    public var oldestTimestamp: Int64?
    public var newestTimestamp: Int64?
    /// Merkle tree size and root after the last complete block.
    public var state: LogState

    /// Uncompressed over stored record bytes.
    public var compressionRatio: Double {
        storedPayloadBytes == 0 ? 1 : Double(recordBytes) / Double(storedPayloadBytes)
    }
}

extension AuditLog {
    /// Reads the statistics of the log in `directory` without opening it for writing.
    public static func statistics(directory: String) throws(AuditLogError) -> LogStatistics {
        guard FileSystem.isDirectory(directory) else {
            throw AuditLogError(.notFound, "no log directory here", path: directory)
        }
        let hasher = try MerkleHasher()
        let segments = try LogFiles.segments(in: directory)
        var stats = LogStatistics(
            eventCount: 0, segmentCount: segments.count, bytesOnDisk: 0, recordBytes: 0, storedPayloadBytes: 0,
            blockCount: 0, oldestTimestamp: nil, newestTimestamp: nil,
            state: LogState(treeSize: 0, root: hasher.emptyRoot()))
        for name in try FileSystem.contents(of: directory) {
            stats.bytesOnDisk += FileSystem.fileSize(LogFiles.path(directory, name)) ?? 0
        }
        for entry in segments {
            let file = try SegmentFile.open(path: entry.path, baseSeq: entry.baseSeq)
            stats.state = LogState(treeSize: entry.baseSeq, root: file.header.frontier.root(using: hasher))
            // Complete blocks only, as the log's state counts them; the walk stops at damage (verify reports it).
            var walker = try SegmentWalker(file: file, checking: .headers)
            while case .block(let header, _) = try walker.next() {
                stats.blockCount += 1
                stats.eventCount += UInt64(header.recordCount)
                stats.recordBytes += Int64(header.uncompressedLength)
                stats.storedPayloadBytes += Int64(header.storedLength)
                stats.oldestTimestamp = min(stats.oldestTimestamp ?? .max, header.minTimestamp)
                stats.newestTimestamp = max(stats.newestTimestamp ?? .min, header.maxTimestamp)
                stats.state = LogState(treeSize: header.endSeq, root: header.root)
            }
        }
        return stats
    }
}
