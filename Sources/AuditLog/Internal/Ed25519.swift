import CCrypto

/// Ed25519 signing and verification through libcrypto's EVP interface.
enum Ed25519 {
    static let seedSize = 32
    static let publicKeySize = 32
    static let signatureSize = 64

    private static func privateKey(seed: [UInt8]) throws(AuditLogError) -> OpaquePointer {
        guard seed.count == seedSize,
            let key = seed.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
            })
        else { throw AuditLogError(.invalidArgument, "not an Ed25519 private key") }
        return key
    }

    /// The public key of a 32-byte private seed.
    static func publicKey(seed: [UInt8]) throws(AuditLogError) -> [UInt8] {
        let key = try privateKey(seed: seed)
        defer { EVP_PKEY_free(key) }
        var out = [UInt8](repeating: 0, count: publicKeySize)
        var length = publicKeySize
        guard EVP_PKEY_get_raw_public_key(key, &out, &length) == 1, length == publicKeySize else {
            throw AuditLogError(.io, "libcrypto could not derive the Ed25519 public key")
        }
        return out
    }

    static func sign(_ message: [UInt8], seed: [UInt8]) throws(AuditLogError) -> [UInt8] {
        let key = try privateKey(seed: seed)
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { throw AuditLogError(.io, "libcrypto: out of memory") }
        defer { EVP_MD_CTX_free(context) }
        var signature = [UInt8](repeating: 0, count: signatureSize)
        var length = signatureSize
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1,
            EVP_DigestSign(context, &signature, &length, message, message.count) == 1, length == signatureSize
        else { throw AuditLogError(.io, "libcrypto could not sign with Ed25519") }
        return signature
    }

    static func isValidSignature(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == signatureSize, publicKey.count == publicKeySize,
            let key = publicKey.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
            })
        else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        return EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1
            && EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
    }
}
