@testable import AuditLog

/// SHA-256 with the CPU's SHA extensions against libcrypto's EVP: any input, cut in two at a place the input
/// chooses, hashed with and without the Merkle prefix bytes, one and two messages at a time.
enum SHA256Target {
    nonisolated(unsafe) static let evp = try? SHA256Hasher()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard SHA256Implementation.shaExtensionsAvailable, let evp else { return }
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) * bytes.count / 256
        let a = UnsafeRawBufferPointer(rebasing: bytes[..<cut])
        let b = UnsafeRawBufferPointer(rebasing: bytes[cut...])
        func reference(_ prefix: Int32, _ data: UnsafeRawBufferPointer) -> SHA256Hash {
            evp.begin()
            if prefix >= 0 { evp.update(byte: UInt8(prefix)) }
            evp.update(data)
            return evp.finish()
        }
        for prefix: Int32 in [-1, 0, 1] {
            require(SHA256Extensions.hash(prefix: prefix, bytes) == reference(prefix, bytes), "one message differs")
            let (x, y) = SHA256Extensions.hash(prefix: prefix, a, b)
            require(x == reference(prefix, a) && y == reference(prefix, b), "two messages differ")
        }
    }

    static func seeds() -> [[UInt8]] {
        [[], [0], Array("abc".utf8), [UInt8](repeating: 0x80, count: 55), [UInt8](repeating: 0x40, count: 64),
         [UInt8](repeating: 0xC0, count: 200), (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37) }]
    }
}
