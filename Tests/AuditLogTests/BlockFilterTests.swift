import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Block filters (skip indexes)")
struct BlockFilterTests {
    /// The filter of `values`, one record's worth of fields per value.
    func filter(of values: [String], field: BlockFilter.Field) -> [UInt8] {
        var builder = BlockFilter.Builder()
        for value in values { builder.add(key: BlockFilter.key(field, value)) }
        var out: [UInt8] = []
        let size = builder.finish(into: &out)
        #expect(size == out.count)
        return out
    }

    @Test(arguments: [1, 10, 200, 1_500])
    func holdsEveryValueAddedAndFewOthers(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        let values = (0..<count).map { _ in "value_\(rng.next())" }
        let bytes = filter(of: values, field: .action)
        #expect(BlockFilter.isValidSize(bytes.count))
        #expect(bytes.count * 8 >= min(16 * count, BlockFilter.maximumBits))
        bytes.withUnsafeBytes { f in
            for value in values { #expect(BlockFilter.mayContain(f, BlockFilter.key(.action, value))) }
            // The same text in another field is another key.
            let otherField = values.filter { BlockFilter.mayContain(f, BlockFilter.key(.project, $0)) }.count
            let absent = (0..<20_000).filter { BlockFilter.mayContain(f, BlockFilter.key(.action, "other_\($0)")) }
            #expect(Double(absent.count) / 20_000 < 0.005, "false positive rate \(absent.count) / 20000")
            #expect(Double(otherField) / Double(count) < 0.1)
        }
    }

    @Test func aProbeNeedsOneValueOfEveryFilteredField() {
        let f = filter(of: ["create", "delete"], field: .action) // projects: none
        f.withUnsafeBytes { bytes in
            #expect(BlockFilter.Probe(Query(actions: ["create"])).mayMatch(bytes))
            #expect(BlockFilter.Probe(Query(actions: ["rotate", "delete"])).mayMatch(bytes))
            #expect(!BlockFilter.Probe(Query(actions: ["rotate"])).mayMatch(bytes))
            #expect(!BlockFilter.Probe(Query(actions: ["create"], projectIDs: ["proj_1"])).mayMatch(bytes))
            // Not probed: no filter, no field filter, or the value events without the field are compared to.
            #expect(BlockFilter.Probe(Query(actions: ["rotate"])).mayMatch(nil))
            #expect(BlockFilter.Probe(Query(actorIDs: ["user_1"])).isEmpty)
            #expect(BlockFilter.Probe(Query(actions: ["create"], projectIDs: ["\u{0}"])).mayMatch(bytes))
        }
    }

    /// Events of a small world where every 97th carries a rare action and a rare project.
    func eventsWithRareValues(_ count: Int) -> [AuditEvent] {
        var generator = SampleEventGenerator(seed: 5, userCount: 12, apiKeyCount: 3, meanIntervalMilliseconds: 500)
        return generator.events(count).enumerated().map { i, event in
            var e = event
            if i % 97 == 50 {
                e.action = "billing.refund"
                e.project = AuditEvent.Reference(id: "proj_rare")
            }
            return e
        }
    }

    @Test func queriesReadOnlyTheBlocksThatHoldTheValue() throws {
        let dir = try TemporaryDirectory()
        let events = eventsWithRareValues(3_000)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in events.chunked(50) { try log.append(chunk) }
        try log.close()
        let stored = try readAll(dir.path)
        let raresSeqs = Set(stored.filter { $0.event.action == "billing.refund" }.map(\.seq))
        #expect(raresSeqs.count == 31)
        let probe = BlockFilter.Probe(Query(actions: ["billing.refund"]))
        var holding = 0
        var passed = 0
        var total = 0
        for segment in try LogFiles.segments(in: dir.path) {
            let index = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            #expect(index.blocks.indices.allSatisfy { b in index.withFilter(b) { !$0.isEmpty } })
            for (b, block) in index.blocks.enumerated() {
                total += 1
                let holds = (block.firstSeq..<block.endSeq).contains { raresSeqs.contains($0) }
                let mayMatch = index.mayMatch(b, probe)
                if holds {
                    holding += 1
                    #expect(mayMatch, "block at seq \(block.firstSeq) holds the value but its filter says no")
                }
                if mayMatch { passed += 1 }
            }
        }
        #expect(total > 300)
        #expect(passed - holding <= max(3, (total - holding) / 50), "\(passed - holding) false positives of \(total)")
        // The page agrees with the records.
        let page = try AuditLogReader(directory: dir.path).events(
            matching: Query(actions: ["billing.refund"], projectIDs: ["proj_rare"], limit: 1_000))
        #expect(page.events.map(\.seq) == raresSeqs.sorted().reversed())
    }

    @Test func theWritersFiltersAreTheOnesRebuiltFromTheBlocks() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in eventsWithRareValues(1_500).chunked(40) { try log.append(chunk) }
        try log.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".idx") }
        #expect(names.count > 3)
        var written: [String: Data] = [:]
        for name in names {
            written[name] = try Data(contentsOf: URL(fileURLWithPath: dir.file(name)))
            try FileManager.default.removeItem(atPath: dir.file(name))
        }
        try AuditLog(directory: dir.path).close()  // the writer rebuilds missing index files from the blocks
        for name in names {
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file(name))) == written[name], "\(name)")
        }
    }

    @Test func entriesWithoutFiltersStillServeExactAnswers() throws {
        let dir = try TemporaryDirectory()
        let events = eventsWithRareValues(1_200)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in events.chunked(40) { try log.append(chunk) }
        try log.close()
        // Rewrite every block index as the code before filters wrote it: filter size 0.
        for segment in try LogFiles.segments(in: dir.path) {
            let path = SegmentIndexFiles.blockIndexPath(directory: dir.path, baseSeq: segment.baseSeq)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let index = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            #expect(index.indexFileIsExact)
            var old: [UInt8] = []
            for (b, block) in index.blocks.enumerated() {
                var hashes: [UInt64] = []
                index.forEachActorHash(block: b) { _, hash in hashes.append(hash) }
                let ends = (0..<block.recordCount).map { index.recordEnd(block: b, record: $0) }
                SegmentIndexFiles.appendEntry(
                    block, actorHashes: hashes[...], recordEnds: ends[...],
                    filter: UnsafeRawBufferPointer(start: nil, count: 0), to: &old)
            }
            #expect(old.count < bytes.count)
            let blocks = index.blocks
            try Data(old).write(to: URL(fileURLWithPath: path), options: .atomic)
            let reparsed = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            #expect(reparsed.blocks == blocks && reparsed.indexFileIsExact)
            #expect(reparsed.blocks.indices.allSatisfy { b in reparsed.withFilter(b) { $0.isEmpty } })
        }
        let stored = try readAll(dir.path)
        let engine = try AuditLogReader(directory: dir.path)
        for query in [
            Query(actions: ["billing.refund"], limit: 1_000), Query(projectIDs: ["proj_rare", "proj_0001"], limit: 1_000),
            Query(actions: ["nothing"], limit: 10),
        ] {
            let expected = stored.filter { query.matches($0.event) }.map(\.seq).reversed()
            #expect(try engine.events(matching: query).events.map(\.seq) == Array(expected))
        }
    }
}
