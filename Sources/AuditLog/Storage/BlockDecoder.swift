/// Reads the parts of a block whose checksum has been checked (FORMAT.md, "Block").
enum BlockDecoder {
    /// The frontier stored after the header.
    static func frontier(of block: UnsafeRawBufferPointer, _ header: BlockHeader) -> MerkleFrontier? {
        var hashes: [SHA256Hash] = []
        for i in 0..<Int(header.frontierCount) {
            let start = BlockHeader.size + 32 * i
            hashes.append(SHA256Hash(UnsafeRawBufferPointer(rebasing: block[start..<start + 32])))
        }
        return MerkleFrontier(size: header.endSeq, hashes: hashes)
    }

    /// The part of a block's uncompressed payload that ``decompress(_:_:needed:dictionary:into:)`` decoded: its
    /// bytes (at the offsets they have in the whole payload) and the seq of their first record.
    struct Decoded {
        var bytes: Range<Int>
        var firstSeq: UInt64
        /// The seq after the part's last record when the part ends where a frame or the block ends (nil for a
        /// version 1 prefix, which may end inside a record).
        var endSeq: UInt64?
    }

    /// Decompresses the payload into the first `header.uncompressedLength` bytes of `payload`, which only ever
    /// grows: reallocating and zeroing it for every block cost ~5% of `auditlog verify`. `dictionary`: the
    /// segment's, for compression 2 (``SegmentFile/dictionary(for:)``).
    static func payload(
        of block: UnsafeRawBufferPointer, _ header: BlockHeader, dictionary: UnsafeRawBufferPointer,
        into payload: inout [UInt8]
    ) throws(DecodeFailure) {
        let start = BlockHeader.size + 32 * Int(header.frontierCount)
        let stored = UnsafeRawBufferPointer(rebasing: block[start..<start + Int(header.storedLength)])
        let count = Int(header.uncompressedLength)
        if payload.count < count { payload = [UInt8](repeating: 0, count: max(count, 2 * payload.count)) }
        try payload.withUnsafeMutableBytes { raw in
            Result { () throws(DecodeFailure) in
                let out = UnsafeMutableRawBufferPointer(rebasing: raw[0..<count])
                switch header.compression {
                case .none:
                    out.copyMemory(from: stored)
                case .lz4:
                    guard LZ4.decompress(stored, into: out) else {
                        throw DecodeFailure(reason: "LZ4 payload does not decompress", offset: start)
                    }
                case .frames:
                    for frame in try BlockFrames.table(stored, header, offset: start) {
                        try BlockFrames.decode(frame, of: stored, offset: start, dictionary: dictionary, into: out)
                    }
                }
            }
        }.get()
    }

    /// Decompresses a block read by ``SegmentFile/readBlock(_:at:into:)`` (checksum checked) into `payload` and
    /// calls `body` with each record and its seq; with a `prefix`, only (at least) the records that end within it.
    static func forEachRecord(
        inBlock block: [UInt8], _ header: BlockHeader, prefix: Int? = nil, dictionary: [UInt8] = [],
        payload: inout [UInt8], _ body: (UInt64, UnsafeRawBufferPointer) throws(DecodeFailure) -> Void
    ) throws(DecodeFailure) {
        let decoded = try dictionary.withUnsafeBytes { dictionary in
            Result { () throws(DecodeFailure) in
                try decompress(block, header, needed: prefix.map { 0..<$0 }, dictionary: dictionary, into: &payload)
            }
        }.get()
        try payload.withUnsafeBytes { raw in
            Result { () throws(DecodeFailure) in
                try forEachRecord(
                    in: UnsafeRawBufferPointer(rebasing: raw[decoded.bytes]), header, firstSeq: decoded.firstSeq,
                    endSeq: decoded.endSeq, body)
            }
        }.get()
    }

