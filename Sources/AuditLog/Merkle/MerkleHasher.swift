/// RFC 6962 / RFC 9162 §2.1.1 hashing: leaves are `SHA-256(0x00 || data)`, interior nodes
/// `SHA-256(0x01 || left || right)`. Not thread-safe; each thread owns one.
///
/// SHA-256 comes from the CPU's SHA extensions when it has them (``SHA256Implementation``), else libcrypto; the
/// pair forms hash two leaves or two nodes interleaved on one core.
final class MerkleHasher {
    private let sha: SHA256Hasher
    let implementation: SHA256Implementation
    private let extensions: Bool

    init(implementation: SHA256Implementation = .current) throws(AuditLogError) {
        sha = try SHA256Hasher()
        self.implementation =
            implementation == .shaExtensions && !SHA256Implementation.shaExtensionsAvailable ? .evp : implementation
        extensions = self.implementation == .shaExtensions
    }

    /// The hash of the empty tree, `SHA-256("")`.
    func emptyRoot() -> SHA256Hash {
        sha.begin()
        return sha.finish()
    }

    @inline(__always)
    func leafHash(_ data: UnsafeRawBufferPointer) -> SHA256Hash {
        if extensions { return SHA256Extensions.hash(prefix: 0, data) }
        sha.begin()
        sha.update(byte: 0)
        sha.update(data)
        return sha.finish()
    }

    func leafHash(_ data: [UInt8]) -> SHA256Hash {
        data.withUnsafeBytes { leafHash($0) }
    }

    /// Two leaf hashes, interleaved when the SHA extensions are used.
    @inline(__always)
    func leafHashes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> (SHA256Hash, SHA256Hash) {
        if extensions { return SHA256Extensions.hash(prefix: 0, a, b) }
        return (leafHash(a), leafHash(b))
    }

    @inline(__always)
    func nodeHash(_ left: SHA256Hash, _ right: SHA256Hash) -> SHA256Hash {
        if extensions {
            var pair = (left.storage, right.storage)
            return withUnsafeBytes(of: &pair) { SHA256Extensions.hash(prefix: 1, $0) }
        }
        sha.begin()
        sha.update(byte: 1)
        left.withUnsafeBytes { sha.update($0) }
        right.withUnsafeBytes { sha.update($0) }
        return sha.finish()
    }

    /// Two interior node hashes, interleaved when the SHA extensions are used.
    @inline(__always)
    func nodeHashes(
        _ a: (left: SHA256Hash, right: SHA256Hash), _ b: (left: SHA256Hash, right: SHA256Hash)
    ) -> (SHA256Hash, SHA256Hash) {
        guard extensions else { return (nodeHash(a.left, a.right), nodeHash(b.left, b.right)) }
        var first = (a.left.storage, a.right.storage)
        var second = (b.left.storage, b.right.storage)
        return withUnsafeBytes(of: &first) { first in
            withUnsafeBytes(of: &second) { second in SHA256Extensions.hash(prefix: 1, first, second) }
        }
    }
}
