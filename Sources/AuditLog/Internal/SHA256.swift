import CCrypto

/// The SHA-256 implementation of libcrypto, fetched once per process (BRIEF: EVP, digest fetched once).
private final class SHA256Algorithm: @unchecked Sendable {
    // EVP_MD objects are immutable after fetch and safe to share between threads.
    let md: OpaquePointer?
    init() { md = EVP_MD_fetch(nil, "SHA256", nil) }
}

private let sha256Algorithm = SHA256Algorithm()

/// A reusable SHA-256 context. Not thread-safe: each thread owns its own hasher.
///
/// Reusing one EVP context across calls is markedly faster than one-shot hashing (BRIEF: 1.07 GB/s at
/// 512-byte inputs against 0.70 GB/s for `SHA256()`).
final class SHA256Hasher {
    private let context: OpaquePointer

    init() throws(AuditLogError) {
        guard sha256Algorithm.md != nil, let context = EVP_MD_CTX_new() else {
            throw AuditLogError(.io, "libcrypto could not provide SHA-256")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    private var initialized = false

    /// Starts a new digest. After the first, passing no digest type makes OpenSSL 3 reuse the context's
    /// state instead of freeing and reallocating it on every call (`perf record` of `auditlog verify`:
    /// malloc, free and OPENSSL_cleanse per leaf hash).
    @inline(__always)
    func begin() {
        EVP_DigestInit_ex2(context, initialized ? nil : sha256Algorithm.md, nil)
        initialized = true
    }

    @inline(__always)
    func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) }
    }

    @inline(__always)
    func update(byte: UInt8) {
        withUnsafeBytes(of: byte) { update($0) }
    }

    @inline(__always)
    func finish() -> SHA256Hash {
        var digest = SHA256Hash.zero
        withUnsafeMutableBytes(of: &digest.storage) { raw in
            var length: UInt32 = 0
            _ = EVP_DigestFinal_ex(context, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
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
