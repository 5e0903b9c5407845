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

/// A segment file opened for reading, with the header checked. Reads use `pread` (a writer truncating a torn
/// tail cannot fault a reader), or, for the segments queries read, a guarded copy out of a memory mapping
/// (``MappedSegmentBytes``). (The verifier also opens archived segments, fetched into memory, through the same
/// ``ByteSource``.)
///
/// The primitives here decode one entry at an offset; ``SegmentWalker`` is the one walk over a segment.
final class SegmentFile {
    let source: any ByteSource
    let header: SegmentHeader
    let headerSize: Int
    var path: String { source.path }
    /// The dictionary of a version 2 segment's frames, once read (``dictionary(for:)``).
    private let dictionaryBytes = Locked<[UInt8]?>(nil)
    /// A reader's dictionaries of other openings of this segment, checked by inode (``DictionaryCache``).
    var dictionaries: DictionaryCache?

    private init(source: any ByteSource, header: SegmentHeader, headerSize: Int) {
        self.source = source
        self.header = header
        self.headerSize = headerSize
    }

    /// Byte offset of the base seq in the segment header (FORMAT.md, "Segment header").
    static let baseSeqOffset: Int64 = 12

    /// Opens a segment and checks its header; the base seq must match the file name.
    static func open(path: String, baseSeq: UInt64, fd existing: FileDescriptor? = nil) throws(AuditLogError)
        -> SegmentFile
    {
        let source: any ByteSource
        if let existing { source = existing } else { source = try Self.source(path: path, whole: false) }
        return try open(source: source, baseSeq: baseSeq)
    }

    /// Opens a segment from its bytes and checks its header; the base seq must match the file name.
    static func open(source: any ByteSource, baseSeq: UInt64) throws(AuditLogError) -> SegmentFile {
        let file = try open(source: source)
        guard file.header.baseSeq == baseSeq else {
            throw AuditLogError(
                .corrupt, "segment header says base seq \(file.header.baseSeq) but the file name says \(baseSeq)",
                path: source.path, offset: baseSeqOffset)
        }
        return file
    }

    /// Opens a segment and checks its header, whatever its base seq. A segment evicted to the archive (its stub in
    /// place of the file) is read from the store.
    static func open(path: String, fd existing: FileDescriptor? = nil) throws(AuditLogError) -> SegmentFile {
        if let existing { return try open(source: existing) }
        return try open(source: try source(path: path, whole: false))
    }

    /// Asks for the first and the last `bytes` of a segment, before a reader reads any: by default what a view's
    /// first look at a segment reads there, the header and, in version 2, the first block (the dictionary of the
    /// others; ~20-30 KiB compressed) at the start, the last block's header and the footer at the end. On a disk
    /// whose pages the kernel dropped, the disk then reads them in one round (with whatever else the reader asks
    /// for before it waits) instead of one after the other.
    static func willReadEnds(of source: any ByteSource, bytes: Int64 = 64 << 10) {
        guard let size = try? source.size() else { return }
        source.willRead(0..<min(size, bytes))
        source.willRead(max(0, size - bytes)..<size)
    }

    /// The segment file at `path`, or when it was evicted, its bytes in the archive: fetched as reads need them, or
    /// `whole` in one fetch (the verifier's way).
    static func source(path: String, whole: Bool) throws(AuditLogError) -> any ByteSource {
        do throws(AuditLogError) {
            return try FileDescriptor.openForReading(path)
        } catch  where error.code == .notFound {
            guard let stub = try EvictedSegment.read(segmentPath: path) else { throw error }
            let name = String(path.split(separator: "/").last ?? "")
            if whole { return try RemoteSegmentBytes.fetchWhole(stub, name: name) }
            return RemoteSegmentBytes(stub, name: name, directory: FileSystem.parent(of: path))
        }
    }

    /// Opens a segment from its bytes and checks its header, whatever its base seq.
    static func open(source: any ByteSource) throws(AuditLogError) -> SegmentFile {
        let path = source.path
        let bytes = try source.read(count: SegmentHeader.maxSize, at: 0)
        do throws(DecodeFailure) {
            let header = try bytes.withUnsafeBytes { raw in
                Result { () throws(DecodeFailure) in try SegmentHeader.decode(raw) }
            }.get()
            return SegmentFile(source: source, header: header, headerSize: header.encodedSize)
        } catch {
            let code: AuditLogError.Code = error.kind == .unsupportedVersion ? .unsupportedFormat : .corrupt
            throw AuditLogError(code, "bad segment header: \(error.reason)", path: path, offset: Int64(error.offset))
        }
    }

