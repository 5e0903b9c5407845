/// What a segment holds at a given offset.
enum SegmentEntry {
    /// A block whose header checks out (its payload is checked when read).
    case block(BlockHeader)
    /// The footer that seals the segment.
    case footer(SegmentFooter)
    /// Exactly the end of the file.
    case end
    /// Bytes that are not a valid block or footer: a torn write, garbage, or damage.
    case invalid(SegmentDamage)
}

/// A segment file opened for reading, with the header checked. Reads use `pread`: a writer truncating a torn
/// tail cannot fault a reader, as it could under a memory mapping.
///
/// The primitives here decode one entry at an offset; ``SegmentWalker`` is the one walk over a segment.
final class SegmentFile {
    let fd: FileDescriptor
    let header: SegmentHeader
    let headerSize: Int
    var path: String { fd.path }

    private init(fd: FileDescriptor, header: SegmentHeader, headerSize: Int) {
        self.fd = fd
        self.header = header
        self.headerSize = headerSize
    }

    /// Byte offset of the base seq in the segment header (FORMAT.md, "Segment header").
    static let baseSeqOffset: Int64 = 12

    /// Opens a segment and checks its header; the base seq must match the file name.
    static func open(path: String, baseSeq: UInt64, fd existing: FileDescriptor? = nil) throws(AuditLogError)
        -> SegmentFile
    {
        let file = try open(path: path, fd: existing)
        guard file.header.baseSeq == baseSeq else {
            throw AuditLogError(
                .corrupt, "segment header says base seq \(file.header.baseSeq) but the file name says \(baseSeq)",
                path: path, offset: baseSeqOffset)
        }
        return file
    }

    /// Opens a segment and checks its header, whatever its base seq.
    static func open(path: String, fd existing: FileDescriptor? = nil) throws(AuditLogError) -> SegmentFile {
        let fd = if let existing { existing } else { try FileDescriptor.openForReading(path) }
        let bytes = try fd.read(count: SegmentHeader.maxSize, at: 0)
        do throws(DecodeFailure) {
            let header = try bytes.withUnsafeBytes { raw in
                Result { () throws(DecodeFailure) in try SegmentHeader.decode(raw) }
            }.get()
            return SegmentFile(fd: fd, header: header, headerSize: header.encodedSize)
        } catch {
            let code: AuditLogError.Code = error.kind == .unsupportedVersion ? .unsupportedFormat : .corrupt
            throw AuditLogError(code, "bad segment header: \(error.reason)", path: path, offset: Int64(error.offset))
        }
    }

    /// Reads what starts at `offset`: a block header, the footer, the end of the file, or invalid bytes.
    func entry(at offset: Int64, fileSize: Int64) throws(AuditLogError) -> SegmentEntry {
        if offset == fileSize { return .end }
        let bytes = try fd.read(count: BlockHeader.size, at: offset)
        return bytes.withUnsafeBytes { raw -> SegmentEntry in
            if SegmentFooter.hasMagic(raw) {
                guard raw.count >= SegmentFooter.size else {
                    return .invalid(
                        SegmentDamage(kind: .cutShort, offset: offset, length: nil, reason: "segment footer cut short"))
                }
                do throws(DecodeFailure) {
                    return .footer(try SegmentFooter.decode(raw))
                } catch {
                    return .invalid(
                        SegmentDamage(
                            kind: .badEntryHeader, offset: offset, length: Int64(SegmentFooter.size),
                            reason: error.reason))
                }
            }
            guard raw.count >= BlockHeader.size else {
                return .invalid(
                    SegmentDamage(kind: .cutShort, offset: offset, length: nil, reason: "block header cut short"))
            }
            do throws(DecodeFailure) {
                let header = try BlockHeader.decode(raw)
                guard offset + Int64(header.totalLength) <= fileSize else {
                    return .invalid(
                        SegmentDamage(
                            kind: .cutShort, offset: offset, length: Int64(header.totalLength),
                            reason: "block extends past the end of the file"))
                }
                return .block(header)
            } catch {
                return .invalid(SegmentDamage(kind: .badEntryHeader, offset: offset, length: nil, reason: error.reason))
            }
        }
    }

