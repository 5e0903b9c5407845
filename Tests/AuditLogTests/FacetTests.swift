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
        #expect(summaries.count == (try segmentPaths(dir.path).count) - 1, "one per sealed segment")
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
