import CLZ4
import CLZ4Decode

/// LZ4 block compression (liblz4, acceleration 1). Never records one by one: a single ~480-byte record hardly
/// compresses. Format version 1 compresses whole 64 KiB blocks (about 0.36 bytes per byte); version 2 compresses
/// ~4 KiB frames against a dictionary taken from the segment (``LZ4Dictionary``), which reaches the same ratio
/// and lets a reader decode one frame instead of a whole block.
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
    /// decoded by the library's own decoder (`Sources/CLZ4Decode`), which stops at such a match, and a stream with
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

    /// Decompresses the stream `source` into `destination`, which must be exactly the original size, with
    /// matches reaching back into `dictionary` (which precedes the output; empty for none): all of it, or with a
    /// `prefix`, at least that many bytes (what lies past them is unspecified). False when the input is not a
    /// valid LZ4 block of that size, or holds a match with offset 0 (before the prefix's end); never reads or
    /// writes out of bounds. The library's own decoder (`Sources/CLZ4Decode`), for format version 2's frames.
    static func decompress(
        _ source: UnsafeRawBufferPointer, dictionary: UnsafeRawBufferPointer,
        into destination: UnsafeMutableRawBufferPointer, prefix: Int? = nil
    ) -> Bool {
        guard source.count > 0 else { return false }
        let target = min(prefix ?? destination.count, destination.count)
        let n = auditlog_lz4_decode_with_dictionary(
            source.baseAddress!.assumingMemoryBound(to: UInt8.self), source.count,
            destination.baseAddress?.assumingMemoryBound(to: UInt8.self), destination.count, target,
            dictionary.baseAddress?.assumingMemoryBound(to: UInt8.self), dictionary.count)
        return target == destination.count ? n == Int64(destination.count) : n >= Int64(target)
    }
}

/// The dictionary that format version 2 compresses a segment's frames against (FORMAT.md, "Block"): the last
/// 64 KiB (LZ4's reach) of the uncompressed payload of the segment's first block. Immutable once made, so the
/// threads that compress blocks share it: liblz4 hashes it once into a stream state, which each frame's
/// compression copies (16 KiB) instead of hashing 64 KiB again.
final class LZ4Dictionary: @unchecked Sendable {
    static let maxSize = 65_536
    /// The dictionary's bytes; they stay where they are for the object's life (liblz4's state points at them).
    let bytes: UnsafeRawBufferPointer
    private let loaded: UnsafeMutablePointer<LZ4_stream_t>

    /// The dictionary of a segment whose first block's uncompressed payload is `payload`.
    init(payload: UnsafeRawBufferPointer) {
        let kept = UnsafeRawBufferPointer(rebasing: payload[max(0, payload.count - Self.maxSize)...])
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(kept.count, 1), alignment: 16)
        if let base = kept.baseAddress { storage.baseAddress!.copyMemory(from: base, byteCount: kept.count) }
        bytes = UnsafeRawBufferPointer(rebasing: storage[0..<kept.count])
        loaded = .allocate(capacity: 1)
        LZ4_initStream(loaded, MemoryLayout<LZ4_stream_t>.size)
        LZ4_loadDict(loaded, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
    }

    deinit {
        loaded.deallocate()
        UnsafeMutableRawBufferPointer(mutating: bytes).deallocate()
    }

    /// Working state for ``compress(_:into:scratch:)``, one per thread that compresses.
    final class Scratch {
        fileprivate let stream = UnsafeMutablePointer<LZ4_stream_t>.allocate(capacity: 1)
        init() {}
        deinit { stream.deallocate() }
    }

    /// Compresses `source` against the dictionary into `destination`, using `scratch` (the caller's) as working
    /// state; returns the compressed length, or nil if it does not fit.
    func compress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, scratch: Scratch
    ) -> Int? {
        guard source.count > 0 else { return nil }
        scratch.stream.update(from: loaded, count: 1)
        let n = LZ4_compress_fast_continue(
            scratch.stream, source.baseAddress!.assumingMemoryBound(to: CChar.self),
            destination.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(source.count),
            Int32(destination.count), 1)
        return n > 0 ? Int(n) : nil
    }
}
