import CLZ4Reference

@testable import AuditLog

/// The library's LZ4 decoders (`Sources/CLZ4Decode`) against liblz4: the prefix decoder of version 1 queries
/// against the whole decoder, and (mode bit 2) the frame decoder of version 2 against
/// `LZ4_decompress_safe_usingDict`. Input: two bytes for the output size, two for how much of it to decode, one
/// mode byte, then either a stream to decode as it is, or (mode bit 0) data to compress first, with (mode bit 1)
/// one byte of the stream changed; with bit 2 the data's first part (its length from the first size byte) is the
/// dictionary. Properties: no read or write out of bounds (the buffers are exact; AddressSanitizer watches the C
/// code too); where both decoders accept a stream, they produce the same bytes; a stream compressed from data
/// decodes to that data.
enum LZ4PrefixTarget {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 5 else { return }
        if bytes[4] & 4 != 0 {
            runWithDictionary(bytes)
            return
        }
        let want = Int(bytes[2]) << 8 | Int(bytes[3])
        guard
            let (stream, capacity, original) = stream(
                UnsafeRawBufferPointer(rebasing: bytes[5...]), mode: bytes[4],
                capacity: (Int(bytes[0]) << 8 | Int(bytes[1])) % 70_000 + 1, flip: (bytes[0], bytes[1]),
                compress: { LZ4.compress($0, into: $1) })
        else { return }
        let target = want % capacity + 1
        let prefix = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        let whole = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer {
            prefix.deallocate()
            whole.deallocate()
        }
        let produced = stream.withUnsafeBytes { LZ4.decompress($0, prefix: target, into: prefix) }
        let wholeOK = stream.withUnsafeBytes { LZ4.decompress($0, into: whole) }
        if let produced {
            require(produced == target || produced == capacity, "produced \(produced) bytes for a prefix of \(target)")
            if wholeOK {
                require(
                    UnsafeRawBufferPointer(rebasing: prefix[..<produced]).elementsEqual(whole[..<produced]),
                    "the prefix decoder and liblz4 disagree on a stream both accept")
            }
        }
        if let original {
            require(produced != nil, "a compressed stream's prefix did not decode")
            require(
                UnsafeRawBufferPointer(rebasing: prefix[..<target]).elementsEqual(original[..<target]),
                "a compressed stream's prefix is not the data's")
        }
    }

    static func runWithDictionary(_ bytes: UnsafeRawBufferPointer) {
        let mode = bytes[4]
        let data = UnsafeRawBufferPointer(rebasing: bytes[5...])
        let split = min(Int(bytes[0]) << 8 | Int(bytes[1]), data.count)
        let dictionary = LZ4Dictionary(payload: UnsafeRawBufferPointer(rebasing: data[..<split]))
        let scratch = LZ4Dictionary.Scratch()
        guard
            let (stream, capacity, original) = stream(
                UnsafeRawBufferPointer(rebasing: data[split...]), mode: mode,
                capacity: (Int(bytes[2]) << 8 | Int(bytes[3])) % 70_000 + 1, flip: (bytes[3], bytes[2]),
                compress: { dictionary.compress($0, into: $1, scratch: scratch) }),
            !stream.isEmpty
        else { return }
        let ours = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        let theirs = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer {
            ours.deallocate()
            theirs.deallocate()
        }
        let ok = stream.withUnsafeBytes { LZ4.decompress($0, dictionary: dictionary.bytes, into: ours) }
        let n = stream.withUnsafeBytes { src in
            LZ4_decompress_safe_usingDict(
                src.baseAddress!.assumingMemoryBound(to: CChar.self),
                theirs.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(src.count), Int32(capacity), dictionary.bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(dictionary.bytes.count))
        }
        if ok && n == Int32(capacity) {
            require(
                UnsafeRawBufferPointer(ours).elementsEqual(UnsafeRawBufferPointer(theirs)),
                "the frame decoder and liblz4 disagree on a stream both accept")
        }
        if let original {
            require(ok, "a frame compressed against a dictionary did not decode")
            require(UnsafeRawBufferPointer(ours).elementsEqual(original), "a frame does not decode to its data")
        }
    }

    /// The stream a run decodes and its output size: with mode bit 0, `data` compressed by `compress`, of the
    /// data's size, and with mode bit 1 one byte changed (at `flip.at`, by `flip.by`), else with `data` as what it
    /// must decode to; otherwise `data` itself, of `capacity` bytes. Nil when there is nothing to compress.
    static func stream(
        _ data: UnsafeRawBufferPointer, mode: UInt8, capacity: Int, flip: (at: UInt8, by: UInt8),
        compress: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Int?
    ) -> (stream: [UInt8], capacity: Int, original: UnsafeRawBufferPointer?)? {
        guard mode & 1 != 0 else { return (Array(data), capacity, nil) }
        guard !data.isEmpty else { return nil }
        var stream = [UInt8](repeating: 0, count: LZ4.compressBound(data.count))
        guard let n = stream.withUnsafeMutableBytes({ compress(data, $0) }) else { return nil }
        stream.removeLast(stream.count - n)
        guard mode & 2 != 0 else { return (stream, data.count, data) }
        stream[Int(flip.at) % stream.count] ^= flip.by | 1
        return (stream, data.count, nil)
    }

    static func seeds() -> [[UInt8]] {
        let record = Array(
            #"{"actor":{"id":"user_42","type":"user"},"action":"prompt.update","resource":{"id":"p_1"}}"#.utf8)
        return [
            [0x01, 0x00, 0x00, 0x80, 0x01] + record + record + record,
            [0x00, 0x40, 0x00, 0x10, 0x03] + (0..<300).map { UInt8(truncatingIfNeeded: $0 % 7) },
            // 4 literals, a match at offset 0, then the last literals: refused before the prefix, read whole.
            [0x00, 0x0D, 0x00, 0x04, 0x00, 0x40] + Array("abcd".utf8) + [0x00, 0x00, 0x50] + Array("efghi".utf8),
            // A frame against a dictionary of three records.
            [0x00, UInt8(3 * record.count), 0x00, 0x00, 0x05] + record + record + record + record,
        ]
    }
}
