/// FNV-1a, 64 bits: a stable, fast, non-cryptographic hash of bytes (the same in every process and on every
/// platform), for index keys and fingerprints where a collision only costs extra work.
enum FNV1a {
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        hash(bytes, from: 0xcbf2_9ce4_8422_2325)
    }

    /// The hash of `prefix` followed by `bytes`.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer, prefix: UInt8) -> UInt64 {
        hash(bytes, from: (0xcbf2_9ce4_8422_2325 ^ UInt64(prefix)) &* 0x0000_0100_0000_01B3)
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, from start: UInt64) -> UInt64 {
        var hash = start
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    static func hash(_ text: String) -> UInt64 {
        var copy = text
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}
