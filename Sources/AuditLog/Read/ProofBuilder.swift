/// Builds inclusion and consistency proofs from a log directory, reading O(log n) stored subtree roots from the
/// level files and hashing at most a few groups of 256 records for the subtrees below them.
struct ProofBuilder {
    let directory: String
    let levels: MerkleLevelFiles
    let hasher: MerkleHasher
    /// Leaf hashes of groups of 2^firstLevel leaves (from the group's first seq still in the log), loaded on demand.
    private var groups: [UInt64: (first: UInt64, hashes: [SHA256Hash])] = [:]
    /// The frontier before the log's first segment: empty, or after retention the roots of the subtrees of the
    /// removed records, from which every subtree that proofs over the remaining records need is found.
    private let boundary: MerkleFrontier
    /// Bound of every range this builder is asked about.
    private let treeSize: UInt64
    /// Whether to use the level files; without them every hash is recomputed from the records.
    private let useStoredHashes: Bool

    init(directory: String, treeSize: UInt64, levels: MerkleLevelFiles, useStoredHashes: Bool) throws(AuditLogError) {
        self.directory = directory
        self.treeSize = treeSize
        self.levels = levels
        self.useStoredHashes = useStoredHashes
        hasher = try MerkleHasher()
        boundary = try LogFiles.boundaryFrontier(directory: directory)
    }

    private mutating func leaves(ofGroup group: UInt64) throws(AuditLogError) -> (first: UInt64, hashes: [SHA256Hash]) {
        if let cached = groups[group] { return cached }
        let width = UInt64(1) << UInt64(MerkleLevelFiles.firstLevel)
        var hashes: [SHA256Hash] = []
        let hasher = self.hasher
        let first = max(group * width, boundary.size)
        try RecordScan.forEachIndexed(in: directory, range: first..<min((group + 1) * width, treeSize)) {
            (_, record) throws(AuditLogError) in hashes.append(RecordCodec.leafHash(of: record, using: hasher))
        }
        groups[group] = (first, hashes)
        return (first, hashes)
    }

    /// Root of the perfect subtree `index` of 2^level leaves.
    mutating func perfect(level: Int, index: UInt64) throws(AuditLogError) -> SHA256Hash {
        let first = MerkleLevelFiles.firstLevel
        let start = index << UInt64(level)
        let end = start + (UInt64(1) << UInt64(level))
        if start < boundary.size {
            // Removed by retention, wholly or in part: whole removed subtrees are in the boundary frontier.
            if end <= boundary.size {
                if let hash = boundary.hash(covering: start, end) { return hash }
                throw AuditLogError(
                    .invalidArgument,
                    "events \(start)..<\(end) were removed by retention (the log now starts at seq \(boundary.size)); "
                        + "proofs are available for trees of at least \(boundary.size) events", path: directory)
            }
            if level >= first, useStoredHashes, let stored = levels.hash(level: level, index: index) { return stored }
            return hasher.nodeHash(
                try perfect(level: level - 1, index: 2 * index), try perfect(level: level - 1, index: 2 * index + 1))
        }
        if level >= first {
            if useStoredHashes, let stored = levels.hash(level: level, index: index) {
                return stored
            }
            if level > first {
                let left = try perfect(level: level - 1, index: 2 * index)
                return hasher.nodeHash(left, try perfect(level: level - 1, index: 2 * index + 1))
            }
        }
        let group = start >> UInt64(first)
        let (groupStart, leaves) = try leaves(ofGroup: group)
        let offset = Int(start - groupStart)
        let count = 1 << level
        guard offset + count <= leaves.count else {
            throw AuditLogError(.corrupt, "records \(start)..<\(end) are missing", path: directory)
        }
        return Self.root(leaves[offset..<offset + count], hasher)
    }

    private static func root(_ leaves: ArraySlice<SHA256Hash>, _ hasher: MerkleHasher) -> SHA256Hash {
        if leaves.count == 1 { return leaves.first! }
        let mid = leaves.startIndex + leaves.count / 2
        return hasher.nodeHash(root(leaves[..<mid], hasher), root(leaves[mid...], hasher))
    }

    mutating func root(of range: Range<UInt64>) throws(AuditLogError) -> SHA256Hash {
        try MerkleRanges.root(of: range, using: hasher) { (level, index) throws(AuditLogError) in
            try perfect(level: level, index: index)
        }
    }

    /// The root of the first `size` leaves, proven against the log's current state: equal to it, or shown
    /// consistent with it by a consistency proof. Nil if the hashes used do not add up (damaged level files).
    mutating func anchoredRoot(size: UInt64, current: LogState) throws(AuditLogError) -> SHA256Hash? {
        let root = try root(of: 0..<size)
        if size == current.treeSize { return root == current.root ? root : nil }
        var path: [SHA256Hash] = []
        for range in MerkleRanges.consistencyPath(old: size, new: current.treeSize) {
            path.append(try self.root(of: range))
        }
        let ok = MerkleVerification.verifyConsistency(
            size1: size, size2: current.treeSize, root1: root, root2: current.root, proof: path, using: hasher)
        return ok ? root : nil
    }
}

