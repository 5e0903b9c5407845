import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// Inputs the fuzz targets (`Fuzz/`, `make fuzz`) found that crashed or misbehaved, kept as tests after the fix.
/// The crashing inputs themselves are in `Fuzz/Regressions/<target>/`; `make fuzz` replays them first.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// `index` target: a block index entry whose offset does not fit in an Int64 trapped the reader ("Not enough
    /// bits to represent the passed value"). It is now damage like any other: the entry ends what is used of the
    /// file and the rest is rebuilt from the segment, so queries give the right answer.
    @Test func blockIndexEntryWithAnOffsetPastInt64IsIgnored() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        try log.append(sampleEvents(300))
        try log.close()
        let stored = try readAll(dir.path)
        let first = try #require(try segmentPaths(dir.path).first)
        let indexPath = String(first.dropLast(4)) + ".idx"
        var index = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexPath)))
        let length = Int(index[0]) | Int(index[1]) << 8 | Int(index[2]) << 16 | Int(index[3]) << 24
        for i in 24..<32 { index[i] = 0xff }  // the first entry's block offset: 2^64 - 1
        index.storeLittleEndian(
            CRC32C.checksum(index.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[8..<length]) }), at: 4)
        try Data(index).write(to: URL(fileURLWithPath: indexPath))

        let engine = try AuditLogReader(directory: dir.path)
        let actor = stored[5].event.actor.id
        let page = try engine.events(matching: Query(actorIDs: [actor], order: .oldestFirst, limit: 1000))
        #expect(page.events == stored.filter { $0.event.actor.id == actor })
        #expect(!page.events.isEmpty)
        let all = try engine.events(matching: Query(order: .oldestFirst, limit: 1000))
        #expect(all.events == stored)
    }

    /// `block` target: an LZ4 block header may claim any uncompressed length, and readers allocate that much
    /// before decompressing. Headers claiming more than LZ4 can produce from the stored bytes (ratio 255:1) are
    /// refused; the writer's most compressible blocks stay well inside the bound.
    @Test func uncompressedLengthIsBoundedByLZ4sRatio() throws {
        func header(stored: UInt32, uncompressed: UInt32) -> [UInt8] {
            var out: [UInt8] = []
            BlockHeader(
                storedLength: stored, uncompressedLength: uncompressed, recordCount: 1, firstSeq: 0, minTimestamp: 0,
                maxTimestamp: 0, compression: .lz4, frontierCount: 1, startsCommit: true, root: SHA256Hash.zero
            ).encode(into: &out)
            return out
        }
        let huge = header(stored: 100, uncompressed: 0xffff_fff0)
        #expect(throws: DecodeFailure.self) { try huge.withUnsafeBytes { try BlockHeader.decode($0) } }
        let fine = header(stored: 100, uncompressed: 255 * 100)
        #expect((try? fine.withUnsafeBytes { try BlockHeader.decode($0) }) != nil)

        // LZ4's best case, a run of one byte (17 MiB: the largest block plus an event), is inside the bound.
        let run = [UInt8](repeating: 0x41, count: 17 << 20)
        var compressed = [UInt8](repeating: 0, count: LZ4.compressBound(run.count))
        let count = try #require(
            run.withUnsafeBytes { source in compressed.withUnsafeMutableBytes { LZ4.compress(source, into: $0) } })
        #expect(run.count <= 255 * count + 1024, "LZ4 made \(run.count) bytes of \(count)")
    }

    /// `block` target: a prefix read and a whole read of one LZ4 block returned different records. The block held
    /// a match with offset 0, which the LZ4 format forbids but liblz4 decodes, differently in its whole and partial
    /// decoders, and by copying whatever the destination buffer held. Now such a stream is decompressed whole on the
    /// prefix path too, into a zeroed buffer: every read of a block gives the same bytes.
    @Test func lz4OffsetZeroReadsTheSameEveryWay() throws {
        // The block the fuzzer found (a mode byte, two bytes of dictionary length (0), then the block; its header
        // checksum is valid).
        let input = try Data(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../Fuzz/Regressions/block/lz4-match-offset-zero"))
        let block = [UInt8](input.dropFirst(3))
        let header = try block.withUnsafeBytes { try BlockHeader.decode($0) }
        #expect(header.compression == .lz4)
        var whole: [[UInt8]] = []
        var payload = [UInt8](repeating: 0xaa, count: 1 << 16)
        try BlockDecoder.forEachRecord(inBlock: block, header, payload: &payload) { _, record in
            whole.append(Array(record))
        }
        #expect(whole.count == Int(header.recordCount))
        let firstEnd = varintSize(UInt64(whole[0].count)) + whole[0].count
        for fill in [UInt8(0), 0x55, 0xff] {
            var prefixRead: [[UInt8]] = []
            var buffer = [UInt8](repeating: fill, count: 1 << 16)
            try BlockDecoder.forEachRecord(inBlock: block, header, prefix: firstEnd, payload: &buffer) { _, record in
                prefixRead.append(Array(record))
            }
            #expect(prefixRead == [whole[0]], "buffer filled with \(fill)")
            var again: [[UInt8]] = []
            try BlockDecoder.forEachRecord(inBlock: block, header, payload: &buffer) { _, record in
                again.append(Array(record))
            }
            #expect(again == whole, "buffer filled with \(fill)")
        }
    }
}
