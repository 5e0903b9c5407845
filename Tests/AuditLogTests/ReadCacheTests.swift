import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// The reader's cache of decoded frames (``FrameCache``): pages read through it are the pages read without it, in
/// version 1 and 2 segments, however small the cache; and it never serves records of bytes that changed since
/// (a segment rewritten by redaction, an active segment cut back by recovery and written again).
@Suite("Read cache")
struct ReadCacheTests {
    /// Every page of `query`, following the cursors: seqs, leaf hashes and events.
    func pages(_ reader: AuditLogReader, _ query: Query) throws -> [[StoredEvent]] {
        var query = query
        var pages: [[StoredEvent]] = []
        repeat {
            let page = try reader.events(matching: query)
            pages.append(page.events)
            query.cursor = page.nextCursor
        } while query.cursor != nil && pages.count < 1000
        return pages
    }

    /// Queries that take every path of the engine: actors (actor index and the active segment's block index),
    /// time ranges, filters with and without an actor, both orders.
    func queries(_ events: [AuditEvent]) -> [Query] {
        let counts = Dictionary(grouping: events, by: \.actor.id).mapValues(\.count)
        let busiest = counts.max { $0.value < $1.value }!.key
        let rare = counts.min { $0.value < $1.value }!.key
        let times = events.map(\.timestamp).sorted()
        let middle = times[times.count / 3]...times[2 * times.count / 3]
        var oldest = Query(actorIDs: [busiest], limit: 7)
        oldest.order = .oldestFirst
        var range = Query(limit: 25)
        (range.from, range.to) = (middle.lowerBound, middle.upperBound)
        var filtered = Query(limit: 10)
        filtered.actions = [events[5].action]
        (filtered.from, filtered.to) = (middle.lowerBound, middle.upperBound)
        var both = Query(actorIDs: [busiest, rare], limit: 4)
        both.sources = [events.compactMap(\.source).first!]
        return [Query(actorIDs: [busiest], limit: 9), Query(actorIDs: [rare], limit: 2), oldest, range, filtered, both]
    }

    /// Pages through a cache of `cacheBytes` equal those of a reader without one, read twice; returns its figures.
    @discardableResult
    func expectSamePages(_ directory: String, _ events: [AuditEvent], cacheBytes: Int) throws -> ReadCacheStatistics {
        let plain = try AuditLogReader(directory: directory)
        let cached = try AuditLogReader(directory: directory, cacheBytes: cacheBytes)
        for query in queries(events) {
            let expected = try pages(plain, query)
            #expect(expected.joined().count > 0, "\(query)")
            for round in 0..<2 {
                #expect(try pages(cached, query) == expected, "round \(round), \(query)")
            }
        }
        let statistics = try #require(cached.cacheStatistics)
        #expect(statistics.bytes <= cacheBytes)
        #expect(statistics.capacityBytes == cacheBytes)
        return statistics
    }

    @Test func pagesThroughTheCacheArePagesWithoutIt() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(3000)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in events.chunked(100) { try log.append(chunk) }
        try log.close()
        #expect(try segmentPaths(dir.path).count > 10)

        let roomy = try expectSamePages(dir.path, events, cacheBytes: 16 << 20)
        #expect(roomy.misses > 0 && roomy.hits >= roomy.misses, "the second round reads from the cache: \(roomy)")
        #expect(roomy.frames > 0)
        // A cache that holds a few frames only: entries come and go, pages stay the same.
        let tight = try expectSamePages(dir.path, events, cacheBytes: 6 << 10)
        #expect(tight.frames <= 2)
        #expect(tight.misses > roomy.misses)

