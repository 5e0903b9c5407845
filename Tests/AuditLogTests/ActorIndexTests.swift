import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Actor index")
struct ActorIndexTests {
    /// The pairs of an encoded version 2 actor index without a block table, in file order.
    func pairs(_ bytes: [UInt8], count: Int) -> [(UInt64, UInt64)] {
        let start =
            ActorIndexFile.headerSize + ActorIndexFile.chunkEntrySize
            * ((count + ActorIndexFile.chunkPairs - 1) / ActorIndexFile.chunkPairs)
        return bytes.withUnsafeBytes { b in
            stride(from: start, to: b.count, by: 16).map {
                (
                    UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0, as: UInt64.self)),
                    UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 + 8, as: UInt64.self))
                )
            }
        }
    }

    /// Hashes with many equal ones, hashes differing only in one 16-bit digit, and random ones.
    func hashes(_ count: Int, few: inout [UInt64]) -> [UInt64] {
        var rng = SplitMix64(seed: UInt64(count) + 1)
        few = (0..<7).map { _ in rng.next() }
        let fewHashes = few
        return (0..<count).map { i in
            switch i % 3 {
            case 0: fewHashes[Int(rng.next() % 7)]
            case 1: 0xABCD_0000_0000_0000 | (rng.next() & 0xFFFF) << (16 * (rng.next() % 3))
            default: rng.next()
            }
        }
    }

    @Test(arguments: [0, 1, 2, 255, 256, 257, 1_000, 70_000])
    func pairsAreSortedAndEveryHashIsFoundThroughTheChunks(count: Int) throws {
        var few: [UInt64] = []
        let hashes = hashes(count, few: &few)
        let base: UInt64 = 5_000
        let encoded = ActorIndexFile.encode(baseSeq: base, actorHashes: hashes, blockIndex: nil)
        let expected = hashes.enumerated().map { ($1, base + UInt64($0)) }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        #expect(pairs(encoded, count: count).elementsEqual(expected) { $0 == $1 })

        let dir = try TemporaryDirectory()
        try Data(encoded).write(to: URL(fileURLWithPath: ActorIndexFile.path(directory: dir.path, baseSeq: base)))
        let file = try #require(ActorIndexFile(directory: dir.path, baseSeq: base))
        #expect(file.version == 2 && file.count == count && file.blockTable == nil && file.blockCount == 0)
        #expect(ActorIndexFile(directory: dir.path, baseSeq: base + 1) == nil)
        // Every hash, the ones many records share (runs across chunks) and absent ones.
        var seqsByHash: [UInt64: [UInt64]] = [:]
        for (hash, seq) in expected { seqsByHash[hash, default: []].append(seq) }
        for hash in Set(hashes).union(few).union([0, 1, .max, 0xABCD_0000_0000_0001]) {
            #expect(file.seqs(forActorHash: hash) == (seqsByHash[hash] ?? []), "hash \(hash)")
        }
    }

    /// A damaged chunk fails the lookups that need it (the caller then reads the block index's hashes), and only
    /// those; a damaged header or table fails the file.
    @Test func aDamagedChunkFailsOnlyTheLookupsThatReadIt() throws {
        var few: [UInt64] = []
        let hashes = hashes(4_000, few: &few)
        let encoded = ActorIndexFile.encode(baseSeq: 0, actorHashes: hashes, blockIndex: nil)
        let dir = try TemporaryDirectory()
        let path = ActorIndexFile.path(directory: dir.path, baseSeq: 0)
        let sorted = pairs(encoded, count: hashes.count)
        let pairsStart = encoded.count - 16 * hashes.count
        // Damage the seq of the chunk-10 pair at position 2,600.
        var damaged = encoded
        damaged[pairsStart + 16 * 2_600 + 9] ^= 0x40
        try Data(damaged).write(to: URL(fileURLWithPath: path))
        let file = try #require(ActorIndexFile(directory: dir.path, baseSeq: 0))
        let inChunk10 = sorted[2_600].0
        #expect(file.seqs(forActorHash: inChunk10) == nil)
        let elsewhere = sorted[100].0
        #expect(
            sorted[100..<2_560].contains { $0.0 == elsewhere } && !sorted[2_304..<2_816].contains { $0.0 == elsewhere })
        #expect(file.seqs(forActorHash: elsewhere) == sorted.filter { $0.0 == elsewhere }.map(\.1))
        for position in [4, 20, ActorIndexFile.headerSize + 5] {
            var bad = encoded
            bad[position] ^= 0x01
            try Data(bad).write(to: URL(fileURLWithPath: path))
            #expect(ActorIndexFile(directory: dir.path, baseSeq: 0) == nil, "byte \(position)")
        }
    }

    /// A version 1 file (the committed fixture's) opens without its pairs being read, and its first lookup checks
    /// them whole: damaged pairs fail every lookup, intact ones answer.
    @Test func version1FilesAreCheckedWholeAtTheirFirstLookup() throws {
        let dir = try FormatVersionTests().fixtureCopy()
        let segment = try #require(try LogFiles.segments(in: dir.path).first)
        let path = ActorIndexFile.path(directory: dir.path, baseSeq: segment.baseSeq)
        let intact = try #require(ActorIndexFile(directory: dir.path, baseSeq: segment.baseSeq))
        #expect(intact.version == 1 && intact.blockTable == nil && intact.count > 0)
        let view = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
        let hash = try view.actorHashes()[0]
        let seqs = try #require(intact.seqs(forActorHash: hash))
        #expect(seqs.contains(segment.baseSeq))
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let damaged = try #require(ActorIndexFile(directory: dir.path, baseSeq: segment.baseSeq))
        #expect(damaged.seqs(forActorHash: hash) == nil)
    }

    /// A writer's maintenance rewrites version 1 files as version 2, with the block table; lookups answer the same.
    @Test func aWritersMaintenanceUpgradesVersion1Files() throws {
        let dir = try FormatVersionTests().fixtureCopy()
        let sealed = try LogFiles.segments(in: dir.path).dropLast()
        #expect(sealed.count >= 3)
        let actors = Set(try readAll(dir.path).map(\.event.actor.id)).sorted()
        func pages() throws -> [[UInt64]] {
            let reader = try AuditLogReader(directory: dir.path)
            return try actors.map { try reader.events(matching: Query(actorIDs: [$0], limit: 500)).events.map(\.seq) }
        }
        let before = try pages()
        for segment in sealed {
            #expect(ActorIndexFile(directory: dir.path, baseSeq: segment.baseSeq)?.version == 1)
        }
        let log = try AuditLog(directory: dir.path)
        log.writer.writeMissingSummaries()  // what its maintenance thread does at open and after each seal
        try log.close()
        for segment in sealed {
            let file = try #require(ActorIndexFile(directory: dir.path, baseSeq: segment.baseSeq))
            let eager = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            #expect(file.version == 2 && file.blockTable?.blocks == eager.blocks && file.blockCount > 0)
        }
        #expect(try pages() == before)
    }

    /// The writer's sealed segments carry a block table equal to their blocks; a reader's view built from it checks
    /// an `.idx` entry only when a query asks for its block, and answers exactly from the blocks where entries are
    /// damaged, wrong or missing.
    @Test func sealedSegmentsCarryTheirBlockTableAndLazyViewsSurviveDamagedEntries() throws {
        let dir = try TemporaryDirectory()
        var generator = SampleEventGenerator(seed: 5, userCount: 12, apiKeyCount: 3, meanIntervalMilliseconds: 500)
        let events = generator.events(900)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in events.chunked(30) { try log.append(chunk) }
        try log.close()
        let segments = try LogFiles.segments(in: dir.path)
        #expect(segments.count > 3)
        for segment in segments.dropLast() {
            let eager = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            let table = try #require(ActorIndexFile(directory: dir.path, baseSeq: segment.baseSeq))
            #expect(
                table.version == 2 && table.blockTable?.blocks == eager.blocks && table.blockTableCoversPairs
                    && table.count == Int(eager.endSeq - eager.baseSeq))
            let lazy = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path, lazy: true)
            #expect(lazy.blocks == eager.blocks && lazy.sealed && !lazy.indexFileIsExact)
            #expect(try lazy.encodedBlockIndex() == eager.encodedBlockIndex())
        }
        let queries = [
            Query(actorIDs: [events[3].actor.id], limit: 7), Query(actorIDs: [events[5].actor.id], order: .oldestFirst),
            Query(from: events[100].timestamp, to: events[400].timestamp, limit: 13),
            Query(actions: [events[7].action], limit: 9),
        ]
        let stored = try readAll(dir.path)
        func check(_ what: String) throws {
            let reader = try AuditLogReader(directory: dir.path)
            for query in queries {
                var q = query
                var seqs: [UInt64] = []
                while true {
                    let page = try reader.events(matching: q)
                    seqs += page.events.map(\.seq)
                    guard let next = page.nextCursor else { break }
                    q.cursor = next
                }
                var expected = stored.filter { query.matches($0.event) }.map(\.seq)
                if query.order == .newestFirst { expected.reverse() }
                #expect(seqs == expected, "\(what): \(query)")
            }
        }
        try check("intact")
        // Every entry's checksum broken (a byte of its first actor hash flipped), in every sealed segment.
        for segment in segments.dropLast() {
            let path = SegmentIndexFiles.blockIndexPath(directory: dir.path, baseSeq: segment.baseSeq)
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let eager = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            let original = try eager.encodedBlockIndex()
            var position = 0
            while position < bytes.count {
                bytes[position + SegmentIndexFiles.entryFixedSize] ^= 0x10
                position += Int(
                    UInt32(
                        littleEndian: original.withUnsafeBytes {
                            $0.loadUnaligned(fromByteOffset: position, as: UInt32.self)
                        }))
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let lazy = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path, lazy: true)
            #expect(try lazy.encodedBlockIndex() == original, "entries rebuilt from the blocks")
        }
        try check("entries damaged")
        for segment in segments.dropLast() {
            try FileManager.default.removeItem(
                atPath: SegmentIndexFiles.blockIndexPath(directory: dir.path, baseSeq: segment.baseSeq))
        }
        try check("block indexes missing")
        // A block table whose offsets are not the segment's (a stale file, its checksums right): the view is built
        // from the blocks.
        let first = segments[0]
        let view = try SegmentIndex(directory: dir.path, baseSeq: first.baseSeq, path: first.path)
        var shifted: [UInt8] = []
        for (b, block) in view.blocks.enumerated() {
            let entry = try view.entry(b)
            var hashes: [UInt64] = []
            entry.forEachActorHash { _, hash in hashes.append(hash) }
            var moved = block
            moved.offset += 3
            entry.withFilters { filter, windows in
                SegmentIndexFiles.appendEntry(
                    moved, actorHashes: hashes[...],
                    recordEnds: (0..<block.recordCount).map { entry.recordEnd($0) }[...],
                    filters: UnsafeRawBufferPointer(start: nil, count: 0), windowFilterSize: 0, to: &shifted)
            }
        }
        let stale = shifted.withUnsafeBytes {
            ActorIndexFile.encode(baseSeq: first.baseSeq, actorHashes: try! view.actorHashes(), blockIndex: $0)
        }
        try Data(stale).write(
            to: URL(fileURLWithPath: ActorIndexFile.path(directory: dir.path, baseSeq: first.baseSeq)))
        #expect(
            ActorIndexFile(directory: dir.path, baseSeq: first.baseSeq)?.blockTable?.blocks.first?.offset
                == view.blocks[0].offset
                + 3)
        let rebuilt = try SegmentIndex(directory: dir.path, baseSeq: first.baseSeq, path: first.path, lazy: true)
        #expect(rebuilt.blocks == view.blocks && rebuilt.sealed)
        try check("a stale block table")
        // The writer brings them all back.
        try AuditLog(directory: dir.path).close()
        for segment in segments.dropLast() {
            #expect(ActorIndexFile(directory: dir.path, baseSeq: segment.baseSeq)?.blockTable?.blocks.isEmpty == false)
        }
        try check("rebuilt")
    }
}
