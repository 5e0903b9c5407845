import AuditLogSampleData
import Testing

@testable import AuditLog

@Suite("Actor index")
struct ActorIndexTests {
    /// The pairs of an encoded actor index, in file order.
    func pairs(_ bytes: [UInt8]) -> [(UInt64, UInt64)] {
        bytes.withUnsafeBytes { b in
            stride(from: SegmentIndexFiles.actorIndexHeaderSize, to: b.count, by: 16).map {
                (
                    UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0, as: UInt64.self)),
                    UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 + 8, as: UInt64.self))
                )
            }
        }
    }

    @Test(arguments: [0, 1, 2, 1_000, 70_000])
    func pairsAreSortedByHashThenSeqLikeAComparisonSort(count: Int) {
        var rng = SplitMix64(seed: UInt64(count) + 1)
        // Few distinct hashes (many equal ones), hashes differing only in one 16-bit digit, and random ones.
        let few = (0..<7).map { _ in rng.next() }
        let hashes: [UInt64] = (0..<count).map { i in
            switch i % 3 {
            case 0: few[Int(rng.next() % 7)]
            case 1: 0xABCD_0000_0000_0000 | (rng.next() & 0xFFFF) << (16 * (rng.next() % 3))
            default: rng.next()
            }
        }
        let base: UInt64 = 5_000
        let encoded = SegmentIndexFiles.encodeActorIndex(baseSeq: base, actorHashes: hashes)
        let expected = hashes.enumerated().map { ($1, base + UInt64($0)) }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        let actual = pairs(encoded)
        #expect(actual.count == count)
        #expect(actual.elementsEqual(expected) { $0 == $1 })
        #expect(encoded.count == SegmentIndexFiles.actorIndexHeaderSize + 16 * count)
    }
}