        #expect(throws: AuditLogError.self) { try AuditLogReader(directory: dir.path, cacheBytes: -1) }
        var options = smallOptions()
        options.readCacheBytes = -1
        #expect(throws: AuditLogError.self) { try AuditLog(directory: dir.path, options: options) }
    }

    @Test func version1BlocksAreCachedWhole() throws {
        let dir = try FormatVersionTests().fixtureCopy()
        let (before, after, _) = FormatVersionTests().fixtureEvents()
        let statistics = try expectSamePages(dir.path, before + after, cacheBytes: 4 << 20)
        #expect(statistics.hits > 0)
    }

    @Test func aSegmentRewrittenByRedactionIsNotReadFromTheCache() throws {
        let dir = try TemporaryDirectory()
        var events = sampleEvents(1500)
        let personal = try RetentionRedactionTests.personalEvents(8)
        for (i, event) in personal.enumerated() { events.insert(event, at: 100 + 150 * i) }
        var options = smallOptions(durability: .none)
        options.readCacheBytes = 8 << 20
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in events.chunked(100) { try log.append(chunk) }
        let directoryReader = try AuditLogReader(directory: dir.path, cacheBytes: 8 << 20)
        let query = Query(actorIDs: [personal[0].actor.id], limit: 100)
        for reader in [log.reader, directoryReader] {
            for _ in 0..<2 {
                let page = try reader.events(matching: query)
                #expect(page.events.count == 8)
                #expect(page.events.allSatisfy { $0.event.ip == "203.0.113.77" && $0.redaction == nil })
            }
            #expect(reader.cacheStatistics!.hits > 0)
        }

        try log.redact(.actor(personal[0].actor.id), reason: "erasure request 5")
        for reader in [log.reader, directoryReader] {
            let page = try reader.events(matching: query)
            #expect(page.events.count == 8)
            #expect(page.events.allSatisfy { $0.event.ip == nil && $0.redaction != nil }, "served from before")
            #expect(
                try pages(reader, Query(limit: 200))
                    == pages(try AuditLogReader(directory: dir.path), Query(limit: 200)))
        }
        try log.close()
    }

    @Test func anActiveSegmentCutBackAndWrittenAgainIsNotReadFromTheCache() throws {
        let dir = try TemporaryDirectory()
        var generator = SampleEventGenerator(seed: 11)
        let first = generator.events(40)
        var log = try AuditLog(directory: dir.path)
        try log.append(first)
        try log.close()
        let segment = try #require(try segmentPaths(dir.path).first)
        let cut = try #require(FileSystem.fileSize(segment))

        let second = generator.events(40)
        log = try AuditLog(directory: dir.path)
        try log.append(second)
        try log.close()
        let reader = try AuditLogReader(directory: dir.path, cacheBytes: 4 << 20)
        let newest = Query(limit: 30)
        _ = try pages(reader, newest)
        _ = try pages(reader, newest)
        #expect(reader.cacheStatistics!.hits > 0)

        // The second commit never happened (as after a power cut before its sync): the segment, the same file, is
        // cut back to the first, the derived files go, and other events take the same seqs and offsets, records of
        // the same lengths in frames of the same lengths (only their resource ids differ, reversed).
        let inode = try FileManager.default.attributesOfItem(atPath: segment)[.systemFileNumber] as? UInt64
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
        try handle.truncate(atOffset: UInt64(cut))
        try handle.close()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where !name.hasSuffix(".seg") {
            try FileManager.default.removeItem(atPath: dir.file(name))
        }
        let other = second.map { event in
            var event = event
            event.resource.id = String(event.resource.id.reversed())
            return event
        }
        #expect(zip(other, second).filter { $0.resource.id != $1.resource.id }.count > 30)
        log = try AuditLog(directory: dir.path)
        #expect(log.state.treeSize == 40)
        try log.append(other)
        try log.close()
        #expect(try FileManager.default.attributesOfItem(atPath: segment)[.systemFileNumber] as? UInt64 == inode)

        let expected = try pages(try AuditLogReader(directory: dir.path), newest)
        #expect(expected.first?.first?.event == other.last)
        #expect(try pages(reader, newest) == expected)
    }

    @Test func theCacheStaysWithinItsBoundAndKeepsWhatIsUsed() {
        let cache = FrameCache(capacity: 4 * (1000 + FrameCache.entryOverhead))
        func key(_ i: Int) -> FrameCache.Key {
            FrameCache.Block(inode: 1, changed: 0, offset: Int64(i) * 100, root: .zero).key(frame: 0, checksum: 7)
        }
        for i in 0..<4 { cache.insert([UInt8](repeating: UInt8(i), count: 1000), for: key(i)) }
        #expect(cache.statistics.frames == 4)
        #expect(cache.frame(key(2)) == [UInt8](repeating: 2, count: 1000))
        // Full: the next entry pushes out one not used since the hand passed, not the one just used.
        cache.insert([UInt8](repeating: 9, count: 1000), for: key(9))
        let statistics = cache.statistics
        #expect(statistics.frames == 4 && statistics.bytes <= statistics.capacityBytes)
        #expect(cache.frame(key(2)) != nil && cache.frame(key(9)) != nil)
        // Another checksum, root or identity is another entry.
        var other = FrameCache.Block(inode: 1, changed: 5, offset: 200, root: .zero)
        #expect(cache.frame(other.key(frame: 0, checksum: 7)) == nil)
        other.changed = 0
        #expect(cache.frame(other.key(frame: 0, checksum: 8)) == nil)
        #expect(cache.frame(other.key(frame: 0, checksum: 7)) != nil)
        // An entry larger than the whole cache is not kept.
        cache.insert([UInt8](repeating: 1, count: 8000), for: key(20))
        #expect(cache.frame(key(20)) == nil)
        #expect(cache.statistics.bytes <= cache.statistics.capacityBytes)
    }
}
