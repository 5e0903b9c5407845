/// A SHA-256 digest: a Merkle leaf hash, interior node hash or root. Stored inline, without allocation.
public struct SHA256Hash: Hashable, Sendable, CustomStringConvertible {
    var storage: (UInt64, UInt64, UInt64, UInt64)

    static let zero = SHA256Hash(storage: (0, 0, 0, 0))
    static let byteCount = 32

    init(storage: (UInt64, UInt64, UInt64, UInt64)) {
        self.storage = storage
    }

    /// The digest of exactly 32 bytes, or nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var hash = SHA256Hash.zero
        withUnsafeMutableBytes(of: &hash.storage) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        self = hash
    }

    init(_ raw: UnsafeRawBufferPointer) {
        var hash = SHA256Hash.zero
        withUnsafeMutableBytes(of: &hash.storage) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<32])) }
        self = hash
    }

    /// Parses 64 hexadecimal digits (either case).
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 64, let bytes = decodeHex(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// The 32 bytes of the digest.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lowercase hexadecimal, 64 characters.
    public var hex: String {
        withUnsafeBytes { raw in
            String(unsafeUninitializedCapacity: 64) { out in
                HexDigits.store(raw, at: out.baseAddress!)
                return 64
            }
        }
    }

    /// Appends the 64 lowercase hex digits to `out`.
    func appendHex(to out: inout some ByteOutput) {
        out.append(capacity: 64) { p in
            withUnsafeBytes { HexDigits.store($0, at: p) }
            return 64
        }
    }

    public var description: String { hex }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    public static func == (a: SHA256Hash, b: SHA256Hash) -> Bool {
        a.storage.0 == b.storage.0 && a.storage.1 == b.storage.1 && a.storage.2 == b.storage.2
            && a.storage.3 == b.storage.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }
}


/// Lower-case hex of any bytes (key ids, digests of other sizes); also for the S3 client's signatures.
package func hexString(_ bytes: [UInt8]) -> String {
    String(unsafeUninitializedCapacity: 2 * bytes.count) { out in
        bytes.withUnsafeBytes { if let base = out.baseAddress { HexDigits.store($0, at: base) } }
        return 2 * bytes.count
    }
}

/// The bytes of an even number of hexadecimal digits (either case), or nil.
func decodeHex(_ text: some StringProtocol) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    for i in stride(from: 0, to: utf8.count, by: 2) {
        guard let high = hexValue(utf8[i]), let low = hexValue(utf8[i + 1]) else { return nil }
        out.append(high << 4 | low)
    }
    return out
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}
