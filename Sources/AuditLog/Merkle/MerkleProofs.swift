/// RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs, built from any source of subtree hashes.
///
/// Every hash a proof needs is the root of a range `[start, end)` of leaves; ``MerkleRanges/root(of:using:)``
/// reduces such a range to perfect, aligned subtrees, which the caller supplies (from stored level files, or
/// by hashing leaves). So a proof costs O(log n) subtree lookups.
enum MerkleRanges {
    /// The largest power of two strictly less than `n` (n ≥ 2).
    @inline(__always)
    static func split(_ n: UInt64) -> UInt64 {
        UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// MTH of leaves `[range)`, with `perfect(level, index)` giving the root of the perfect subtree of `2^level`
    /// leaves starting at `index << level`.
    static func root<E: Error>(
        of range: Range<UInt64>, using hasher: MerkleHasher,
        perfect: (_ level: Int, _ index: UInt64) throws(E) -> SHA256Hash
    ) throws(E) -> SHA256Hash {
        let count = range.count
        if count == 0 { return hasher.emptyRoot() }
        if count & (count - 1) == 0 && range.lowerBound % UInt64(count) == 0 {
            let level = UInt64(count).trailingZeroBitCount
            return try perfect(level, range.lowerBound >> UInt64(level))
        }
        let k = split(UInt64(count))
        let left = try root(of: range.lowerBound..<range.lowerBound + k, using: hasher, perfect: perfect)
        let right = try root(of: range.lowerBound + k..<range.upperBound, using: hasher, perfect: perfect)
        return hasher.nodeHash(left, right)
    }

    /// The ranges whose roots make up the inclusion proof of leaf `index` in a tree of `size` leaves,
    /// in proof order (RFC 9162 §2.1.3.1, PATH).
    static func inclusionPath(index: UInt64, size: UInt64) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        var start: UInt64 = 0
        var end = size
        var m = index
        // Walk down from the root, remembering siblings; the proof lists them bottom-up.
        while end - start > 1 {
            let k = split(end - start)
            if m < k {
                ranges.append(start + k..<end)
                end = start + k
            } else {
                ranges.append(start..<start + k)
                start += k
                m -= k
            }
        }
        return ranges.reversed()
    }

    /// The ranges of the consistency proof between tree sizes `old` and `new` (RFC 9162 §2.1.4.1, SUBPROOF).
    static func consistencyPath(old: UInt64, new: UInt64) -> [Range<UInt64>] {
        guard old > 0, old < new else { return [] }
        var ranges: [Range<UInt64>] = []
        var start: UInt64 = 0
        var end = new
        var m = old
        var complete = true
        while true {
            if m == end - start {
                if !complete { ranges.append(start..<end) }
                break
            }
            let k = split(end - start)
            if m <= k {
                ranges.append(start + k..<end)
                end = start + k
            } else {
                ranges.append(start..<start + k)
                start += k
                m -= k
                complete = false
            }
        }
        return ranges.reversed()
    }
}

/// Proof that one event is in the log: RFC 9162 §2.1.3 inclusion proof of its leaf.
public struct InclusionProof: Sendable, Equatable {
    public var leafIndex: UInt64
    public var treeSize: UInt64
    public var leafHash: SHA256Hash
    /// Sibling hashes from the leaf up.
    public var proof: [SHA256Hash]
    public var root: SHA256Hash
    /// The canonical record bytes (FORMAT.md, "Record"); `leafHash` is `SHA-256(0x00 || entry)`. Empty for a
    /// redacted event, whose original bytes are gone (its leaf hash is what the tree holds).
    public var entry: [UInt8]

    public init(
        leafIndex: UInt64, treeSize: UInt64, leafHash: SHA256Hash, proof: [SHA256Hash], root: SHA256Hash, entry: [UInt8]
    ) {
        self.leafIndex = leafIndex
        self.treeSize = treeSize
        self.leafHash = leafHash
        self.proof = proof
        self.root = root
        self.entry = entry
    }

    /// Checks the proof: the entry hashes to `leafHash` (when an entry is given) and the path leads to `root`.
    public func isValid() -> Bool {
        guard let hasher = try? MerkleHasher() else { return false }
        if !entry.isEmpty && hasher.leafHash(entry) != leafHash { return false }
        return MerkleVerification.verifyInclusion(
            leafHash: leafHash, index: leafIndex, size: treeSize, proof: proof, root: root, using: hasher)
    }

}

/// Proof that a tree of `size2` leaves extends one of `size1`: RFC 9162 §2.1.4 consistency proof.
public struct ConsistencyProof: Sendable, Equatable, Codable {
    public var size1: UInt64
    public var size2: UInt64
    public var root1: SHA256Hash
    public var root2: SHA256Hash
    public var proof: [SHA256Hash]

    public init(size1: UInt64, size2: UInt64, root1: SHA256Hash, root2: SHA256Hash, proof: [SHA256Hash]) {
        self.size1 = size1
        self.size2 = size2
        self.root1 = root1
        self.root2 = root2
        self.proof = proof
    }

    public func isValid() -> Bool {
        guard let hasher = try? MerkleHasher() else { return false }
        return MerkleVerification.verifyConsistency(
            size1: size1, size2: size2, root1: root1, root2: root2, proof: proof, using: hasher)
    }

}

/// The verification algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
enum MerkleVerification {
    /// "If LSB(fn) is not set, right-shift both fn and sn equally until either LSB(fn) is set or fn is 0."
    private static func shiftToRightEdge(_ fn: inout UInt64, _ sn: inout UInt64) {
        while fn & 1 == 0 && fn != 0 {
            fn >>= 1
            sn >>= 1
        }
    }

    static func verifyInclusion(
        leafHash: SHA256Hash, index: UInt64, size: UInt64, proof: [SHA256Hash], root: SHA256Hash,
        using hasher: MerkleHasher
    ) -> Bool {
        guard index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = hasher.nodeHash(p, r)
                shiftToRightEdge(&fn, &sn)
            } else {
                r = hasher.nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    static func verifyConsistency(
        size1: UInt64, size2: UInt64, root1: SHA256Hash, root2: SHA256Hash, proof: [SHA256Hash],
        using hasher: MerkleHasher
    ) -> Bool {
        if size1 == size2 { return proof.isEmpty && root1 == root2 }
        if size1 == 0 { return proof.isEmpty && root1 == hasher.emptyRoot() }
        guard size1 < size2, !proof.isEmpty else { return false }
        var path = proof
        if size1 & (size1 - 1) == 0 { path.insert(root1, at: 0) }
        var fn = size1 - 1
        var sn = size2 - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = hasher.nodeHash(c, fr)
                sr = hasher.nodeHash(c, sr)
                shiftToRightEdge(&fn, &sn)
            } else {
                sr = hasher.nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == root1 && sr == root2 && sn == 0
    }
}
