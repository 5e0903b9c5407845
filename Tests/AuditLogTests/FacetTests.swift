import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// Distinct values with counts, from the per-segment summaries.
@Suite("Facets")
struct FacetTests {
    /// The brute-force answer: counts of `field` over `events`, per value.
    func expected(_ field: FacetField, _ events: [AuditEvent], orgs: Set<String>? = nil) -> [String: UInt64] {
        var counts: [String: UInt64] = [:]
        for event in events where orgs.map({ $0.contains(event.org?.id ?? "") }) ?? true {
            let value: String? =
                switch field {
                case .actor: event.actor.id
                case .action: event.action
                case .resourceType: event.resource.type
                case .project: event.project?.id
                case .org: event.org?.id
                case .source: event.source
                }
            if let value { counts[value, default: 0] += 1 }
        }
        return counts
    }

    @Test func countsMatchTheEventsWithAndWithoutSummaryFiles() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(1500, seed: 21)
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        for chunk in events.chunked(100) { try log.append(chunk) }
        // The writer's reader: sealed summaries (from files or records) and the active segment's, as it grows.
        for field in FacetField.allCases {
            let result = try log.reader.facets(field, limit: 100_000)
            #expect(Dictionary(uniqueKeysWithValues: result.values.map { ($0.value, $0.count) }) == expected(field, events))
            #expect(result.values.map(\.count) == result.values.map(\.count).sorted(by: >))
        }
        try log.append(sampleEvents(10, seed: 22))
        #expect(try log.reader.facets(.action).values.reduce(0) { $0 + $1.count } == 1510)
        log.writer.writeMissingSummaries()  // what its maintenance thread does at open and after each seal
        try log.close()

