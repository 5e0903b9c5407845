/// The stored payload of a format-version-2 block, compression 2 (FORMAT.md, "Block"): the block's records cut
/// into frames of about 4 KiB of whole records (those that start in one 4 KiB window of the payload), each compressed on its own against the segment's dictionary, so
/// that a reader decodes the frame holding a record (~1 µs) instead of the whole 64 KiB block (~25 µs).
///
///     frame count M (u32) | M × entry (16 B) | table checksum (u32) | frame 0 | frame 1 | … | frame M-1
///     entry: uncompressed length (u32) | stored length (u32) | record count (u32) | CRC-32C of the stored frame (u32)
///
/// A frame whose stored length is below its uncompressed length is one LZ4 block against the dictionary; one whose
/// lengths are equal is stored as is. This file is the one writer and the one reader of that layout.
enum BlockFrames {
    /// A frame holds the records that start in one window of this many bytes of the payload (the windows of the
    /// block index's window filter, ``BlockFilter/windowSize``: a window that may hold a value is one frame to decode).
    static let frameBytes = 4096
    static let entrySize = 16
    /// Count, one entry, the table checksum and one stored byte.
    static let smallestStoredLength = 4 + entrySize + 4 + 1

    /// One frame, located in the block's stored payload and in its uncompressed payload.
    struct Frame {
        var uncompressed: Range<Int>
        var stored: Range<Int>
        /// Index in the block of the frame's first record.
        var firstRecord: Int
        var recordCount: Int
        var checksum: UInt32
    }

    // MARK: Writing

