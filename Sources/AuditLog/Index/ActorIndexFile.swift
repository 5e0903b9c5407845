/// A sealed segment's `.aix` (FORMAT.md, "Indexes"), memory-mapped and checked as far as it is read.
///
/// Version 2 (written since 2026-12) holds, besides the sorted (actor hash, seq) pairs, the segment's block table
/// (each block's seqs, place, time range and where its `.idx` entry starts) and a table of the pairs' 4 KiB
/// chunks (each chunk's first hash and checksum). Opening checks the header and the two tables' checksum (~80 KB
/// for a 32 MiB segment; the block table is decoded when a view asks for it), an actor lookup only the chunks that
/// may hold its hash: so a new reader's first query checks what it uses, not the 8 MB of a segment's `.idx` and `.aix` (at 10M events, checking them whole was half of a
/// one-shot `auditlog query` for a rare actor). Version 1 (pairs only, one checksum over them all) is still read,
/// checked whole at its first lookup.
final class ActorIndexFile: Sendable {
    static let magic: [UInt8] = Array("ALAX".utf8)
    static let version1HeaderSize = 32
    static let headerSize = 40
    static let blockEntrySize = 48
    static let chunkEntrySize = 12
    /// Pairs per chunk of version 2.
    static let chunkPairs = 256

    private let file: MappedFile
    let version: UInt16
    /// Pairs in the file: the segment's record count when it is the segment's.
    let count: Int
    /// Entries in the block table (version 2; 0 when it has none).
    let blockCount: Int
    private let chunkCount: Int
    private let pairsStart: Int
    /// Version 1: whether its pairs passed their checksum, once a lookup has asked.
    private let version1Checked = Locked<Bool?>(nil)

    static func path(directory: String, baseSeq: UInt64) -> String {
        SegmentIndexFiles.actorIndexPath(directory: directory, baseSeq: baseSeq)
    }

    /// The version in the header of the segment's actor index file, from its first bytes alone (nil: no such file,
    /// or not an actor index).
    static func version(directory: String, baseSeq: UInt64) -> UInt16? {
        guard let fd = try? FileDescriptor.openForReading(path(directory: directory, baseSeq: baseSeq)),
            let b = try? fd.read(count: 6, at: 0), b.count == 6, b.starts(with: magic)
        else { return nil }
        return UInt16(b[4]) | UInt16(b[5]) << 8
    }

