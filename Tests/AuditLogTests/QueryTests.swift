import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Queries and pagination")
struct QueryTests {
    /// Events with few actors, actions and orgs, so that random filters match something.
    func smallWorld(_ count: Int, seed: UInt64) -> [AuditEvent] {
        var generator = SampleEventGenerator(seed: seed, userCount: 12, apiKeyCount: 3, meanIntervalMilliseconds: 500)
        return generator.events(count)
    }

    /// Pages through every result of `query`.
    func allPages(_ engine: AuditLogReader, _ query: Query) throws -> [StoredEvent] {
        var q = query
        var out: [StoredEvent] = []
        var pages = 0
        while true {
            let page = try engine.events(matching: q)
            out += page.events
            pages += 1
            #expect(page.events.count <= q.limit)
            guard let next = page.nextCursor else { break }
            #expect(page.events.count == q.limit, "only the last page may be short")
            q.cursor = next
            #expect(pages < 10_000)
        }
        return out
    }

    func randomQuery(_ events: [AuditEvent], _ rng: inout SplitMix64) -> Query {
        var q = Query()
        func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
        if rng.next() % 2 == 0 { q.actorIDs = (0..<Int(1 + rng.next() % 3)).map { _ in pick(events).actor.id } }
        if rng.next() % 3 == 0 { q.actions = [pick(events).action, pick(events).action] }
        if rng.next() % 3 == 0 { q.resourceTypes = [pick(events).resource.type] }
        if rng.next() % 6 == 0 { q.resourceIDs = [pick(events).resource.id] }
        if rng.next() % 4 == 0 { q.orgIDs = [pick(events).org?.id, pick(events).org?.id].compactMap { $0 } }
        if rng.next() % 5 == 0 { q.projectIDs = [pick(events).project?.id].compactMap { $0 } }
        if rng.next() % 4 == 0 { q.sources = [pick(events).source].compactMap { $0 } }
        if rng.next() % 2 == 0 {
            let a = pick(events).timestamp
            let b = pick(events).timestamp
            q.from = rng.next() % 4 == 0 ? nil : min(a, b)
            q.to = rng.next() % 4 == 0 ? nil : max(a, b)
        }
        q.order = rng.next() % 2 == 0 ? .newestFirst : .oldestFirst
        q.limit = Int(1 + rng.next() % 40)
        return q
    }

