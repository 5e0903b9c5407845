import CCrypto

/// Cryptographically secure random bytes from libcrypto's DRBG: record salts must be unguessable, and one
/// `RAND_bytes` call per batch is far cheaper than a `getrandom` system call per record.
package enum SecureRandom {
    package static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(AuditLogError) {
        guard buffer.count > 0 else { return }
        guard RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            throw AuditLogError(.io, "libcrypto could not produce random bytes")
        }
    }

    package static func bytes(_ count: Int) throws(AuditLogError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { buffer in Result { () throws(AuditLogError) in try fill(buffer) } }.get()
        return bytes
    }
}