    /// The actor index of the segment at `baseSeq`, if it exists and its header (and, in version 2, its tables)
    /// check out. A version 1 file's pairs are checked at its first lookup (a view is built with it before any).
    init?(directory: String, baseSeq: UInt64) {
        guard
            let file = MappedFile(path: Self.path(directory: directory, baseSeq: baseSeq), access: .atPlaces(part: nil))
        else {
            return nil
        }
        let b = file.bytes
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            T(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        guard b.count >= Self.version1HeaderSize, b.starts(with: Self.magic), load(8, UInt64.self) == baseSeq,
            let count = Int(exactly: load(16, UInt64.self)), count <= b.count / 16
        else { return nil }
        self.file = file
        self.count = count
        version = load(4, UInt16.self)
        switch version {
        case 1:
            let header = Self.version1HeaderSize
            guard b.count == header + 16 * count else { return nil }
            (blockCount, chunkCount, pairsStart) = (0, 0, header)
        case 2:
            let blockCount = Int(load(24, UInt32.self))
            let chunkCount = Int(load(28, UInt32.self))
            let tablesEnd = Self.headerSize + Self.blockEntrySize * blockCount + Self.chunkEntrySize * chunkCount
            file.willNeed(0..<tablesEnd)
            guard chunkCount == (count + Self.chunkPairs - 1) / Self.chunkPairs, b.count == tablesEnd + 16 * count,
                load(32, UInt32.self)
                    == CRC32C.checksum(
                        UnsafeRawBufferPointer(rebasing: b[Self.headerSize..<tablesEnd]),
                        continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<32])))
            else { return nil }
            (self.blockCount, self.chunkCount, pairsStart) = (blockCount, chunkCount, tablesEnd)
        default:
            return nil
        }
    }

    private func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
        T(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Whether the block table's first entry starts at the segment's first seq and its last ends after the pairs'
    /// records, read from those two entries alone: what a query that only asks the pairs needs to know, without
    /// decoding the table (``blockTable``). False without a table.
    var blockTableCoversPairs: Bool {
        guard blockCount > 0 else { return false }
        let last = Self.headerSize + Self.blockEntrySize * (blockCount - 1)
        let baseSeq = load(8, UInt64.self)
        return load(Self.headerSize, UInt64.self) == baseSeq
            && load(last, UInt64.self) &+ UInt64(load(last + 40, UInt32.self)) == baseSeq &+ UInt64(count)
    }

    /// Version 2, when it has a block table that continues itself as the `.idx` entries do and covers the pairs'
    /// records: the segment's blocks, and where each one's entry starts in its `.idx`. Decoded at each call (a
    /// view's build asks once); nil otherwise.
    var blockTable: (blocks: [BlockInfo], entryStarts: [Int])? {
        guard blockTableCoversPairs else { return nil }
        let baseSeq = load(8, UInt64.self)
        var blocks: [BlockInfo] = []
        var starts: [Int] = []
        blocks.reserveCapacity(blockCount)
        starts.reserveCapacity(blockCount)
        var nextSeq = baseSeq
        for i in 0..<blockCount {
            let at = Self.headerSize + Self.blockEntrySize * i
            guard let offset = Int64(exactly: load(at + 8, UInt64.self)),
                let start = Int(exactly: load(at + 32, UInt64.self))
            else { return nil }
            let block = BlockInfo(
                firstSeq: load(at, UInt64.self), recordCount: Int(load(at + 40, UInt32.self)), offset: offset,
                minTimestamp: load(at + 16, Int64.self), maxTimestamp: load(at + 24, Int64.self))
            guard block.firstSeq == nextSeq, block.recordCount > 0, offset > (blocks.last?.offset ?? 0) else {
                return nil
            }
            nextSeq = block.endSeq
            blocks.append(block)
            starts.append(start)
        }
        guard nextSeq == baseSeq + UInt64(count) else { return nil }
        return (blocks, starts)
    }

    private func hash(_ i: Int) -> UInt64 {
        UInt64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: pairsStart + 16 * i, as: UInt64.self))
    }

    /// Seqs of the records whose actor id hashes to `hash`, ascending; nil when a chunk that may hold it fails its
    /// checksum (then the caller looks at the block index's hashes instead).
    func seqs(forActorHash hash: UInt64) -> [UInt64]? {
        let b = file.bytes
        var range = 0..<count
        if version == 1 {
            let holds = version1Checked.withLock { checked in
                if checked == nil {
                    let stored = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
                    checked =
                        stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[Self.version1HeaderSize...]))
                }
                return checked!
            }
            guard holds else { return nil }
        } else {
            // The chunks that may hold `hash`: from the last one starting below it to the last one starting at it.
            func firstHash(_ c: Int) -> UInt64 {
                UInt64(
                    littleEndian: b.loadUnaligned(
                        fromByteOffset: Self.headerSize + Self.blockEntrySize * blockCount + Self.chunkEntrySize * c,
                        as: UInt64.self))
            }
            var low = 0
            var high = chunkCount
            while low < high {
                let mid = (low + high) / 2
                if firstHash(mid) < hash { low = mid + 1 } else { high = mid }
            }
            var last = max(low - 1, 0)
            while last + 1 < chunkCount && firstHash(last + 1) <= hash { last += 1 }
            let first = max(low - 1, 0)
            guard first < chunkCount else { return [] }
            for c in first...last {
                let pairs = c * Self.chunkPairs..<min((c + 1) * Self.chunkPairs, count)
                let entry = Self.headerSize + Self.blockEntrySize * blockCount + Self.chunkEntrySize * c
                let stored = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: entry + 8, as: UInt32.self))
                guard
                    stored
                        == CRC32C.checksum(
                            UnsafeRawBufferPointer(
                                rebasing: b[pairsStart + 16 * pairs.lowerBound..<pairsStart + 16 * pairs.upperBound])),
                    self.hash(pairs.lowerBound) == firstHash(c)
                else { return nil }
            }
            range = first * Self.chunkPairs..<min((last + 1) * Self.chunkPairs, count)
        }
        var low = range.lowerBound
        var high = range.upperBound
        while low < high {
            let mid = (low + high) / 2
            if self.hash(mid) < hash { low = mid + 1 } else { high = mid }
        }
        var result: [UInt64] = []
        var i = low
        while i < range.upperBound && self.hash(i) == hash {
            result.append(
                UInt64(littleEndian: b.loadUnaligned(fromByteOffset: pairsStart + 16 * i + 8, as: UInt64.self)))
            i += 1
        }
        return result
    }

    /// The version 2 `.aix` of a segment whose records, from `baseSeq` on, have `actorHashes`: header, block table
    /// (from `blockIndex`, the segment's `.idx` bytes, when its checked entries describe exactly these records;
    /// else none), chunk table, then the (hash, seq) pairs sorted by hash then seq.
    ///
    /// The order comes from a stable radix sort of the records' positions by hash (four passes of 16 bits;
    /// positions start in seq order, so equal hashes stay in seq order): linear time, no comparisons. The writer
    /// builds this at seal, on the commit path.
    static func encode(baseSeq: UInt64, actorHashes hashes: [UInt64], blockIndex: UnsafeRawBufferPointer?)
        -> [UInt8]
    {
        let n = hashes.count
        var order = [UInt32](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n { buffer[i] = UInt32(truncatingIfNeeded: i) }
            count = n
        }
        var other = order
        var counts = [Int](repeating: 0, count: 1 << 16)
        hashes.withUnsafeBufferPointer { hashes in
            for shift: UInt64 in [0, 16, 32, 48] {
                for i in counts.indices { counts[i] = 0 }
                for h in hashes { counts[Int(truncatingIfNeeded: (h >> shift) & 0xFFFF)] += 1 }
                // A digit every hash shares moves nothing.
                if counts.contains(n) { continue }
                var sum = 0
                for i in counts.indices {
                    let c = counts[i]
                    counts[i] = sum
                    sum += c
                }
                for position in order {
                    let digit = Int(truncatingIfNeeded: (hashes[Int(position)] >> shift) & 0xFFFF)
                    other[counts[digit]] = position
                    counts[digit] += 1
                }
                swap(&order, &other)
            }
        }
        var pairs = [UInt8](repeating: 0, count: 16 * n)
        pairs.withUnsafeMutableBytes { out in
            for (i, position) in order.enumerated() {
                out.storeBytes(of: hashes[Int(position)].littleEndian, toByteOffset: 16 * i, as: UInt64.self)
                out.storeBytes(of: (baseSeq + UInt64(position)).littleEndian, toByteOffset: 16 * i + 8, as: UInt64.self)
            }
        }
        var tables: [UInt8] = []
        var blockCount = 0
        if let blockIndex {
            var entries: [(block: BlockInfo, start: Int)] = []
            SegmentIndexFiles.forEachEntry(blockIndex, baseSeq: baseSeq, checked: true) { entry, block, _ in
                entries.append((block, entry.lowerBound))
                return block.endSeq < baseSeq + UInt64(n)
            }
            if let last = entries.last, last.block.endSeq == baseSeq + UInt64(n) {
                blockCount = entries.count
                for (block, start) in entries {
                    tables.appendLittleEndian(block.firstSeq)
                    tables.appendLittleEndian(UInt64(block.offset))
                    tables.appendLittleEndian(block.minTimestamp)
                    tables.appendLittleEndian(block.maxTimestamp)
                    tables.appendLittleEndian(UInt64(start))
                    tables.appendLittleEndian(UInt32(block.recordCount))
                    tables.appendLittleEndian(UInt32(0))
                }
            }
        }
        let chunkCount = (n + chunkPairs - 1) / chunkPairs
        pairs.withUnsafeBytes { pairs in
            for c in 0..<chunkCount {
                let bytes = UnsafeRawBufferPointer(
                    rebasing: pairs[16 * c * chunkPairs..<16 * min((c + 1) * chunkPairs, n)])
                tables.appendLittleEndian(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)))
                tables.appendLittleEndian(CRC32C.checksum(bytes))
            }
        }
        var out: [UInt8] = magic
        out.reserveCapacity(headerSize + tables.count + pairs.count)
        out.appendLittleEndian(UInt16(2))
        out.appendLittleEndian(UInt16(0))
        out.appendLittleEndian(baseSeq)
        out.appendLittleEndian(UInt64(n))
        out.appendLittleEndian(UInt32(blockCount))
        out.appendLittleEndian(UInt32(chunkCount))
        let checksum = tables.withUnsafeBytes { CRC32C.checksum($0, continuing: CRC32C.checksum(out)) }
        out.appendLittleEndian(checksum)
        out.appendLittleEndian(UInt32(0))
        return out + tables + pairs
    }
}
