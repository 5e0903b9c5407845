import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Synchronization
import Testing

@testable import AuditLog

@Suite("Appending and reading")
struct LogTests {
    @Test func appendedEventsReadBackWithDenseSeqsAndTheRootOfTheirLeaves() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(700)
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        var next = 0
        for size in [1, 5, 50, 144, 200, 300] {
            let range = try log.append(Array(events[next..<next + size]))
            #expect(range == UInt64(next)..<UInt64(next + size))
            next += size
        }
        let state = log.state
        try log.close()

        let stored = try readAll(dir.path)
        #expect(stored.map(\.seq) == (0..<700).map(UInt64.init))
        #expect(stored.map(\.event) == events)
        let hasher = try MerkleHasher()
        #expect(state.treeSize == 700)
        #expect(state.root == referenceRoot(stored.map(\.leafHash)[...], hasher))
        let stats = try AuditLogReader(directory: dir.path).statistics()
        #expect(stats.eventCount == 700 && stats.state == state)
        #expect(stats.segmentCount >= 3, "small segments roll")
        #expect(stats.compressionRatio > 1.5)
    }

    /// The 20-digit file names (FORMAT.md, "Directory layout"), written and read as bytes.
    @Test func fileNamesAreTwentyDigitsAndParseBackExactly() {
        #expect(LogFiles.segmentName(baseSeq: 0) == "00000000000000000000.seg")
        #expect(LogFiles.name(1234, ".checkpoint") == "00000000000000001234.checkpoint")
        #expect(LogFiles.name(UInt64.max, ".idx") == "18446744073709551615.idx")
        var random = SplitMix64(seed: 11)
        for _ in 0..<1000 {
            let number = random.next() >> (random.next() % 64)
            for fileExtension in [".seg", ".idx", ".aix", ".fct", ".checkpoint", ""] {
                let name = LogFiles.name(number, fileExtension)
                #expect(name.utf8.count == 20 + fileExtension.utf8.count)
                let digits = String(number)
                #expect(name == String(repeating: "0", count: 20 - digits.count) + digits + fileExtension)
                #expect(LogFiles.number(ofFileNamed: name, fileExtension: fileExtension) == number)
            }
        }
        for refused in [
            "18446744073709551616.seg", "99999999999999999999.seg", "0000000000000000001a.seg",
            "0000000000000000001.seg", "000000000000000000001.seg", "00000000000000000001.idx",
            "00000000000000000001.segx", "00000000000000000001.sef", "-0000000000000000001.seg",
            "00000000000000000001.se\u{0301}", "",
        ] {
            #expect(LogFiles.baseSeq(ofSegmentNamed: refused) == nil, "\(refused)")
        }
        #expect(LogFiles.baseSeq(ofSegmentNamed: "00000000000000000042.seg") == 42)
        #expect(LogFiles.path("/logs/a", "x.seg") == "/logs/a/x.seg")
        #expect(LogFiles.path("/logs/a/", "x.seg") == "/logs/a/x.seg")
    }

    @Test func reopeningContinuesSeqsAndTheTree() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(400)
        for round in 0..<4 {
            let log = try AuditLog(directory: dir.path, options: smallOptions())
            #expect(log.state.treeSize == UInt64(round * 100))
            let range = try log.append(Array(events[round * 100..<(round + 1) * 100]))
            #expect(range.lowerBound == UInt64(round * 100))
            try log.close()
        }
        let stored = try readAll(dir.path)
        #expect(stored.map(\.event) == events)
        let root = try AuditLogReader(directory: dir.path).statistics().state.root
        #expect(root == referenceRoot(stored.map(\.leafHash)[...], try MerkleHasher()))
    }

    @Test func readerCanStartAtAnySeq() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(300)
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        try log.append(events)
        for start in [0, 1, 57, 150, 299, 300, 1000] {
            let reader = try log.reader.eventIterator(from: UInt64(start))
            var seqs: [UInt64] = []
            while let stored = try reader.next() {
                #expect(stored.event == events[Int(stored.seq)])
                seqs.append(stored.seq)
            }
            #expect(seqs == (min(start, 300)..<300).map(UInt64.init))
        }
        try log.close()
    }

    @Test func concurrentAppendsGetDenseSeqsAndLoseNothing() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        let threads = 8
        let perThread = 150
        let assigned = Locked<[UInt64: String]>([:])
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var generator = sampleEvents(perThread, seed: UInt64(100 + t)).makeIterator()
            var i = 0
            while i < perThread {
                let n = min(1 + i % 3, perThread - i)
                var batch: [AuditEvent] = []
                for _ in 0..<n { batch.append(generator.next()!) }
                let range = try! log.append(batch)
                assigned.withLock { map in
                    for (seq, event) in zip(range, batch) {
                        #expect(map[seq] == nil)
                        map[seq] = event.id
                    }
                }
                i += n
            }
        }
        try log.close()
        let stored = try readAll(dir.path)
        let map = assigned.withLock { $0 }
        #expect(stored.count == threads * perThread)
        #expect(Set(map.keys) == Set((0..<UInt64(threads * perThread))))
        for event in stored { #expect(map[event.seq] == event.event.id) }
    }

    @Test func aSecondWriterIsRefusedUntilTheFirstCloses() throws {
        let dir = try TemporaryDirectory()
        let first = try AuditLog(directory: dir.path)
        #expect {
            _ = try AuditLog(directory: dir.path)
        } throws: { error in
            let e = error as! AuditLogError
            return e.code == .locked && e.description.contains("another writer (process \(getpid()))")
        }
        try first.close()
        let second = try AuditLog(directory: dir.path)
        try second.close()
    }

    @Test func filesAreOwnerOnly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("log")
        let log = try AuditLog(directory: path, options: smallOptions())
        for event in sampleEvents(200) { try log.append(event) }
        try log.close()
        let manager = FileManager.default
        let dirMode = try manager.attributesOfItem(atPath: path)[.posixPermissions] as! Int
        #expect(dirMode == 0o700)
        let names = try manager.contentsOfDirectory(atPath: path)
        #expect(names.count > 2)
        for name in names {
            let mode = try manager.attributesOfItem(atPath: path + "/" + name)[.posixPermissions] as! Int
            #expect(mode == 0o600, "\(name)")
        }
    }

    @Test func anInvalidEventInABatchAppendsNothing() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        var events = sampleEvents(3)
        events[1].ip = "999.1.1.1"
        #expect {
            try log.append(events)
        } throws: { error in
            (error as! AuditLogError).description
                == #"field "ip": event 1 of the batch: "999.1.1.1" is not an IPv4 or IPv6 address"#
        }
        #expect(log.state.treeSize == 0)
        #expect(try log.append(events[0]) == 0)
        try log.close()
        #expect(try readAll(dir.path).map(\.event) == [events[0]])
    }

    /// A large batch is encoded in two halves on two threads: a refused event is still named by its place in the
    /// whole batch, the first one in the batch wins, nothing is appended, and an accepted large batch is stored
    /// exactly, in order, with the facet counts of all its events.
    @Test func aLargeBatchEncodedOnTwoThreadsIsAllOrNothingAndInOrder() throws {
        let dir = try TemporaryDirectory()
        var options = AuditLog.Options()
        options.maxSegmentBytes = 16 << 10  // the next commit seals the segment: its facet summary is the batches'
        let log = try AuditLog(directory: dir.path, options: options)
        var events = sampleEvents(3 * PendingBatch.minimumToSplit, seed: 41)
        let late = events.count - 10
        for bad in [[late], [20, late], [events.count / 2]] {
            var batch = events
            for i in bad { batch[i].ip = "999.1.1.1" }
            #expect {
                try log.append(batch)
            } throws: { error in
                (error as! AuditLogError).description
                    == #"field "ip": event \#(bad[0]) of the batch: "999.1.1.1" is not an IPv4 or IPv6 address"#
            }
            #expect(log.state.treeSize == 0)
        }
        #expect(try log.append(events) == 0..<UInt64(events.count))
        let extra = sampleEvents(1, seed: 42)[0]
        _ = try log.append(extra)
        events.append(extra)
        #expect(try segmentPaths(dir.path).count == 2)
        try log.close()
        #expect(try readAll(dir.path).map(\.event) == events)
        for field in [FacetField.action, .actor, .project] {
            let counted = try AuditLogReader(directory: dir.path).facets(field).values
            let expected = Dictionary(
                grouping: events,
                by: { event -> String? in
                    switch field {
                    case .action: event.action
                    case .actor: event.actor.id
                    default: event.project?.id
                    }
                }
            ).compactMapValues { UInt64($0.count) }
            #expect(
                Dictionary(uniqueKeysWithValues: counted.map { ($0.value, $0.count) })
                    == expected.reduce(into: [:]) { if let key = $1.key { $0[key] = $1.value } },
                "\(field)")
        }
    }

    /// A commit of many blocks compresses each full block on the helper thread while the next is built: the blocks
    /// land in order at the offsets the block index gives (the index equals one rebuilt from the blocks), every
    /// event reads back, and the log verifies; also when another thread's large batch holds the helper.
    @Test func commitsOfManyBlocksCompressedBesideTheNextAreExact() throws {
        let dir = try TemporaryDirectory()
        var options = AuditLog.Options()
        options.maxBlockBytes = 8 << 10
        options.maxSegmentBytes = 1 << 20
        let log = try AuditLog(directory: dir.path, options: options)
        let events = sampleEvents(6_000, seed: 43)
        let chunks = Array(events.chunked(1_000))
        // Two threads at once, so that batch encoding and block compression compete for the helper.
        let done = DispatchGroup()
        let ranges = Locked<[Range<UInt64>: Int]>([:])
        for part in 0..<2 {
            done.enter()
            Thread {
                for c in stride(from: part, to: chunks.count, by: 2) {
                    if let range = try? log.append(Array(chunks[c])) { ranges.withLock { $0[range] = c } }
                }
                done.leave()
            }.start()
        }
        done.wait()
        let appended = ranges.withLock { $0 }
        #expect(appended.count == chunks.count)
        try log.close()
        let stored = try readAll(dir.path).map(\.event)
        for (range, c) in appended {
            #expect(Array(stored[Int(range.lowerBound)..<Int(range.upperBound)]) == Array(chunks[c]))
        }
        for segment in try segmentPaths(dir.path) {
            let base = LogFiles.baseSeq(ofSegmentNamed: URL(fileURLWithPath: segment).lastPathComponent)!
            let rebuilt = try SegmentIndex(directory: dir.path, baseSeq: base, path: segment)
            let file = SegmentIndexFiles.blockIndexPath(directory: dir.path, baseSeq: base)
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: file))) == (try rebuilt.encodedBlockIndex()))
        }
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid, "\(report.problems)")
    }

    @Test func appendAfterCloseIsRefused() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        try log.close()
        #expect { try log.append(sampleEvents(1)) } throws: { ($0 as! AuditLogError).code == .closed }
    }

    @Test(arguments: [AuditLog.Durability.sync, .interval(.milliseconds(5)), .none])
    func everyDurabilityModeStoresEverything(durability: AuditLog.Durability) throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(300)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: durability))
        for chunk in stride(from: 0, to: 300, by: 30) { try log.append(Array(events[chunk..<chunk + 30])) }
        if case .interval = durability { usleep(20_000) }  // let the flusher run at least once
        try log.close()
        #expect(try readAll(dir.path).map(\.event) == events)
    }

    @Test func aReaderSeesACommittedPrefixWhileTheWriterAppends() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(600)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        let done = Atomic<Bool>(false)
        let reads = Atomic<Int>(0)
        let thread = Thread {
            while !done.load(ordering: .acquiring) {
                let stored = try! readAll(dir.path)
                for (i, s) in stored.enumerated() {
                    #expect(s.seq == UInt64(i))
                    #expect(s.event == events[i])
                }
                reads.add(1, ordering: .relaxed)
            }
        }
        thread.start()
        for chunk in stride(from: 0, to: 600, by: 6) { try log.append(Array(events[chunk..<chunk + 6])) }
        while reads.load(ordering: .relaxed) < 3 { usleep(1000) }
        done.store(true, ordering: .releasing)
        try log.close()
        #expect(try readAll(dir.path).count == 600)
    }

    @Test func aLogDroppedWithoutCloseReleasesItsLockAndKeepsItsEvents() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(50)
        for durability in [AuditLog.Durability.interval(.milliseconds(1000)), .sync] {
            do {
                let log = try AuditLog(directory: dir.path, options: smallOptions(durability: durability))
                try log.append(events)
            }
            // The lock is free again, and everything appended is there.
            let reopened = try AuditLog(directory: dir.path)
            try reopened.close()
        }
        #expect(try readAll(dir.path).map(\.event) == events + events)
    }

    @Test func parentDirectoryNamesAreFound() {
        #expect(FileSystem.parent(of: "/var/lib/audit") == "/var/lib")
        #expect(FileSystem.parent(of: "/var/lib/audit/") == "/var/lib")
        #expect(FileSystem.parent(of: "/audit") == "/")
        #expect(FileSystem.parent(of: "audit") == ".")
        #expect(FileSystem.parent(of: "a/b") == "a")
    }

    @Test func optionsOutOfRangeAreRefused() throws {
        let dir = try TemporaryDirectory()
        var options = AuditLog.Options()
        options.maxSegmentBytes = 10
        #expect { _ = try AuditLog(directory: dir.path, options: options) } throws: {
            ($0 as! AuditLogError).code == .invalidArgument
        }
    }
}