    /// Seeds 1 to 3 in small blocks (one frame each), seed 4 in 32 KiB blocks of many frames (pages that end
    /// inside a block, records found by their frame).
    @Test(arguments: [1, 2, 3, 4])
    func everyFilterCombinationAgreesWithABruteForceOracle(seed: UInt64) throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(1200, seed: seed)
        var options = smallOptions(durability: .none)
        if seed == 4 {
            options.maxBlockBytes = 32 << 10
            options.maxSegmentBytes = 40 << 10
        }
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in events.chunked(40) { try log.append(chunk) }
        let stored = try readAll(dir.path)
        #expect(try segmentPaths(dir.path).count > 3)
        var rng = SplitMix64(seed: seed)
        // The writer's own engine, and a fresh engine in "another process" after the log is closed.
        for round in 0..<2 {
            if round == 1 { try log.close() }
            let engine = try AuditLogReader(directory: dir.path)
            for _ in 0..<60 {
                let q = randomQuery(events, &rng)
                var expected = stored.filter { q.matches($0.event) }
                if q.order == .newestFirst { expected.reverse() }
                let actual = try allPages(engine, q)
                #expect(actual.map(\.seq) == expected.map(\.seq), "\(q)")
                #expect(actual.map(\.event) == expected.map(\.event))
            }
        }
    }

    /// A page written straight from the records (``AuditLogReader/appendPage(matching:encoder:to:)``) is the bytes
    /// of the decoded page's events written by the same encoder, with the same next cursor, in every format, for
    /// random queries over a log with redacted events, page after page.
    @Test func pagesWrittenFromRecordsEqualDecodedPagesEncoded() throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(900, seed: 11)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in events.chunked(60) { try log.append(chunk) }
        _ = try log.redact(.actor(events[5].actor.id), reason: "test")
        try log.close()
        let reader = try AuditLogReader(directory: dir.path)
        var rng = SplitMix64(seed: 11)
        var pages = 0
        for (i, format) in ExportEncoder.Format.allCases.enumerated() {
            for _ in 0..<12 {
                var q = randomQuery(events, &rng)
                for _ in 0..<3 {
                    let page = try reader.events(matching: q)
                    var decoded = ExportEncoder(format: format)
                    var expected: [UInt8] = []
                    for stored in page.events { decoded.append(stored, to: &expected) }
                    var direct = ExportEncoder(format: format)
                    var actual: [UInt8] = Array("prefix \(i)".utf8)
                    let written = try reader.appendPage(matching: q, encoder: &direct, to: &actual)
                    #expect(actual == Array("prefix \(i)".utf8) + expected, "\(format) \(q)")
                    #expect(written.events == page.events.count && written.nextCursor == page.nextCursor)
                    pages += 1
                    guard let next = page.nextCursor else { break }
                    q.cursor = next
                }
            }
        }
        #expect(pages > 60)
        #expect(throws: AuditLogError.self) {
            var encoder = ExportEncoder(format: .jsonLines)
            var out: [UInt8] = []
            _ = try reader.appendPage(matching: Query(limit: 0), encoder: &encoder, to: &out)
        }
    }

    /// Queries read segments through a memory mapping kept with their index view; a file truncated under the
    /// mapping makes its reads fail with an I/O error, not SIGBUS.
    /// The active segment has no actor index: a view scans its blocks' hashes, and after enough lookups keeps a map of
    /// them; pages are the same either way, and after the segment grows (a new view). Its blocks hold many frames
    /// (a busy actor has records in most of them): pages of 7 end inside frames, in both orders.
    @Test func actorPagesOfTheActiveSegmentStayExactOnceItsViewKeepsAMap() throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(700, seed: 12)
        var options = smallOptions(durability: .none)
        options.maxSegmentBytes = 1 << 20  // one segment: every record in the active one
        options.maxBlockBytes = 32 << 10
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in Array(events[..<600]).chunked(40) { try log.append(chunk) }
        let reader = try AuditLogReader(directory: dir.path)
        let actors = Array(Set(events.map(\.actor.id))).sorted()
        func expectExact(_ round: Int) throws {
            let stored = try readAll(dir.path)
            for actor in actors {
                let page = try reader.events(matching: Query(actorIDs: [actor], limit: 1000))
                let expected = stored.filter { $0.event.actor.id == actor }.map(\.seq).reversed()
                #expect(page.events.map(\.seq) == Array(expected), "round \(round), \(actor)")
                let paged = try allPages(reader, Query(actorIDs: [actor], order: .oldestFirst, limit: 7))
                #expect(paged.map(\.seq) == expected.reversed(), "round \(round), \(actor), oldest first")
            }
            let two = Array(actors.prefix(2))
            let pagedTwo = try allPages(reader, Query(actorIDs: two, limit: 7))
            #expect(pagedTwo.map(\.seq) == stored.filter { two.contains($0.event.actor.id) }.map(\.seq).reversed())
        }
        let rounds = SegmentIndex.scansBeforeActorMap / actors.count + 2
        for round in 0..<rounds { try expectExact(round) }
        for chunk in Array(events[600...]).chunked(40) { try log.append(chunk) }
        for round in 0..<rounds { try expectExact(rounds + round) }
        #expect(try LogFiles.segments(in: dir.path).count == 1)
        try log.close()
    }

    /// A reader lists the directory again only when it changed, and then checks its segments' files again: pages
    /// stay exact while segments are created (rolls), rewritten (redaction) and removed (retention) under it.
    @Test func aReaderListsTheDirectoryAgainOnlyWhenItChanged() throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(900, seed: 4)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in Array(events[..<500]).chunked(40) { try log.append(chunk) }
        let reader = try AuditLogReader(directory: dir.path)
        let actor = events[3].actor.id
        /// Waits until a listing of the directory as it is now is settled.
        func settle() { Thread.sleep(forTimeInterval: Double(SegmentIndexCache.settleMilliseconds + 100) / 1000) }
        func expectExact(_ what: String, _ location: SourceLocation = #_sourceLocation) throws {
            let fresh = try AuditLogReader(directory: dir.path)
            for query in [
                Query(actorIDs: [actor], limit: 1000),
                Query(from: events[50].timestamp, to: events[800].timestamp, limit: 1000),
            ] {
                #expect(
                    try reader.events(matching: query) == fresh.events(matching: query), "\(what)",
                    sourceLocation: location)
            }
        }
        settle()
        try expectExact("settled")
        let listed = reader.indexes.listings
        try expectExact("unchanged")
        try expectExact("unchanged")
        #expect(reader.indexes.listings == listed, "an unchanged directory is not listed again")

        let segments = try LogFiles.segments(in: dir.path).count
        for chunk in Array(events[500...]).chunked(40) { try log.append(chunk) }
        #expect(try LogFiles.segments(in: dir.path).count > segments)
        try expectExact("new segments")
        #expect(reader.indexes.listings > listed)

        settle()
        try expectExact("settled again")
        let result = try log.redact(.actor(actor), reason: "erasure request 12")
        #expect(result.segmentsRewritten >= 2)
        settle()  // the first listing after the rewrite is settled: the files checked before it are checked again
        try expectExact("redacted")
        #expect(try reader.events(matching: Query(actorIDs: [actor])).events.allSatisfy { $0.redaction != nil })

        settle()
        try expectExact("settled after redaction")
        let removed = try log.applyRetention(RetentionPolicy(maxBytes: 24 << 10))
        #expect(!removed.segmentsRemoved.isEmpty)
        try expectExact("after retention")
        try log.close()
    }

    @Test func sealedSegmentsAreMappedAndATruncatedMappingIsAnErrorNotACrash() throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(600, seed: 9)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in events.chunked(40) { try log.append(chunk) }
        try log.close()
        let segments = try LogFiles.segments(in: dir.path)
        #expect(segments.count > 3)
        let views = try segments.map { try SegmentIndex(directory: dir.path, baseSeq: $0.baseSeq, path: $0.path) }
        #expect(views.dropLast().allSatisfy { $0.sealed } && !views.last!.sealed)
        #expect(views.allSatisfy { $0.mappedFile() != nil })  // the active segment too, while it does not change
        // Pages over mapped segments agree with the records.
        let stored = try readAll(dir.path)
        let reader = try AuditLogReader(directory: dir.path)
        let query = Query(actorIDs: [events[7].actor.id], limit: 1_000)
        #expect(
            try reader.events(matching: query).events.map(\.seq)
                == stored.filter { query.matches($0.event) }.map(\.seq).reversed())

        let file = try #require(views[1].mappedFile())
        #expect(try file.source.read(count: 64, at: 4_096).count == 64)
        #expect(truncate(segments[1].path, 0) == 0)
        let error = try #require(throws: AuditLogError.self) { try file.source.read(count: 64, at: 4_096) }
        #expect(error.code == .io && error.errno == EIO && error.path == segments[1].path)
        #expect(throws: AuditLogError.self) { try file.entry(at: Int64(file.headerSize), fileSize: 65_536) }
        // Reads still work elsewhere, and the reader sees the truncated file as damage.
        #expect(try views[0].mappedFile()!.source.read(count: 64, at: 0).count == 64)
        let damaged = try #require(throws: AuditLogError.self) { try reader.events(matching: Query(limit: 1_000)) }
        #expect(damaged.code == .corrupt)
    }

    @Test func resultsStayExactWithMissingOrDamagedIndexes() throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(800, seed: 7)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in events.chunked(40) { try log.append(chunk) }
        try log.close()
        let stored = try readAll(dir.path)
        let indexFiles = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasSuffix(".idx") || $0.hasSuffix(".aix")
        }.sorted()
        #expect(indexFiles.contains { $0.hasSuffix(".aix") })
        let queries = [
            Query(actorIDs: [events[3].actor.id], limit: 7),
            Query(from: events[100].timestamp, to: events[400].timestamp, limit: 13),
        ]
        func check() throws {
            let engine = try AuditLogReader(directory: dir.path)
            for q in queries {
                var expected = stored.filter { q.matches($0.event) }
                expected.reverse()
                #expect(try allPages(engine, q).map(\.seq) == expected.map(\.seq))
            }
        }
        // Damage every index file in the middle, then delete them all: the answers do not change.
        for name in indexFiles {
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir.file(name))))
            bytes[bytes.count / 2] ^= 0x55
            try Data(bytes).write(to: URL(fileURLWithPath: dir.file(name)))
        }
        try check()
        for name in indexFiles { try FileManager.default.removeItem(atPath: dir.file(name)) }
        try check()
        // Opening the log as writer rebuilds them.
        try AuditLog(directory: dir.path).close()
        let rebuilt = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasSuffix(".idx") || $0.hasSuffix(".aix")
        }.sorted()
        #expect(rebuilt == indexFiles)
        try check()
    }

    @Test func filterValuesCompareByteForByteNotByCanonicalEquivalence() throws {
        let dir = try TemporaryDirectory()
        var events = smallWorld(300, seed: 3)
        let decomposed = "re\u{301}sume\u{301}.update"  // "résumé" with combining accents
        let precomposed = "r\u{E9}sum\u{E9}.update"
        #expect(decomposed == precomposed)  // equal as Swift strings, different bytes
        events[120].action = decomposed
        events[121].project = AuditEvent.Reference(id: precomposed)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        try log.append(events)
        try log.close()
        let engine = try AuditLogReader(directory: dir.path)
        for (query, seqs) in [
            (Query(actions: [decomposed]), [UInt64(120)]), (Query(actions: [precomposed]), []),
            (Query(projectIDs: [precomposed]), [121]), (Query(projectIDs: [decomposed]), []),
        ] {
            #expect(try engine.events(matching: query).events.map(\.seq) == seqs, "\(query)")
            #expect(try readAll(dir.path).filter { query.matches($0.event) }.map(\.seq) == seqs)
            var exported: [UInt8] = []
            try engine.export(matching: query, format: .jsonLines) { (bytes) throws(AuditLogError) in
                exported += bytes
                return true
            }
            #expect(exported.filter { $0 == 0x0A }.count == seqs.count)
        }
    }

    @Test func pagingWhileAppendingReturnsEachMatchExactlyOnceInOrder() throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(900, seed: 11)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        try log.append(Array(events[0..<300]))
        let actor = events[0].actor.id
        for order in [Query.Order.newestFirst, .oldestFirst] {
            var q = Query(actorIDs: [actor], order: order, limit: 5)
            let snapshot = log.state.treeSize
            var seen: [UInt64] = []
            var appended = 300
            while true {
                let page = try log.events(matching: q)
                seen += page.events.map(\.seq)
                if appended < 900 {
                    try log.append(Array(events[appended..<appended + 30]))
                    appended += 30
                }
                guard let next = page.nextCursor else { break }
                q.cursor = next
            }
            let all = try readAll(dir.path).filter { $0.event.actor.id == actor }.map(\.seq)
            #expect(Set(seen).count == seen.count, "no duplicates")
            if order == .newestFirst {
                // Newest first starts at the end as it was, and never sees later appends.
                #expect(seen == all.filter { $0 < snapshot }.reversed())
            } else {
                // Oldest first runs into the appends and includes every one of them.
                #expect(seen == all)
            }
            // Reset the log for the next order.
            _ = appended
        }
        try log.close()
    }

    @Test func aCursorOnlyWorksWithItsOwnQuery() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        try log.append(smallWorld(50, seed: 3))
        let page = try log.events(matching: Query(limit: 10))
        let cursor = try #require(page.nextCursor)
        #expect { _ = try log.events(matching: Query(actions: ["delete"], limit: 10, cursor: cursor)) } throws: {
            ($0 as! AuditLogError).description.contains("belongs to a query with other filters")
        }
        #expect { _ = try log.events(matching: Query(cursor: "garbage!")) } throws: {
            ($0 as! AuditLogError).code == .invalidArgument
        }
        #expect { _ = try log.events(matching: Query(limit: 0)) } throws: {
            ($0 as! AuditLogError).code == .invalidArgument
        }
        try log.close()
    }

    @Test func eventBySeqHasEveryField() throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(20, seed: 5)
        let log = try AuditLog(directory: dir.path)
        try log.append(events)
        let stored = try log.event(seq: 13)
        #expect(stored.event == events[13] && stored.seq == 13)
        #expect(stored.leafHash == (try readAll(dir.path))[13].leafHash)
        #expect { _ = try log.event(seq: 20) } throws: { ($0 as! AuditLogError).code == .invalidArgument }
        try log.close()
    }
}

extension QueryTests {
    /// `afterSeq` skips everything up to a seq, in either order and with any other filter.
    @Test func afterSeqReturnsOnlyLaterEvents() throws {
        let dir = try TemporaryDirectory()
        let events = smallWorld(600, seed: 31)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in events.chunked(50) { try log.append(chunk) }
        try log.close()
        let stored = try readAll(dir.path)
        let reader = try AuditLogReader(directory: dir.path)
        for after: UInt64 in [0, 17, 299, 598, 599, 10_000] {
            for order in [Query.Order.oldestFirst, .newestFirst] {
                for actors in [[], [events[5].actor.id]] {
                    let query = Query(actorIDs: actors, afterSeq: after, order: order, limit: 37)
                    var expected = stored.filter { $0.seq > after && query.matches($0.event) }
                    if order == .newestFirst { expected.reverse() }
                    #expect(try allPages(reader, query).map(\.seq) == expected.map(\.seq))
                }
            }
            let parsed = try Query(parameters: [("afterSeq", String(after)), ("order", "oldest")])
            #expect(parsed.afterSeq == after)
        }
        #expect(throws: AuditLogError.self) { try Query(parameters: [("afterSeq", "-1")]) }
    }
}