    /// Decompresses what a reader needs of a checked block into `payload`, which only ever grows: with `needed`
    /// nil, the whole payload; otherwise (from the block index: where the first record a query wants starts and
    /// the last one ends) at least those bytes: a version 1 block's payload up to their end (one LZ4 stream), a
    /// version 2 block's frames that hold them, so that a query that needs one record of a block need not
    /// decompress all of it.
    ///
    /// With a `cache` (and where the block lies, for its keys), each frame it holds is copied from it instead of
    /// being checked and decoded, and each frame decoded is kept there, whole (a version 1 block: its whole payload).
    /// `table`: the block's frame table, when the caller has read and checked it already.
    static func decompress(
        _ block: [UInt8], _ header: BlockHeader, needed: Range<Int>?, dictionary: UnsafeRawBufferPointer,
        into payload: inout [UInt8], cache: (cache: FrameCache, block: FrameCache.Block)? = nil,
        table: [BlockFrames.Frame]? = nil
    ) throws(DecodeFailure) -> Decoded {
        let count = Int(header.uncompressedLength)
        let whole = Decoded(bytes: 0..<count, firstSeq: header.firstSeq, endSeq: header.endSeq)
        if payload.count < count { payload = [UInt8](repeating: 0, count: max(count, 2 * payload.count)) }
        // A version 1 prefix is not cached: with a cache, a version 1 block is decoded and kept whole.
        guard let needed,
            header.compression == .frames || (header.compression == .lz4 && needed.upperBound < count && cache == nil)
        else {
            // (The whole payload is kept as frame -1.)
            let key = cache.map { $0.block.key(frame: -1, checksum: 0) }
            if let key, let kept = cache!.cache.frame(key), kept.count == count {
                payload.withUnsafeMutableBytes { out in kept.withUnsafeBytes { out.copyMemory(from: $0) } }
                return whole
            }
            try block.withUnsafeBytes { raw in
                Result { () throws(DecodeFailure) in
                    try Self.payload(of: raw, header, dictionary: dictionary, into: &payload)
                }
            }.get()
            if let key { cache!.cache.insert(Array(payload[0..<count]), for: key) }
            return whole
        }
        let start = BlockHeader.size + 32 * Int(header.frontierCount)
        return try block.withUnsafeBytes { raw in
            payload.withUnsafeMutableBytes { out in
                Result { () throws(DecodeFailure) -> Decoded in
                    let stored = UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(header.storedLength)])
                    let out = UnsafeMutableRawBufferPointer(rebasing: out[0..<count])
                    guard header.compression == .frames else {
                        guard LZ4.decompress(stored, prefix: needed.upperBound, into: out) != nil else {
                            throw DecodeFailure(reason: "LZ4 payload does not decompress", offset: start)
                        }
                        return Decoded(bytes: 0..<needed.upperBound, firstSeq: header.firstSeq, endSeq: nil)
                    }
                    let frames: [BlockFrames.Frame]
                    if let table {
                        frames = table
                    } else {
                        frames = try BlockFrames.table(stored, header, offset: start)
                    }
                    let (first, last) = BlockFrames.run(meeting: needed, of: frames)
                    // The last frame only up to where the records needed end (half a frame on average), unless it
                    // is to be kept.
                    let end =
                        cache != nil
                        ? frames[last].uncompressed.upperBound
                        : min(
                            max(needed.upperBound, frames[last].uncompressed.lowerBound + 1),
                            frames[last].uncompressed.upperBound)
                    for i in first...last {
                        let frame = frames[i]
                        guard let (cache, block) = cache else {
                            try BlockFrames.decode(
                                frame, of: stored, offset: start, dictionary: dictionary, into: out,
                                until: frame.uncompressed.upperBound > end ? end : nil)
                            continue
                        }
                        let key = block.key(frame: i, checksum: frame.checksum)
                        let place = UnsafeMutableRawBufferPointer(rebasing: out[frame.uncompressed])
                        if let kept = cache.frame(key), kept.count == place.count {
                            kept.withUnsafeBytes { place.copyMemory(from: $0) }
                        } else {
                            try BlockFrames.decode(frame, of: stored, offset: start, dictionary: dictionary, into: out)
                            cache.insert(Array(UnsafeRawBufferPointer(place)), for: key)
                        }
                    }
                    let whole = end == frames[last].uncompressed.upperBound
                    return Decoded(
                        bytes: frames[first].uncompressed.lowerBound..<end,
                        firstSeq: header.firstSeq + UInt64(frames[first].firstRecord),
                        endSeq: whole
                            ? header.firstSeq + UInt64(frames[last].firstRecord + frames[last].recordCount) : nil)
                }
            }
        }.get()
    }

    /// Calls `body` with each record of `payload` (decompressed, from a record's start) and its seq, checking that
    /// the records are numbered from `firstSeq` on and that they are exactly up to `endSeq`, when given (a prefix
    /// of a version 1 payload holds fewer).
    static func forEachRecord(
        in payload: UnsafeRawBufferPointer, _ header: BlockHeader, firstSeq: UInt64, endSeq: UInt64?,
        _ body: (UInt64, UnsafeRawBufferPointer) throws(DecodeFailure) -> Void
    ) throws(DecodeFailure) {
        var r = ByteReader(payload)
        var seq = firstSeq
        while !r.isAtEnd {
            let start = r.position
            let length = try r.readVarint("record length")
            guard length >= UInt64(RecordCodec.fixedSize), length <= UInt64(r.remaining) else {
                throw DecodeFailure(reason: "bad record length \(length)", offset: start)
            }
            let record = try r.readBytes(Int(length), "record")
            guard seq < (endSeq ?? header.endSeq) else {
                throw DecodeFailure(reason: "more records than the header says", offset: start)
            }
            guard RecordCodec.seq(of: record) == seq else {
                throw DecodeFailure(
                    reason: "record seq \(RecordCodec.seq(of: record)) where \(seq) was expected", offset: start)
            }
            try body(seq, record)
            seq += 1
        }
        if let endSeq, seq != endSeq {
            throw DecodeFailure(
                reason: "records \(firstSeq)..<\(seq) where the header says \(firstSeq)..<\(endSeq)",
                offset: r.position)
        }
    }
}