    /// Reads a whole block into `buffer` and checks its trailing checksum. Returns the damage, or nil.
    func readBlock(_ header: BlockHeader, at offset: Int64, into buffer: inout [UInt8]) throws(AuditLogError)
        -> SegmentDamage?
    {
        let length = header.totalLength
        if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
        let n = try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(AuditLogError) in
                try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<length]), at: offset)
            }
        }.get()
        guard n == length else {
            return SegmentDamage(
                kind: .cutShort, offset: offset, length: Int64(length), reason: "block extends past the end of the file")
        }
        let intact = buffer.withUnsafeBytes { raw in
            let body = length - BlockHeader.trailerSize
            let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: body, as: UInt32.self))
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<body])) == stored
        }
        return intact
            ? nil
            : SegmentDamage(
                kind: .blockChecksum, offset: offset, length: Int64(length), reason: "block checksum mismatch")
    }
}

extension SegmentFile {
    /// Whether a valid block that starts a group commit, for records after `seq`, lies past `offset`.
    ///
    /// A crash can only tear the last commit, so bad bytes followed by such a block are damage to acknowledged
    /// data, not a torn tail (FORMAT.md, "Writing and recovery").
    func containsCommit(after offset: Int64, fileSize: Int64, laterThan seq: UInt64) throws(AuditLogError) -> Bool {
        let chunkSize = 1 << 20
        var position = offset + 1
        while position + Int64(BlockHeader.size) <= fileSize {
            let chunk = try fd.read(count: chunkSize + BlockHeader.size, at: position)
            let found = chunk.withUnsafeBytes { raw -> Bool in
                var i = 0
                while i + BlockHeader.size <= raw.count {
                    if raw[i] == BlockHeader.magic[0],
                        let header = try? BlockHeader.decode(
                            UnsafeRawBufferPointer(rebasing: raw[i..<i + BlockHeader.size])),
                        header.startsCommit, header.firstSeq > seq
                    {
                        return true
                    }
                    i += 1
                }
                return false
            }
            if found { return true }
            position += Int64(chunkSize)
        }
        return false
    }
}

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
    /// calls `body` with each record and its seq.
    static func forEachRecord(
        inBlock block: [UInt8], _ header: BlockHeader, payload: inout [UInt8],
        _ body: (UInt64, UnsafeRawBufferPointer) throws(DecodeFailure) -> Void
    ) throws(DecodeFailure) {
        try block.withUnsafeBytes { raw in
            Result { () throws(DecodeFailure) in try Self.payload(of: raw, header, into: &payload) }
        }.get()
        try payload.withUnsafeBytes { raw in
            Result { () throws(DecodeFailure) in
                try forEachRecord(
                    in: UnsafeRawBufferPointer(rebasing: raw[0..<Int(header.uncompressedLength)]), header, body)
            }
        }.get()
    }

    /// Like ``forEachRecord(inBlock:_:payload:_:)`` but decompresses and walks only the records that end within
    /// the first `prefix` bytes of the payload (from the block index): a query that needs one record of a block
    /// need not decompress all of it.
    static func forEachRecord(
        inBlock block: [UInt8], _ header: BlockHeader, prefix: Int, payload: inout [UInt8],
        _ body: (UInt64, UnsafeRawBufferPointer) throws(DecodeFailure) -> Void
    ) throws(DecodeFailure) {
        let count = Int(header.uncompressedLength)
        guard prefix < count, header.compression == .lz4 else {
            return try forEachRecord(inBlock: block, header, payload: &payload, body)
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
        try payload.withUnsafeBytes { raw in
            Result { () throws(DecodeFailure) in
                var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[0..<prefix]))
                var seq = header.firstSeq
                while !r.isAtEnd {
                    let length = try r.readVarint("record length")
                    guard length >= UInt64(RecordCodec.fixedSize), length <= UInt64(r.remaining), seq < header.endSeq
                    else {
                        throw DecodeFailure(reason: "bad record length \(length)", offset: r.position)
                    }
                    let record = try r.readBytes(Int(length), "record")
                    guard RecordCodec.seq(of: record) == seq else {
                        throw DecodeFailure(
                            reason: "record seq \(RecordCodec.seq(of: record)) where \(seq) was expected",
                            offset: r.position)
                    }
                    try body(seq, record)
                    seq += 1
                }
            }
        }.get()
    }

    /// Calls `body` with each record of a decompressed payload and its seq, checking that the records are
    /// exactly `header.recordCount`, numbered from `header.firstSeq` on.
    static func forEachRecord(
        in payload: UnsafeRawBufferPointer, _ header: BlockHeader,
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
        guard seq == header.endSeq else {
            throw DecodeFailure(
                reason: "block has \(seq - header.firstSeq) records, header says \(header.recordCount)",
                offset: r.position)
        }
    }
}