    /// The footer of a sealed segment (its last bytes), or nil if the segment is not sealed.
    func footer() throws(AuditLogError) -> SegmentFooter? {
        let size = try source.size()
        guard size >= Int64(headerSize + SegmentFooter.size),
            case .footer(let footer) = try entry(at: size - Int64(SegmentFooter.size), fileSize: size)
        else { return nil }
        return footer
    }

    /// Reads what starts at `offset`: a block header, the footer, the end of the file, or invalid bytes.
    func entry(at offset: Int64, fileSize: Int64) throws(AuditLogError) -> SegmentEntry {
        if offset == fileSize { return .end }
        let bytes = try source.read(count: BlockHeader.size, at: offset)
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
        guard try read(length, at: offset, into: &buffer) else {
            return SegmentDamage(
                kind: .cutShort, offset: offset, length: Int64(length), reason: "block extends past the end of the file"
            )
        }
        return Self.checksumHolds(buffer, length: length)
            ? nil
            : SegmentDamage(
                kind: .blockChecksum, offset: offset, length: Int64(length), reason: "block checksum mismatch")
    }

    /// Reads whole into `buffer` the block an index places at `info`, and returns its header: the header there must
    /// hold the index's first seq and record count, and the block must pass its checksum; otherwise the error says
    /// what is wrong (`corrupt`).
    func readBlock(indexed info: BlockInfo, fileSize: Int64, into buffer: inout [UInt8]) throws(AuditLogError)
        -> BlockHeader
    {
        guard case .block(let header) = try entry(at: info.offset, fileSize: fileSize),
            header.firstSeq == info.firstSeq, Int(header.recordCount) == info.recordCount
        else {
            throw AuditLogError(
                .corrupt, "no block for seq \(info.firstSeq) where the index says", path: path, offset: info.offset)
        }
        if let damage = try readBlock(header, at: info.offset, into: &buffer) {
            throw AuditLogError(.corrupt, damage.reason, path: path, offset: info.offset)
        }
        return header
    }

    /// Reads the block at `offset` with one read, when an index says its total length is `length`: its header
    /// and checksum are checked as ``entry(at:fileSize:)`` and ``readBlock(_:at:into:)`` check them. Nil when the
    /// bytes there are not such a block; the caller then reads it the usual way, which says what is wrong.
    /// With `framesChecked`, a block of frames is not checked as a whole: the caller decodes only frames, which
    /// ``BlockFrames`` checks one by one with the table (a query needs neither the frontier nor other frames).
    ///
    /// With `frames` too (a query that decodes only some frames), a block of frames is read in part: its header,
    /// frontier and frame table (one read of up to 4 KiB), then the stored bytes of the frames from the first to the
    /// last index `frames` picks from the table (nil: none), each at its place in `buffer`; its other bytes are
    /// left as they were, and the caller must decode no other frame (each is checked against the table, so one read
    /// by mistake would fail its checksum, never give other records). A table that does not check is left to the
    /// decoder, which says what is wrong.
    func readBlock(
        at offset: Int64, length: Int, into buffer: inout [UInt8], framesChecked: Bool = false,
        frames select: (([BlockFrames.Frame]) -> (first: Int, last: Int)?)? = nil
    ) throws(AuditLogError) -> BlockHeader? {
        guard length >= BlockHeader.size + BlockHeader.trailerSize else { return nil }
        if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
        var have = framesChecked && select != nil ? min(length, 4096) : length
        guard try read(0..<have, at: offset, into: &buffer),
            let header = buffer.withUnsafeBytes({ raw in
                try? BlockHeader.decode(UnsafeRawBufferPointer(rebasing: raw[0..<BlockHeader.size]))
            }),
            header.totalLength == length
        else { return nil }
        /// Reads the block's bytes up to `end` that are not read yet.
        func readUpTo(_ end: Int) throws(AuditLogError) -> Bool {
            guard end > have else { return true }
            defer { have = end }
            return try read(have..<end, at: offset + Int64(have), into: &buffer)
        }
        if framesChecked, header.compression == .frames, let select {
            // (header.totalLength == length: the stored payload ends where the trailer starts.)
            let start = BlockHeader.size + 32 * Int(header.frontierCount)
            let stored = start..<start + Int(header.storedLength)
            guard try readUpTo(min(start + 4, stored.upperBound)) else { return nil }
            guard stored.count >= 8 else { return header }  // the decoder says what is wrong
            let count = buffer.withUnsafeBytes {
                Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
            }
            let tableEnd = start + 4 + BlockFrames.entrySize * min(count, stored.count) + 4
            guard tableEnd <= stored.upperBound else { return header }
            guard try readUpTo(tableEnd) else { return nil }
            let frames = buffer.withUnsafeBytes { raw in
                try? BlockFrames.table(UnsafeRawBufferPointer(rebasing: raw[stored]), header, offset: start)
            }
            guard let frames else { return header }
            if let run = select(frames) {
                let from = start + frames[run.first].stored.lowerBound
                let to = start + frames[run.last].stored.upperBound
                if to > have, try !read(max(from, have)..<to, at: offset + Int64(max(from, have)), into: &buffer) {
                    return nil
                }
            }
            return header
        }
        guard try readUpTo(length),
            (framesChecked && header.compression == .frames) || Self.checksumHolds(buffer, length: length)
        else { return nil }
        return header
    }

