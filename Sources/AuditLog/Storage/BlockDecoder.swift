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

    /// Decompresses the payload into the first `header.uncompressedLength` bytes of `payload`, which only ever
    /// grows: reallocating and zeroing it for every block cost ~5% of `auditlog verify`.
    static func payload(of block: UnsafeRawBufferPointer, _ header: BlockHeader, into payload: inout [UInt8])
        throws(DecodeFailure)
    {
        let start = BlockHeader.size + 32 * Int(header.frontierCount)
        let stored = UnsafeRawBufferPointer(rebasing: block[start..<start + Int(header.storedLength)])
        let count = Int(header.uncompressedLength)
        if payload.count < count { payload = [UInt8](repeating: 0, count: max(count, 2 * payload.count)) }
        switch header.compression {
        case .none:
            payload.withUnsafeMutableBytes {
                UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]).copyMemory(from: stored)
            }
        case .lz4:
            let ok = payload.withUnsafeMutableBytes {
                LZ4.decompress(stored, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]))
            }
            guard ok else { throw DecodeFailure(reason: "LZ4 payload does not decompress", offset: start) }
        }
    }

    /// Decompresses a block read by ``SegmentFile/readBlock(_:at:into:)`` (checksum checked) into `payload` and
    /// calls `body` with each record and its seq; with a `prefix` (``decompress(_:_:prefix:into:)``), only the
    /// records that end within it.
    static func forEachRecord(
        inBlock block: [UInt8], _ header: BlockHeader, prefix: Int? = nil, payload: inout [UInt8],
        _ body: (UInt64, UnsafeRawBufferPointer) throws(DecodeFailure) -> Void
    ) throws(DecodeFailure) {
        let length = try decompress(block, header, prefix: prefix, into: &payload)
        try payload.withUnsafeBytes { raw in
            Result { () throws(DecodeFailure) in
                try forEachRecord(
                    in: UnsafeRawBufferPointer(rebasing: raw[0..<length]), header,
                    complete: length == Int(header.uncompressedLength), body)
            }
        }.get()
    }

    /// Decompresses a checked block's payload into the start of `payload` and returns how many bytes of it are
    /// valid: all of it, or with a `prefix` (from the block index: where the last record a query needs ends), at
    /// least `prefix` bytes, so that a query that needs one record of a block need not decompress all of it.
    static func decompress(_ block: [UInt8], _ header: BlockHeader, prefix: Int?, into payload: inout [UInt8])
        throws(DecodeFailure) -> Int
    {
        let count = Int(header.uncompressedLength)
        guard let prefix, prefix < count, header.compression == .lz4 else {
            try block.withUnsafeBytes { raw in
                Result { () throws(DecodeFailure) in try Self.payload(of: raw, header, into: &payload) }
            }.get()
            return count
        }
        if payload.count < count { payload = [UInt8](repeating: 0, count: max(count, 2 * payload.count)) }
        let start = BlockHeader.size + 32 * Int(header.frontierCount)
        let produced = block.withUnsafeBytes { raw in
            payload.withUnsafeMutableBytes { out in
                LZ4.decompress(
                    UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(header.storedLength)]), prefix: prefix,
                    into: UnsafeMutableRawBufferPointer(rebasing: out[0..<count]))
            }
        }
        guard produced != nil else { throw DecodeFailure(reason: "LZ4 payload does not decompress", offset: start) }
        return prefix
    }

    /// Calls `body` with each record of a decompressed payload and its seq, checking that the records are
    /// numbered from `header.firstSeq` on and, if the payload is `complete`, that they are exactly
    /// `header.recordCount` (a prefix of the payload holds fewer).
    static func forEachRecord(
        in payload: UnsafeRawBufferPointer, _ header: BlockHeader, complete: Bool = true,
        _ body: (UInt64, UnsafeRawBufferPointer) throws(DecodeFailure) -> Void
    ) throws(DecodeFailure) {
        var r = ByteReader(payload)
        var seq = header.firstSeq
        while !r.isAtEnd {
            let start = r.position
            let length = try r.readVarint("record length")
            guard length >= UInt64(RecordCodec.fixedSize), length <= UInt64(r.remaining) else {
                throw DecodeFailure(reason: "bad record length \(length)", offset: start)
            }
            let record = try r.readBytes(Int(length), "record")
            guard seq < header.endSeq else {
                throw DecodeFailure(reason: "more records than the header says", offset: start)
            }
            guard RecordCodec.seq(of: record) == seq else {
                throw DecodeFailure(
                    reason: "record seq \(RecordCodec.seq(of: record)) where \(seq) was expected", offset: start)
            }
            try body(seq, record)
            seq += 1
        }
        guard seq == header.endSeq || !complete else {
            throw DecodeFailure(
                reason: "block has \(seq - header.firstSeq) records, header says \(header.recordCount)",
                offset: r.position)
        }
    }
}
