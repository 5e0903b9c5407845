#if canImport(Glibc)
    import Glibc
#endif

/// Finding byte strings in a buffer: which records of a decompressed block hold a value a query filters on.
enum ByteSearch {
    /// Where `values` occur in `payload` (every occurrence, overlapping ones too), sorted by offset.
    static func occurrences(of values: [[UInt8]], in payload: UnsafeRawBufferPointer, into hits: inout [Range<Int>]) {
        hits.removeAll(keepingCapacity: true)
        guard let base = payload.baseAddress else { return }
        for value in values {
            value.withUnsafeBytes { needle in
                let n = needle.count
                guard n > 0, n <= payload.count else { return }
                func found(at offset: Int) {
                    if memcmp(base + offset, needle.baseAddress!, n) == 0 { hits.append(offset..<offset + n) }
                }
                // Sixteen positions at a time: where the first and the last byte of the needle both are, compare
                // the rest (glibc's memmem is a GNU extension Swift does not see; this is its generic SIMD cousin).
                let first = SIMD16<UInt8>(repeating: needle[0])
                let last = SIMD16<UInt8>(repeating: needle[n - 1])
                let end = payload.count - n + 1  // candidate offsets are 0..<end
                var i = 0
                while i + 16 <= end {
                    let a = (base + i).loadUnaligned(as: SIMD16<UInt8>.self)
                    let b = (base + i + n - 1).loadUnaligned(as: SIMD16<UInt8>.self)
                    let both = (a .== first) .& (b .== last)
                    if any(both) {
                        for lane in 0..<16 where both[lane] { found(at: i + lane) }
                    }
                    i += 16
                }
                while i < end {
                    if base.load(fromByteOffset: i, as: UInt8.self) == needle[0] { found(at: i) }
                    i += 1
                }
            }
        }
        if values.count > 1 { hits.sort { $0.lowerBound < $1.lowerBound } }
    }
}