    /// Reads the bytes `range` of `buffer` (grown if needed) from the file at `offset`; false if the file ends first.
    private func read(_ range: Range<Int>, at offset: Int64, into buffer: inout [UInt8]) throws(AuditLogError)
        -> Bool
    {
        if buffer.count < range.upperBound { buffer += [UInt8](repeating: 0, count: range.upperBound - buffer.count) }
        let n = try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(AuditLogError) in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[range]), at: offset)
            }
        }.get()
        return n == range.count
    }

    /// Reads `length` bytes at `offset` into the start of `buffer` (grown if needed); false if the file ends first.
    private func read(_ length: Int, at offset: Int64, into buffer: inout [UInt8]) throws(AuditLogError) -> Bool {
        try read(0..<length, at: offset, into: &buffer)
    }

    /// Whether the block in the first `length` bytes of `buffer` passes its trailing checksum.
    private static func checksumHolds(_ buffer: [UInt8], length: Int) -> Bool {
        buffer.withUnsafeBytes { raw in
            let body = length - BlockHeader.trailerSize
            let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: body, as: UInt32.self))
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<body])) == stored
        }
    }
}

extension SegmentFile {
    /// The dictionary the frames of the block `header` are compressed against (FORMAT.md, "Block"): none for the
    /// segment's first block and for blocks of other compressions; for the others, the last 64 KiB of the first
    /// block's uncompressed payload, read and checked once, then kept. When the first block cannot be read, no
    /// other block of the segment can be decoded either: the failure is the block's.
    func dictionary(for header: BlockHeader) throws(DecodeFailure) -> [UInt8] {
        guard header.compression == .frames, header.firstSeq != self.header.baseSeq else { return [] }
        guard self.header.version >= 2 else {
            throw DecodeFailure(reason: "a block of frames in a version 1 segment", offset: 40)
        }
        return try dictionary()
    }

    /// A version 2 segment's dictionary: the last 64 KiB of its first block's uncompressed payload.
    func dictionary() throws(DecodeFailure) -> [UInt8] {
        if let bytes = dictionaryBytes.withLock({ $0 }) { return bytes }
        let identity = dictionaries == nil ? nil : try? (source as? FileDescriptor)?.identity()
        if let identity, let bytes = dictionaries?.dictionary(baseSeq: header.baseSeq, file: identity) {
            dictionaryBytes.withLock { $0 = bytes }
            return bytes
        }
        let failure = { (reason: String) in
            DecodeFailure(
                reason: "the segment's first block (the dictionary of its other blocks): \(reason)", offset: 0)
        }
        var block: [UInt8] = []
        var payload: [UInt8] = []
        do {
            let size = try source.size()
            guard case .block(let first) = try entry(at: Int64(headerSize), fileSize: size),
                first.firstSeq == self.header.baseSeq
            else { throw DecodeFailure(reason: "not a valid block", offset: 0) }
            if let damage = try readBlock(first, at: Int64(headerSize), into: &block) {
                throw DecodeFailure(reason: damage.reason, offset: 0)
            }
            try block.withUnsafeBytes { raw in
                Result { () throws(DecodeFailure) in
                    try BlockDecoder.payload(
                        of: raw, first, dictionary: UnsafeRawBufferPointer(start: nil, count: 0), into: &payload)
                }
            }.get()
            let bytes = Array(payload[0..<Int(first.uncompressedLength)].suffix(LZ4Dictionary.maxSize))
            dictionaryBytes.withLock { $0 = bytes }
            if let identity { dictionaries?.remember(bytes, baseSeq: header.baseSeq, file: identity) }
            return bytes
        } catch let error as DecodeFailure {
            throw failure(error.reason)
        } catch {
            throw failure((error as? AuditLogError)?.message ?? "\(error)")
        }
    }

    /// Whether a valid block that starts a group commit, for records after `seq`, lies past `offset`.
    ///
    /// A crash can only tear the last commit, so bad bytes followed by such a block are damage to acknowledged
    /// data, not a torn tail (FORMAT.md, "Writing and recovery").
    func containsCommit(after offset: Int64, fileSize: Int64, laterThan seq: UInt64) throws(AuditLogError) -> Bool {
        let chunkSize = 1 << 20
        var position = offset + 1
        while position + Int64(BlockHeader.size) <= fileSize {
            let chunk = try source.read(count: chunkSize + BlockHeader.size, at: position)
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