        // After close the maintenance thread has written summary files for sealed segments (it runs at open and
        // after each seal); a reader of the directory gives the same answer with them, and without them.
        let summaries = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".fct") }
        #expect(summaries.count == (try segmentPaths(dir.path).count), "one per sealed segment, and the active one's")
        let all = events + sampleEvents(10, seed: 22)
        let org = try #require(all.first?.org?.id)
        for removeSummaries in [false, true] {
            if removeSummaries { for name in summaries { try FileManager.default.removeItem(atPath: dir.file(name)) } }
            let reader = try AuditLogReader(directory: dir.path)
            for field in FacetField.allCases {
                let result = try reader.facets(field, limit: 100_000)
                #expect(
                    Dictionary(uniqueKeysWithValues: result.values.map { ($0.value, $0.count) }) == expected(field, all))
                let scoped = try reader.facets(field, orgIDs: [org], limit: 100_000)
                #expect(
                    Dictionary(uniqueKeysWithValues: scoped.values.map { ($0.value, $0.count) })
                        == expected(field, all, orgs: [org]))
            }
        }
        let names = try AuditLogReader(directory: dir.path).facets(.actor, limit: 3)
        #expect(names.values.count == 3 && names.truncated)
        #expect(names.values.allSatisfy { $0.kind != nil })
    }

    /// The writer's maintenance thread starts at open only when there is work then (here: a sealed segment without
    /// its summary), otherwise at the first seal; either way it writes what sealed segments lack.
    @Test func maintenanceStartsAtOpenOnlyWhenSummariesAreMissing() throws {
        let dir = try TemporaryDirectory()
        var log: AuditLog? = try AuditLog(directory: dir.path, options: smallOptions())
        for chunk in sampleEvents(1500, seed: 23).chunked(100) { try log!.append(chunk) }
        log!.writer.writeMissingSummaries()
        try log!.close()
        let sealed = Array(try segmentPaths(dir.path).dropLast())
        try #require(sealed.count >= 2)
        func summary(_ segment: String) -> String { String(segment.dropLast(4)) + ".fct" }
        func written(_ path: String) -> Bool {
            for _ in 0..<300 where !FileManager.default.fileExists(atPath: path) { usleep(10_000) }
            return FileManager.default.fileExists(atPath: path)
        }
        #expect(sealed.allSatisfy { FileManager.default.fileExists(atPath: summary($0)) })

        // Every summary there: no thread at open. One goes while the log is open; the next seal starts the thread,
        // which writes it again.
        log = try AuditLog(directory: dir.path, options: smallOptions())
        #expect(!log!.writer.maintenanceStarted)
        try FileManager.default.removeItem(atPath: summary(sealed[0]))
        let segments = try segmentPaths(dir.path).count
        while try segmentPaths(dir.path).count == segments { try log!.append(sampleEvents(50, seed: 24)) }
        #expect(log!.writer.maintenanceStarted)
        #expect(written(summary(sealed[0])))
        try log!.close()

        // Missing at open: the thread starts with the writer and writes it.
        try FileManager.default.removeItem(atPath: summary(sealed[1]))
        log = try AuditLog(directory: dir.path, options: smallOptions())
        #expect(log!.writer.maintenanceStarted)
        #expect(written(summary(sealed[1])))
        try log!.close()
    }

    /// The writer counts facets as it commits and writes each summary at seal, without reading records: byte for
    /// byte what computing it from the sealed segment's records gives. A segment that held records before the
    /// writer opened it is left to the maintenance thread.
    @Test func summariesWrittenAtSealEqualThoseComputedFromRecords() throws {
        let dir = try TemporaryDirectory()
        var log: AuditLog? = try AuditLog(directory: dir.path, options: smallOptions())
        for chunk in sampleEvents(700, seed: 24).chunked(70) { try log!.append(chunk) }
        try log!.close()
        log = try AuditLog(directory: dir.path, options: smallOptions())  // reopens a non-empty active segment
        for chunk in sampleEvents(700, seed: 25).chunked(1) { try log!.append(chunk) }
        log!.writer.writeMissingSummaries()
        try log!.close()
        let sealed = try segmentPaths(dir.path).dropLast()
        #expect(sealed.count >= 4)
        for path in sealed {
            let base = try #require(LogFiles.baseSeq(ofSegmentNamed: (path as NSString).lastPathComponent))
            let stored = try Data(contentsOf: URL(fileURLWithPath: SegmentFacets.path(directory: dir.path, baseSeq: base)))
            #expect(Array(stored) == (try SegmentFacets.compute((base, path)).encode()), "segment \(base)")
        }
    }

    /// A clean close leaves the active segment's summary so far (`.fct`, FORMAT.md "Indexes"): a new reader counts
    /// only the blocks written after it, the next writer goes on counting from it, and a summary that does not end
    /// where a block ends is never used.
    @Test func theActiveSegmentsSummaryServesNewReadersAndTheNextWriter() throws {
        let dir = try TemporaryDirectory()
        var options = smallOptions()
        options.maxSegmentBytes = 4 << 20  // one segment, many blocks
        let first = sampleEvents(600, seed: 26)
        var log = try AuditLog(directory: dir.path, options: options)
        for chunk in first.chunked(50) { try log.append(chunk) }
        try log.close()
        let path = try #require(try segmentPaths(dir.path).first)
        #expect(try segmentPaths(dir.path).count == 1)
        let summaryPath = SegmentFacets.path(directory: dir.path, baseSeq: 0)
        let written = try #require(SegmentFacets.read(baseSeq: 0, directory: dir.path))
        #expect(written.endSeq == 600)
        var fromRecords = SegmentFacets(baseSeq: 0)
        var walker = try SegmentWalker(file: SegmentFile.open(path: path, baseSeq: 0), checking: .blocks)
        try fromRecords.add(walking: &walker)
        #expect(written == fromRecords)
        func checkAll(_ events: [AuditEvent], _ reader: AuditLogReader) throws {
            for field in FacetField.allCases {
                let result = try reader.facets(field, limit: 100_000)
                #expect(
                    Dictionary(uniqueKeysWithValues: result.values.map { ($0.value, $0.count) })
                        == expected(field, events), "\(field)")
            }
        }
        try checkAll(first, AuditLogReader(directory: dir.path))

        // The reader takes the summary as the writer left it, like a sealed segment's (derived data, checked by
        // its checksum): counts changed in a summary that is otherwise whole show in a new reader's answer, so
        // the blocks it covers are not read again.
        let key = try #require(written.entries.keys.first { $0.field == .source })
        var changed = written
        changed.entries[key]!.count += 1_000
        try Data(changed.encode()).write(to: URL(fileURLWithPath: summaryPath))
        let shown = try AuditLogReader(directory: dir.path).facets(.source, limit: 1000).values
        #expect(shown.first { $0.value == key.value }?.count == expected(.source, first)[key.value]! + 1_000)
        try Data(written.encode()).write(to: URL(fileURLWithPath: summaryPath))

        // A writer appending after it: a new reader counts the summary, then the blocks after it.
        let second = sampleEvents(230, seed: 27)
        log = try AuditLog(directory: dir.path, options: options)
        for chunk in second.chunked(23) { try log.append(chunk) }
        try checkAll(first + second, AuditLogReader(directory: dir.path))
        try log.close()
        #expect(try segmentPaths(dir.path).count == 1)
        let rewritten = try #require(SegmentFacets.read(baseSeq: 0, directory: dir.path))
        #expect(rewritten.endSeq == 830)
        fromRecords = SegmentFacets(baseSeq: 0)
        walker = try SegmentWalker(file: SegmentFile.open(path: path, baseSeq: 0), checking: .blocks)
        try fromRecords.add(walking: &walker)
        #expect(rewritten == fromRecords, "the second writer went on from the first one's summary")

        // Summaries that do not end where a block ends (inside a block, past the last one) are not used.
        let blocks = try SegmentIndex(directory: dir.path, baseSeq: 0, path: path).blocks
        let inside = try #require(blocks.last { $0.recordCount > 1 }).firstSeq + 1
        for endSeq: UInt64 in [inside, 831, 5_000] {
            var wrong = rewritten
            wrong.endSeq = endSeq
            try Data(wrong.encode()).write(to: URL(fileURLWithPath: summaryPath))
            try checkAll(first + second, AuditLogReader(directory: dir.path))
        }
    }

    /// A damaged summary file is never believed: the answer comes from the records.
    @Test func aDamagedSummaryFileIsIgnored() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(800, seed: 23)
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        for chunk in events.chunked(100) { try log.append(chunk) }
        try log.close()
        let segments = try segmentPaths(dir.path).dropLast()
        let base = try #require(segments.first.flatMap { LogFiles.baseSeq(ofSegmentNamed: ($0 as NSString).lastPathComponent) })
        let summary = SegmentFacets.path(directory: dir.path, baseSeq: base)
        let good = try SegmentFacets.compute((base, segments.first!))
        var bytes = good.encode()
        bytes[bytes.count - 3] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: summary))
        let result = try AuditLogReader(directory: dir.path).facets(.resourceType, limit: 1000)
        #expect(Dictionary(uniqueKeysWithValues: result.values.map { ($0.value, $0.count) }) == expected(.resourceType, events))
    }
}
