/// Names of the files in a log directory (FORMAT.md, "Directory layout").
enum LogFiles {
    static let segmentExtension = ".seg"
    static let temporarySuffix = FileSystem.temporarySuffix
    static let lockName = "LOCK"
    static let checkpointExtension = ".checkpoint"

    /// `number` in 20 decimal digits followed by `fileExtension`: how segments, their index files and
    /// checkpoints are named.
    static func name(_ number: UInt64, _ fileExtension: String) -> String {
        // Written as bytes: an open of a log with 50 segments builds a few hundred of these names, and formatting
        // them through `String` operations (and parsing them back) was a fifth of its time (`perf`).
        let fileExtension = fileExtension.utf8
        return String(unsafeUninitializedCapacity: 20 + fileExtension.count) { out in
            var rest = number
            for i in stride(from: 19, through: 0, by: -1) {
                out[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            _ = UnsafeMutableBufferPointer(rebasing: out[20...]).initialize(from: fileExtension)
            return 20 + fileExtension.count
        }
    }

    /// `00000000000000001000.checkpoint`: a signed checkpoint of the tree of that size.
    static func checkpointName(treeSize: UInt64) -> String { name(treeSize, checkpointExtension) }

    /// `00000000000000000000.seg`: the base seq in 20 decimal digits.
    static func segmentName(baseSeq: UInt64) -> String { name(baseSeq, segmentExtension) }

    /// The base seq of a segment file name, or nil for any other name.
    static func baseSeq(ofSegmentNamed name: String) -> UInt64? {
        number(ofFileNamed: name, fileExtension: segmentExtension)
    }

    /// The number of a file named by ``name(_:_:)`` with this extension, or nil for any other name.
    static func number(ofFileNamed name: String, fileExtension: String) -> UInt64? {
        var name = name
        return name.withUTF8 { bytes -> UInt64? in
            // The extension first: most names of a log directory have 20 digits and a 4-byte extension.
            guard bytes.count == 20 + fileExtension.utf8.count,
                bytes[20...].elementsEqual(fileExtension.utf8)
            else { return nil }
            var number: UInt64 = 0
            for byte in bytes[..<20] {
                let digit = byte &- UInt8(ascii: "0")
                guard digit <= 9 else { return nil }
                let (times10, overflow) = number.multipliedReportingOverflow(by: 10)
                let (sum, carry) = times10.addingReportingOverflow(UInt64(digit))
                guard !overflow, !carry else { return nil }
                number = sum
            }
            return number
        }
    }

    static func path(_ directory: String, _ name: String) -> String {
        directory.utf8.last == UInt8(ascii: "/") ? directory + name : directory + "/" + name
    }

    /// The frontier in the first segment's header: empty for a log that starts at seq 0; after retention, the
    /// Merkle state of everything removed.
    static func boundaryFrontier(directory: String) throws(AuditLogError) -> MerkleFrontier {
        try boundaryFrontier(of: segments(in: directory))
    }

    /// ``boundaryFrontier(directory:)`` of a log whose segments are `segments` (``segments(in:)``).
    static func boundaryFrontier(of segments: [(baseSeq: UInt64, path: String)]) throws(AuditLogError)
        -> MerkleFrontier
    {
        guard let first = segments.first, first.baseSeq > 0 else { return MerkleFrontier() }
        return try SegmentFile.open(path: first.path, baseSeq: first.baseSeq).header.frontier
    }

    /// The inode of the segment file at `path`, or when it was evicted, of its stub: changes whenever the segment
    /// is replaced, evicted or brought back (what caches of its indexes are keyed by).
    static func inode(ofSegment path: String) -> UInt64? {
        FileSystem.inode(path)
            ?? FileSystem.inode(String(path.dropLast(segmentExtension.count)) + EvictedSegment.fileExtension)
    }

    /// The identity (inode and status-change time) of the segment file at `path`, or when it was evicted, of its
    /// stub: unlike the inode alone, it changes even when a file rewritten twice gets its first inode back.
    static func identity(ofSegment path: String) -> FileIdentity? {
        FileSystem.identity(path)
            ?? FileSystem.identity(String(path.dropLast(segmentExtension.count)) + EvictedSegment.fileExtension)
    }

    /// The segments of a directory, sorted by base seq: its `.seg` files, and the segments evicted to the archive
    /// (an ``EvictedSegment`` stub in place of the file; ``SegmentFile/open(path:baseSeq:fd:)`` reads those from
    /// the store). The path is the segment file's either way.
    static func segments(in directory: String) throws(AuditLogError) -> [(baseSeq: UInt64, path: String)] {
        segments(named: try FileSystem.contents(of: directory), in: directory)
    }

    /// ``segments(in:)`` from `names`, a listing of `directory` (so that open lists it once for all it looks for).
    static func segments(named names: [String], in directory: String) -> [(baseSeq: UInt64, path: String)] {
        let seqs = Set(
            names.compactMap { name in
                baseSeq(ofSegmentNamed: name) ?? number(ofFileNamed: name, fileExtension: EvictedSegment.fileExtension)
            })
        return seqs.sorted().map { ($0, path(directory, segmentName(baseSeq: $0))) }
    }
}
