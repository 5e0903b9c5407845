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

    /// The tree's root hash (the hash of the empty string for an empty tree).
    func root(using hasher: MerkleHasher) -> SHA256Hash {
        guard var root = hashes.last else { return hasher.emptyRoot() }
        for hash in hashes.dropLast().reversed() {
            root = hasher.nodeHash(hash, root)
        }
        return root
    }
}
