/// The compact range `[0, size)` of an RFC 6962 Merkle tree: the roots of the perfect subtrees that make up
/// a tree of `size` leaves, largest (leftmost) first, one per set bit of `size`.
///
/// Appending a leaf costs one hash plus one per trailing one-bit of `size` (O(1) amortized); the root costs
/// `popcount(size) - 1` hashes. Every block stores the frontier after its last record, so a writer resumes
/// without rehashing the log (FORMAT.md, "Block").
public struct MerkleFrontier: Equatable, Sendable {
    /// Number of leaves covered.
    public private(set) var size: UInt64
    /// Perfect subtree roots, largest first.
    public private(set) var hashes: [SHA256Hash]

    public init() {
        size = 0
        hashes = []
    }

    /// A frontier from stored hashes; nil unless there is exactly one hash per set bit of `size`.
    public init?(size: UInt64, hashes: [SHA256Hash]) {
        guard hashes.count == size.nonzeroBitCount else { return nil }
        self.size = size
        self.hashes = hashes
    }

    mutating func append(_ leaf: SHA256Hash, using hasher: MerkleHasher) {
        var ignored: [(level: Int, hash: SHA256Hash)] = []
        append(leaf, using: hasher, completing: &ignored, fromLevel: 64)
    }

    /// Appends a leaf, and adds to `completed` the root of every perfect subtree of `2^level` leaves
    /// (`level ≥ fromLevel`) that this leaf completes: the entries of the level files (FORMAT.md).
    mutating func append(
        _ leaf: SHA256Hash, using hasher: MerkleHasher, completing completed: inout [(level: Int, hash: SHA256Hash)],
        fromLevel: Int
    ) {
        var node = leaf
        var bits = size
        var level = 0
        while bits & 1 == 1 {
            node = hasher.nodeHash(hashes.removeLast(), node)
            bits >>= 1
            level += 1
            if level >= fromLevel { completed.append((level, node)) }
        }
        hashes.append(node)
        size += 1
    }

    /// Appends `leaves` in order, with the same result as appending them one by one (the frontier, and in
    /// `completed` the same subtree roots of each level in the same order; the levels come one after the other),
    /// but level by level: the nodes of a level are independent of each other, so they are hashed two at a time.
    mutating func append(
        contentsOf leaves: [SHA256Hash], using hasher: MerkleHasher,
        completing completed: inout [(level: Int, hash: SHA256Hash)], fromLevel: Int
    ) {
        guard !leaves.isEmpty else { return }
        // The new nodes of the level being hashed, from its node `start` on (each replaces two of the level below,
        // in place: node k is written after nodes 2k - 1 and 2k are read); the old frontier holds the node before
        // `start` when `start` is odd.
        var nodes = leaves
        var count = nodes.count
        var start = size
        var level = 0
        var newLow: [SHA256Hash] = []  // the new frontier's hashes of the levels done, lowest first
        while count > 0 {
            var read = 0
            var written = 0
            func add(_ node: SHA256Hash) {
                nodes[written] = node
                written += 1
                if level + 1 >= fromLevel { completed.append((level + 1, node)) }
            }
            if start & 1 == 1 {
                add(hasher.nodeHash(hashes.removeLast(), nodes[0]))
                read = 1
            }
            while read + 4 <= count {
                let (a, b) = hasher.nodeHashes((nodes[read], nodes[read + 1]), (nodes[read + 2], nodes[read + 3]))
                add(a)
                add(b)
                read += 4
            }
            if read + 2 <= count {
                add(hasher.nodeHash(nodes[read], nodes[read + 1]))
                read += 2
            }
            if read < count { newLow.append(nodes[read]) }
            count = written
            start >>= 1
            level += 1
        }
        hashes.append(contentsOf: newLow.reversed())
        size += UInt64(leaves.count)
    }

    /// The tree's root hash (the hash of the empty string for an empty tree).
    func root(using hasher: MerkleHasher) -> SHA256Hash {
        guard var root = hashes.last else { return hasher.emptyRoot() }
        for hash in hashes.dropLast().reversed() {
            root = hasher.nodeHash(hash, root)
        }
        return root
    }

    /// The root of the perfect subtree `[start, end)` if it is one of the frontier's hashes.
    func hash(covering start: UInt64, _ end: UInt64) -> SHA256Hash? {
        var position: UInt64 = 0
        var i = 0
        for bit in (0..<64).reversed() where size & (UInt64(1) << UInt64(bit)) != 0 {
            let width = UInt64(1) << UInt64(bit)
            if position == start && position + width == end { return hashes[i] }
            position += width
            i += 1
        }
        return nil
    }

    /// The frontier of the leaves `[from, size)` for a `from` aligned so that they are whole frontier entries
    /// (the last entries of this one): what a subtree starting at `from` has accumulated by `size`.
    func suffix(from start: UInt64) -> MerkleFrontier? {
        let count = (size - start).nonzeroBitCount
        guard start <= size, count <= hashes.count else { return nil }
        return MerkleFrontier(size: size - start, hashes: Array(hashes.suffix(count)))
    }
}
