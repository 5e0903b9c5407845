import CLZ4

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
    /// read and whole read disagreed: a query and `verify` could have seen different records). A stream with such a
    /// match is therefore decompressed whole here. The whole decompressor zeroes the destination first, since an
    /// offset-0 match copies from it: the output depends on the input alone, not on what the reused buffer held.
    /// Zeroing cost nothing measurable there (`auditlog verify` of 300k events: 0.456 s with and without); scanning
    /// every stream for offset-0 matches on the whole-block path cost 10%, so only this (query) path scans, and
    /// it needs no zeroing (a 64 KiB memset for every block a query reads).
    static func decompress(
        _ source: UnsafeRawBufferPointer, prefix: Int, into destination: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard prefix > 0 else { return 0 }
        guard source.count > 0, prefix <= destination.count else { return nil }
        guard hasNoZeroOffset(source, upTo: prefix) else {
            return decompress(source, into: destination) ? destination.count : nil
        }
        // No zero-filling first: without an offset-0 match up to `prefix`, every byte there is a literal or a copy
        // of an earlier one (liblz4 refuses offsets before the start), so the prefix depends on `source` alone.
        let n = LZ4_decompress_safe_partial(
            source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress!.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(prefix), Int32(destination.count))
        return n >= Int32(prefix) ? prefix : nil
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

    /// Whether no match in `source` that starts within the first `limit` bytes of output has offset 0. Only the
    /// sequence headers are read, not the data.
    static func hasNoZeroOffset(_ source: UnsafeRawBufferPointer, upTo limit: Int) -> Bool {
        guard let bytes = source.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let end = source.count
        var i = 0
        var produced = 0
        while i < end && produced < limit {
            let token = Int(bytes[i])
            i &+= 1
            var literals = token >> 4
            if literals == 15 {  // then length bytes, continued while 255
                var more = 255
                while more == 255 {
                    guard i < end else { return true }  // malformed: liblz4 refuses it
                    more = Int(bytes[i])
                    i &+= 1
                    literals &+= more
                }
            }
            i &+= literals
            produced &+= literals
            guard i &+ 2 <= end else { return true }  // the last sequence has literals only
            if bytes[i] | bytes[i &+ 1] == 0 { return false }
            i &+= 2
            var match = token & 15
            if match == 15 {
                var more = 255
                while more == 255 {
                    guard i < end else { return true }
                    more = Int(bytes[i])
                    i &+= 1
                    match &+= more
                }
            }
            produced &+= match &+ 4
        }
        return true
    }
}