extension ProofBuilder {
    /// An RFC 9162 inclusion proof that event `seq` is in the tree of `treeSize` events (default: `current`).
    static func inclusionProof(
        directory: String, seq: UInt64, treeSize: UInt64?, current: LogState, levels: MerkleLevelFiles
    ) throws(AuditLogError) -> InclusionProof {
        let size = treeSize ?? current.treeSize
        guard size <= current.treeSize else {
            throw AuditLogError(
                .invalidArgument, "tree size \(size) is larger than the log (\(current.treeSize) events)")
        }
        guard seq < size else {
            throw AuditLogError(.invalidArgument, "seq \(seq) is not below tree size \(size)")
        }
        // The entry is the record, except for a redacted record: its original bytes are gone, only their leaf
        // hash (kept in the redacted record) remains.
        var entry: [UInt8] = []
        var leafHash: SHA256Hash?
        let hasher = try MerkleHasher()
        try RecordScan.forEachIndexed(in: directory, range: seq..<seq + 1) { (_, record) throws(AuditLogError) in
            leafHash = RecordCodec.leafHash(of: record, using: hasher)
            if !RecordCodec.isRedacted(record) { entry = Array(record) }
        }
        // Stored subtree hashes first; if the result does not verify against the log's root, recompute all.
        for useStoredHashes in [true, false] {
            var builder = try ProofBuilder(
                directory: directory, treeSize: current.treeSize, levels: levels, useStoredHashes: useStoredHashes)
            guard let root = try builder.anchoredRoot(size: size, current: current) else { continue }
            var path: [SHA256Hash] = []
            for range in MerkleRanges.inclusionPath(index: seq, size: size) { path.append(try builder.root(of: range)) }
            let proof = InclusionProof(
                leafIndex: seq, treeSize: size, leafHash: leafHash!, proof: path, root: root,
                entry: entry)
            if proof.isValid() { return proof }
        }
        throw AuditLogError(
            .corrupt, "the records do not hash to the log's root; run `auditlog verify`", path: directory)
    }

    /// An RFC 9162 consistency proof that the tree of `newSize` events (default: `current`) extends the tree of
    /// `oldSize` events.
    static func consistencyProof(
        directory: String, from oldSize: UInt64, to newSize: UInt64?, current: LogState, levels: MerkleLevelFiles
    ) throws(AuditLogError) -> ConsistencyProof {
        let size2 = newSize ?? current.treeSize
        guard size2 <= current.treeSize else {
            throw AuditLogError(
                .invalidArgument, "tree size \(size2) is larger than the log (\(current.treeSize) events)")
        }
        guard oldSize <= size2 else {
            throw AuditLogError(.invalidArgument, "the old tree size \(oldSize) is larger than the new one (\(size2))")
        }
        for useStoredHashes in [true, false] {
            var builder = try ProofBuilder(
                directory: directory, treeSize: current.treeSize, levels: levels, useStoredHashes: useStoredHashes)
            guard let root2 = try builder.anchoredRoot(size: size2, current: current) else { continue }
            let root1 = try builder.root(of: 0..<oldSize)
            var path: [SHA256Hash] = []
            for range in MerkleRanges.consistencyPath(old: oldSize, new: size2) {
                path.append(try builder.root(of: range))
            }
            let proof = ConsistencyProof(size1: oldSize, size2: size2, root1: root1, root2: root2, proof: path)
            if proof.isValid() { return proof }
        }
        throw AuditLogError(
            .corrupt, "the records do not hash to the log's root; run `auditlog verify`", path: directory)
    }
}

extension LogState {
    /// The tree size and root of a log directory, from the last segment (reads block headers only).
    static func current(directory: String) throws(AuditLogError) -> LogState {
        guard FileSystem.isDirectory(directory) else {
            throw AuditLogError(.notFound, "no log directory here", path: directory)
        }
        let hasher = try MerkleHasher()
        guard let last = try LogFiles.segments(in: directory).last else {
            return LogState(treeSize: 0, root: hasher.emptyRoot())
        }
        let file = try SegmentFile.open(path: last.path, baseSeq: last.baseSeq)
        var state = LogState(treeSize: last.baseSeq, root: file.header.frontier.root(using: hasher))
        // Complete blocks only: a block still being written (or torn) does not count. The walk starts at the last
        // block the index knows of.
        var walker = try SegmentWalker(file: file, checking: .headers, directory: directory, from: nil)
        // The blocks before it count: its header checks out and continues them.
        if let root = walker.lastRoot { state = LogState(treeSize: walker.nextSeq, root: root) }
        while case .block(let header, _) = try walker.next() {
            state = LogState(treeSize: header.endSeq, root: header.root)
        }
        return state
    }
}