    /// Cuts `payload` (length-prefixed records) into frames, compresses each (against `dictionary`, or on its own
    /// when there is none: the segment's first block) and writes the stored payload at the start of `out` (grown
    /// if needed). Returns its length.
    static func encode(_ payload: UnsafeRawBufferPointer, dictionary: LZ4Dictionary?, into out: inout [UInt8]) -> Int {
        var frames: [(bytes: Range<Int>, records: Int)] = []
        var r = ByteReader(payload)
        var frameStart = 0
        var records = 0
        while !r.isAtEnd {
            let start = r.position
            // The builder wrote these records: every length is in bounds.
            guard let length = try? r.readVarint("record length"), (try? r.readBytes(Int(length), "record")) != nil
            else { break }
            if records > 0 && start / frameBytes != frameStart / frameBytes {
                frames.append((frameStart..<start, records))
                frameStart = start
                records = 0
            }
            records += 1
        }
        if records > 0 { frames.append((frameStart..<payload.count, records)) }

        let tableEnd = 4 + entrySize * frames.count + 4
        let bound = tableEnd + frames.reduce(0) { $0 + LZ4.compressBound($1.bytes.count) }
        if out.count < bound { out = [UInt8](repeating: 0, count: bound) }
        let scratch = LZ4Dictionary.Scratch()
        return out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(frames.count).littleEndian, toByteOffset: 0, as: UInt32.self)
            var position = tableEnd
            for (i, frame) in frames.enumerated() {
                let source = UnsafeRawBufferPointer(rebasing: payload[frame.bytes])
                let destination = UnsafeMutableRawBufferPointer(rebasing: raw[position...])
                let compressed =
                    dictionary.map { $0.compress(source, into: destination, scratch: scratch) }
                    ?? LZ4.compress(source, into: destination)
                let stored: Int
                if let compressed, compressed < source.count {
                    stored = compressed
                } else {
                    destination.copyMemory(from: source)
                    stored = source.count
                }
                let entry = 4 + entrySize * i
                let checksum = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[position..<position + stored]))
                for (k, value) in [UInt32(source.count), UInt32(stored), UInt32(frame.records), checksum].enumerated() {
                    raw.storeBytes(of: value.littleEndian, toByteOffset: entry + 4 * k, as: UInt32.self)
                }
                position += stored
            }
            let tableChecksum = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<tableEnd - 4]))
            raw.storeBytes(of: tableChecksum.littleEndian, toByteOffset: tableEnd - 4, as: UInt32.self)
            return position
        }
    }

    // MARK: Reading

    /// The frames of a block's stored payload `stored` (which starts `offset` bytes into the block, for error
    /// offsets), with the table checked: its checksum, and that the frames add up to the header's lengths and
    /// record count.
    static func table(_ stored: UnsafeRawBufferPointer, _ header: BlockHeader, offset: Int) throws(DecodeFailure)
        -> [Frame]
    {
        var r = ByteReader(stored)
        let count = Int(try r.readLittleEndian(UInt32.self, "frame count"))
        guard count >= 1, count <= (stored.count - 8) / entrySize else {
            throw DecodeFailure(reason: "frame count \(count) does not fit the block", offset: offset)
        }
        let tableEnd = 4 + entrySize * count + 4
        let storedChecksum = UInt32(littleEndian: stored.loadUnaligned(fromByteOffset: tableEnd - 4, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: stored[0..<tableEnd - 4])) == storedChecksum else {
            throw DecodeFailure(reason: "frame table checksum mismatch", offset: offset + tableEnd - 4)
        }
        var frames: [Frame] = []
        frames.reserveCapacity(count)
        var uncompressed = 0
        var position = tableEnd
        var records = 0
        for i in 0..<count {
            let u = Int(try r.readLittleEndian(UInt32.self, "frame length"))
            let s = Int(try r.readLittleEndian(UInt32.self, "frame stored length"))
            let n = Int(try r.readLittleEndian(UInt32.self, "frame record count"))
            let checksum = try r.readLittleEndian(UInt32.self, "frame checksum")
            guard u >= 1, s >= 1, s <= u, n >= 1, s <= stored.count - position,
                u <= Int(header.uncompressedLength) - uncompressed, n <= Int(header.recordCount) - records
            else {
                throw DecodeFailure(reason: "frame \(i) does not fit the block", offset: offset + 4 + entrySize * i)
            }
            frames.append(
                Frame(
                    uncompressed: uncompressed..<uncompressed + u, stored: position..<position + s,
                    firstRecord: records, recordCount: n, checksum: checksum))
            uncompressed += u
            position += s
            records += n
        }
        guard uncompressed == Int(header.uncompressedLength), records == Int(header.recordCount),
            position == stored.count
        else {
            throw DecodeFailure(
                reason: "frames hold \(uncompressed) bytes, \(records) records in \(position) stored bytes; the header "
                    + "says \(header.uncompressedLength), \(header.recordCount) in \(stored.count)",
                offset: offset)
        }
        return frames
    }

    /// The frames (first and last index) that hold the payload bytes `needed`: those ``BlockDecoder`` decodes for
    /// it, and a partial read of the block reads (``SegmentFile/readBlock(at:length:into:framesChecked:frames:)``).
    static func run(meeting needed: Range<Int>, of frames: [Frame]) -> (first: Int, last: Int) {
        let first = frames.firstIndex { $0.uncompressed.upperBound > needed.lowerBound } ?? frames.count - 1
        var last = first
        while last + 1 < frames.count && frames[last].uncompressed.upperBound < needed.upperBound {
            last += 1
        }
        return (first, last)
    }

    /// Checks `frame`'s checksum and decodes it into its place in `payload` (the block's whole uncompressed
    /// payload, or at least as much of it as reaches the frame's end): all of it, or only up to (at least) the
    /// payload offset `until`.
    static func decode(
        _ frame: Frame, of stored: UnsafeRawBufferPointer, offset: Int, dictionary: UnsafeRawBufferPointer,
        into payload: UnsafeMutableRawBufferPointer, until: Int? = nil
    ) throws(DecodeFailure) {
        let source = UnsafeRawBufferPointer(rebasing: stored[frame.stored])
        guard CRC32C.checksum(source) == frame.checksum else {
            throw DecodeFailure(reason: "frame checksum mismatch", offset: offset + frame.stored.lowerBound)
        }
        let destination = UnsafeMutableRawBufferPointer(rebasing: payload[frame.uncompressed])
        if frame.stored.count == frame.uncompressed.count {
            destination.copyMemory(from: source)
        } else if !LZ4.decompress(
            source, dictionary: dictionary, into: destination, prefix: until.map { $0 - frame.uncompressed.lowerBound })
        {
            throw DecodeFailure(reason: "LZ4 frame does not decompress", offset: offset + frame.stored.lowerBound)
        }
    }
}
