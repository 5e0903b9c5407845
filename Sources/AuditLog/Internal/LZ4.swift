import CLZ4

/// LZ4 block compression (liblz4, acceleration 1). Blocks are compressed whole, never records one by one:
/// a single ~480-byte record hardly compresses (BRIEF, facts).
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

    /// Decompresses at least the first `prefix` bytes of `source` into `destination` (the original size).
    /// Returns how many bytes were produced (≥ `prefix`), or nil for invalid input. Never reads or writes out of
    /// bounds.
    ///
    /// Both decompressors zero the destination first. liblz4 (1.9.4) decodes a match with offset 0, which the
    /// format forbids, by copying whatever the destination already held; readers reuse their buffers, so a crafted
    /// block would otherwise decode differently from one reader to the next (verify and a query could disagree;
    /// the `block` fuzz target found it). Zeroed, the output depends on the input alone. Zeroing cost nothing
    /// measurable (`auditlog verify` of 300k events: 0.456 s with and without); refusing such blocks by scanning the
    /// sequence headers cost 10%.
    static func decompress(
        _ source: UnsafeRawBufferPointer, prefix: Int, into destination: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard prefix > 0 else { return 0 }
        guard source.count > 0, prefix <= destination.count else { return nil }
        _ = destination.initializeMemory(as: UInt8.self, repeating: 0)
        let n = LZ4_decompress_safe_partial(
            source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(prefix), Int32(destination.count))
        return n >= Int32(prefix) ? Int(n) : nil
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
