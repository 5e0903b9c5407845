/// RFC 6962 / RFC 9162 §2.1.1 hashing: leaves are `SHA-256(0x00 || data)`, interior nodes
/// `SHA-256(0x01 || left || right)`. Not thread-safe; each thread owns one.
final class MerkleHasher {
    private let sha: SHA256Hasher

    init() throws(AuditLogError) {
        sha = try SHA256Hasher()
    }

    /// The hash of the empty tree, `SHA-256("")`.
    func emptyRoot() -> SHA256Hash {
        sha.begin()
        return sha.finish()
    }

    @inline(__always)
    func leafHash(_ data: UnsafeRawBufferPointer) -> SHA256Hash {
        sha.begin()
        sha.update(byte: 0)
        sha.update(data)
        return sha.finish()
    }

    func leafHash(_ data: [UInt8]) -> SHA256Hash {
        data.withUnsafeBytes { leafHash($0) }
    }

    @inline(__always)
    func nodeHash(_ left: SHA256Hash, _ right: SHA256Hash) -> SHA256Hash {
        sha.begin()
        sha.update(byte: 1)
        left.withUnsafeBytes { sha.update($0) }
        right.withUnsafeBytes { sha.update($0) }
        return sha.finish()
    }
}
