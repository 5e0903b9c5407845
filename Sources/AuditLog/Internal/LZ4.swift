import CLZ4
import CLZ4Prefix

/// LZ4 block compression (liblz4, acceleration 1). Blocks are compressed whole, never records one by one:
/// a single ~480-byte record hardly compresses (whole 64 KiB blocks of records reach about 0.36 bytes per byte).
enum LZ4 {
    /// The largest compressed size of `count` input bytes.
    static func compressBound(_ count: Int) -> Int {
        Int(LZ4_compressBound(Int32(count)))
    }

    /// Compresses `source` into `destination`; returns the compressed length, or nil if it does not fit.
    static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int? {
        guard source.count > 0 else { return 0 }
        let n = LZ4_compress_default(
            source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return n > 0 ? Int(n) : nil
    }

    /// Decompresses the first `prefix` bytes of `source` into `destination` (the original size). Returns how many
    /// bytes of `destination` hold output (`prefix`, or all of it when the whole stream was decompressed), or nil
    /// for invalid input. Never reads or writes out of bounds. Those bytes are the same as ``decompress(_:into:)``
    /// produces; what lies beyond them is unspecified.
    ///
    /// liblz4 (1.9.4) decodes a match with offset 0, which the format forbids, instead of refusing it, and its
    /// whole and partial decoders copy such a match differently (the `block` fuzz target found a block whose prefix
    /// read and whole read disagreed: a query and `verify` could have seen different records). So the prefix is
    /// decoded by the library's own decoder (`Sources/CLZ4Prefix`), which stops at such a match, and a stream with
    /// one is decompressed whole by liblz4 instead. (It used to be a scan of the sequence headers before
    /// liblz4's partial decoder: two parses of every stream a query read, the scan 22% of an actor page.)
    static func decompress(
        _ source: UnsafeRawBufferPointer, prefix: Int, into destination: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard prefix > 0 else { return 0 }
        guard source.count > 0, prefix <= destination.count else { return nil }
        let n = auditlog_lz4_decode_prefix(
            source.baseAddress!.assumingMemoryBound(to: UInt8.self), source.count,
            destination.baseAddress!.assumingMemoryBound(to: UInt8.self), destination.count, prefix)
        if n == Int64(AUDITLOG_LZ4_OFFSET_ZERO) {
            return decompress(source, into: destination) ? destination.count : nil
        }
        return n >= Int64(prefix) ? prefix : nil
    }

    /// Decompresses `source` into `destination`, which must be exactly the original size.
    /// Returns false when the input is not a valid LZ4 block of that size; never reads or writes out of bounds.
    static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        if destination.count == 0 { return source.count == 0 }
        guard source.count > 0 else { return false }
        _ = destination.initializeMemory(as: UInt8.self, repeating: 0)
        let n = LZ4_decompress_safe(
            source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return n == Int32(destination.count)
    }
}
