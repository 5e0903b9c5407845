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
        #expect(size.block == out.count && size.windows == 0)  // keys added without a window
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
        let f = filter(of: ["create", "delete"], field: .action)  // projects: none
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
            #expect(
                try index.blocks.indices.allSatisfy { b in try index.entry(b).withFilters { !$0.isEmpty && !$1.isEmpty }
                })
            for (b, block) in index.blocks.enumerated() {
                total += 1
                let holds = (block.firstSeq..<block.endSeq).contains { raresSeqs.contains($0) }
                let mayMatch = try index.entry(b).mayMatch(probe)
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

    /// In 64 KiB blocks (16 windows of 4 KiB), a block's window filter holds every record's values in the window
    /// the record starts in, and narrows a rare value's block to a few windows; pages read only the frames that meet
    /// them and stay exact.
    @Test func windowFiltersHoldEveryRecordsWindowAndNarrowTheFramesRead() throws {
        let dir = try TemporaryDirectory()
        let events = eventsWithRareValues(6_000)
        let log = try AuditLog(directory: dir.path, options: AuditLog.Options(durability: .none))
        for chunk in events.chunked(500) { try log.append(chunk) }
        try log.close()
        let stored = try readAll(dir.path)
        let bySeq = Dictionary(uniqueKeysWithValues: stored.map { ($0.seq, $0.event) })
        let rare = BlockFilter.Probe(Query(actions: ["billing.refund"], projectIDs: ["proj_rare"]))
        var rareBlocks = 0
        var rareWindowBytes = 0
        var payloadBytes = 0
        for segment in try LogFiles.segments(in: dir.path) {
            let index = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            for (b, block) in index.blocks.enumerated() {
                let entry = try index.entry(b)
                var start = 0
                for i in 0..<block.recordCount {
                    let event = bySeq[block.firstSeq + UInt64(i)]!
                    // Every value of the record, alone and with the others, may start in its window.
                    for probe in [
                        Query(actions: [event.action]), Query(resourceTypes: [event.resource.type]),
                        Query(projectIDs: event.project.map { [$0.id] } ?? []),
                        Query(orgIDs: event.org.map { [$0.id] } ?? []), Query(sources: event.source.map { [$0] } ?? []),
                        Query(
                            actions: [event.action], resourceTypes: [event.resource.type],
                            sources: event.source.map { [$0] } ?? []),
                    ].map(BlockFilter.Probe.init) where !probe.isEmpty {
                        let ranges = try #require(entry.payloadRanges(mayMatching: probe))
                        #expect(ranges.contains { $0.contains(start) }, "seq \(block.firstSeq + UInt64(i))")
                    }
                    start = Int(entry.recordEnd(i))
                }
                // A resource id is not in window filters: any window may hold it.
                #expect(entry.payloadRanges(mayMatching: .init(Query(resourceIDs: ["x"]))) == nil)
                payloadBytes += start
                let holds = (block.firstSeq..<block.endSeq).contains { bySeq[$0]?.action == "billing.refund" }
                if holds, let ranges = entry.payloadRanges(mayMatching: rare) {
                    rareBlocks += 1
                    rareWindowBytes += ranges.reduce(0) { $0 + $1.count }
                }
            }
        }
        // One or two of ~5 rare records per block: a few of 16 windows, not all.
        #expect(rareBlocks > 20)
        #expect(Double(rareWindowBytes) < 0.5 * Double(rareBlocks) * 65_536, "\(rareWindowBytes) bytes")
        let reader = try AuditLogReader(directory: dir.path)
        for query in [
            Query(actions: ["billing.refund"], limit: 1_000), Query(projectIDs: ["proj_rare"], limit: 7),
            Query(actions: ["billing.refund"], projectIDs: ["proj_rare"], order: .oldestFirst, limit: 13),
        ] {
            var expected = stored.filter { query.matches($0.event) }.map(\.seq)
            if query.order == .newestFirst { expected.reverse() }
            var actual: [UInt64] = []
            var q = query
            while true {
                let page = try reader.events(matching: q)
                actual += page.events.map(\.seq)
                guard let next = page.nextCursor else { break }
                q.cursor = next
            }
            #expect(actual == expected)
        }
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

    /// Index entries as older code wrote them: without filters (`blockFilters` false), or with block filters but
    /// no window filters. In 32 KiB blocks of several frames and windows.
    @Test(arguments: [false, true])
    func entriesWithoutFiltersStillServeExactAnswers(blockFilters: Bool) throws {
        let dir = try TemporaryDirectory()
        let events = eventsWithRareValues(1_200)
        var options = smallOptions(durability: .none)
        options.maxBlockBytes = 32 << 10
        options.maxSegmentBytes = 160 << 10
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in events.chunked(40) { try log.append(chunk) }
        try log.close()
        for segment in try LogFiles.segments(in: dir.path) {
            let path = SegmentIndexFiles.blockIndexPath(directory: dir.path, baseSeq: segment.baseSeq)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let index = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            #expect(index.indexFileIsExact)
            var old: [UInt8] = []
            for (b, block) in index.blocks.enumerated() {
                let entry = try index.entry(b)
                var hashes: [UInt64] = []
                entry.forEachActorHash { _, hash in hashes.append(hash) }
                let ends = (0..<block.recordCount).map { entry.recordEnd($0) }
                entry.withFilters { filter, _ in
                    SegmentIndexFiles.appendEntry(
                        block, actorHashes: hashes[...], recordEnds: ends[...],
                        filters: blockFilters ? filter : UnsafeRawBufferPointer(start: nil, count: 0),
                        windowFilterSize: 0, to: &old)
                }
            }
            #expect(old.count < bytes.count)
            let blocks = index.blocks
            try Data(old).write(to: URL(fileURLWithPath: path), options: .atomic)
            let reparsed = try SegmentIndex(directory: dir.path, baseSeq: segment.baseSeq, path: segment.path)
            #expect(reparsed.blocks == blocks && reparsed.indexFileIsExact)
            #expect(
                try reparsed.blocks.indices.allSatisfy { b in
                    try reparsed.entry(b).withFilters { $0.isEmpty != blockFilters && $1.isEmpty }
                })
        }
        let stored = try readAll(dir.path)
        let engine = try AuditLogReader(directory: dir.path)
        for query in [
            Query(actions: ["billing.refund"], limit: 1_000),
            Query(projectIDs: ["proj_rare", "proj_0001"], limit: 1_000),
            Query(actions: ["nothing"], limit: 10), Query(actions: ["billing.refund"], limit: 3),
        ] {
            let expected = stored.filter { query.matches($0.event) }.map(\.seq).reversed().prefix(query.limit)
            #expect(try engine.events(matching: query).events.map(\.seq) == Array(expected))
        }
    }
}
