import CCrypto
import CSHA256

#if canImport(Glibc)
    import Glibc
#endif

/// A message digest implementation of libcrypto, fetched once per process by name.
private final class DigestAlgorithm: @unchecked Sendable {
    // EVP_MD objects are immutable after fetch and safe to share between threads.
    let md: OpaquePointer?
    init(_ name: String) { md = EVP_MD_fetch(nil, name, nil) }
}

private let sha256Algorithm = DigestAlgorithm("SHA256")

/// A reusable SHA-256 context. Not thread-safe: each thread owns its own hasher.
///
/// Reusing one EVP context across calls is markedly faster than one-shot hashing (1.07 GB/s at 512-byte inputs
/// against 0.70 GB/s for `SHA256()` on the machines the benchmarks run on).
///
/// Every libcrypto call is checked. Setting up the context can fail (no provider, no memory) and throws. Once the
/// context holds a SHA-256 state, `EVP_DigestInit_ex2` with no type, `EVP_DigestUpdate` and `EVP_DigestFinal_ex`
/// only reset, feed and finish that state: libcrypto reports failure there only for a broken context, which
/// nothing outside this file can cause. Like swift-crypto, such a failure stops the process rather than let a
/// wrong hash into the tree.
final class SHA256Hasher {
    private let context: OpaquePointer

    /// - Parameter algorithm: Tests only: another digest, which must be refused (the tree needs 32-byte SHA-256).
    init(algorithm name: String? = nil) throws(AuditLogError) {
        let md = name.map { DigestAlgorithm($0).md } ?? sha256Algorithm.md
        guard let md else {
            throw AuditLogError(.io, "libcrypto could not provide \(name ?? "SHA-256") (EVP_MD_fetch failed)")
        }
        guard EVP_MD_get_size(md) == SHA256Hash.byteCount else {
            throw AuditLogError(
                .invalidArgument, "digest \(name ?? "SHA256") has \(EVP_MD_get_size(md))-byte outputs, not 32")
        }
        guard let context = EVP_MD_CTX_new() else { throw AuditLogError(.io, "libcrypto: out of memory") }
        guard EVP_DigestInit_ex2(context, md, nil) == 1 else {
            EVP_MD_CTX_free(context)
            throw AuditLogError(.io, "libcrypto could not start a SHA-256 digest (EVP_DigestInit_ex2 failed)")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Starts a new digest. Passing no digest type makes OpenSSL 3 reuse the context's state instead of freeing
    /// and reallocating it on every call (`perf record` of `auditlog verify`: malloc, free and OPENSSL_cleanse per
    /// leaf hash).
    @inline(__always)
    func begin() {
        guard EVP_DigestInit_ex2(context, nil, nil) == 1 else { preconditionFailure("EVP_DigestInit_ex2 failed") }
    }

    @inline(__always)
    func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            preconditionFailure("EVP_DigestUpdate failed")
        }
    }

    @inline(__always)
    func update(byte: UInt8) {
        withUnsafeBytes(of: byte) { update($0) }
    }

    @inline(__always)
    func finish() -> SHA256Hash {
        var digest = SHA256Hash.zero
        var length: UInt32 = 0
        let result = withUnsafeMutableBytes(of: &digest.storage) { raw in
            EVP_DigestFinal_ex(context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
        }
        guard result == 1, length == UInt32(SHA256Hash.byteCount) else {
            preconditionFailure("EVP_DigestFinal_ex failed")
        }
        return digest
    }

    /// SHA-256 of one buffer.
    func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Hash {
        begin()
        update(bytes)
        return finish()
    }
}

extension SHA256Hash {
    /// SHA-256 of `bytes` (one-shot: the service's key hashes, archived segments).
    package static func digest(of bytes: [UInt8]) throws(AuditLogError) -> SHA256Hash {
        let hasher = try SHA256Hasher()
        return bytes.withUnsafeBytes { hasher.hash($0) }
    }
}

/// Which SHA-256 implementation the Merkle hashing uses: the CPU's SHA extensions (Sources/CSHA256, two messages
/// at a time where callers have two) when it has them, otherwise libcrypto's EVP. The digests are the same
/// (tested against each other and the NIST vectors); `AUDITLOG_SHA256=evp` forces EVP, so that both paths run in
/// the tests and a suspect CPU can be ruled out.
package enum SHA256Implementation: String, Sendable {
    case shaExtensions = "sha-extensions"
    case evp

    /// The one this process uses.
    package static let current: SHA256Implementation = {
        if let forced = getenv("AUDITLOG_SHA256").map({ String(cString: $0) }), forced == "evp" { return .evp }
        return auditlog_sha256_ni_available() == 1 ? .shaExtensions : .evp
    }()

    /// Whether this CPU can use the SHA extensions.
    static var shaExtensionsAvailable: Bool { auditlog_sha256_ni_available() == 1 }
}

/// SHA-256 with the CPU's SHA extensions, of an optional one-byte prefix and a buffer: a Merkle leaf or node
/// without copying. Only when ``SHA256Implementation/shaExtensionsAvailable``.
enum SHA256Extensions {
    @inline(__always)
    static func hash(prefix: Int32, _ bytes: UnsafeRawBufferPointer) -> SHA256Hash {
        var digest = SHA256Hash.zero
        withUnsafeMutableBytes(of: &digest.storage) { out in
            auditlog_sha256_ni(prefix, bytes.baseAddress, bytes.count, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return digest
    }

    /// Two hashes interleaved on one core (~1.8 times one at a time).
    @inline(__always)
    static func hash(prefix: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> (SHA256Hash, SHA256Hash) {
        var first = SHA256Hash.zero
        var second = SHA256Hash.zero
        withUnsafeMutableBytes(of: &first.storage) { out1 in
            withUnsafeMutableBytes(of: &second.storage) { out2 in
                auditlog_sha256_ni_2(
                    prefix, a.baseAddress, a.count, out1.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    b.baseAddress, b.count, out2.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return (first, second)
    }
}
