import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// Format version 2 (blocks of frames against the segment's dictionary, FORMAT.md "Block") beside version 1: a
/// log written by the version 1 writer (`Fixtures/v1-log`) opens, reads, verifies and takes appends; version 2
/// reads single frames, and damage to a frame, its table or the dictionary is found and never read as data.
@Suite("Format versions")
struct FormatVersionTests {
    static let fixtureRoot = "98f77fe4a7ae6f2e07ae81f76b8c506aea3c5588dd71643d73bdf23e1485336f"

    /// A copy of the version 1 fixture, which tests may change.
    func fixtureCopy() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/v1-log")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixture.path) {
            try FileManager.default.copyItem(atPath: fixture.path + "/" + name, toPath: dir.file(name))
        }
        return dir
    }

    /// The events the fixture was written from (SampleEventGenerator seed 7, 399 events, the redaction event, 9 more).
    func fixtureEvents() -> (before: [AuditEvent], after: [AuditEvent], generator: SampleEventGenerator) {
        var generator = SampleEventGenerator(seed: 7)
        let before = generator.events(399)
        let after = generator.events(9)
        return (before, after, generator)
    }

    func version(_ path: String) throws -> UInt16 {
        try SegmentFile.open(path: path).header.version
    }

    /// The headers of a segment's blocks.
    func blockHeaders(_ path: String) throws -> [BlockHeader] {
        let file = try SegmentFile.open(path: path)
        var walker = try SegmentWalker(file: file, checking: .headers)
        var headers: [BlockHeader] = []
        while case .block(let header, _) = try walker.next() { headers.append(header) }
        return headers
    }

    @Test func aVersion1LogOpensReadsVerifiesAndTakesAppends() throws {
        let dir = try fixtureCopy()
        let (before, after, generator) = fixtureEvents()
        let segments = try segmentPaths(dir.path)
        #expect(segments.count == 5)
        for path in segments { #expect(try version(path) == 1) }

        let reader = try AuditLogReader(directory: dir.path)
        #expect(try reader.state().treeSize == 409)
        #expect(try reader.state().root.description == Self.fixtureRoot)
        let stored = try readAll(dir.path)
        #expect(stored.count == 409)
        let redacted = SampleEventGenerator.userID(3)
        for (i, event) in before.enumerated() where event.actor.id != redacted {
            #expect(stored[i].event == event)
        }
        #expect(stored.filter { $0.redaction != nil }.count == before.filter { $0.actor.id == redacted }.count)
        #expect(stored[399].event.action == "auditlog.redaction")
        #expect(Array(stored[400...].map(\.event)) == after)
        #expect(try reader.verify().isValid)
        // An actor's page through the actor index of version 1 segments.
        let actor = before[10].actor.id
        let page = try reader.events(matching: Query(actorIDs: [actor], limit: 1000))
        #expect(page.events.map(\.seq) == stored.filter { $0.event.actor.id == actor }.map(\.seq).reversed())

        // Appends: the version 1 active segment takes version 1 blocks until it is sealed; new segments are
        // version 2, made of frames.
        var options = AuditLog.Options()
        options.maxSegmentBytes = 16 << 10
        options.maxBlockBytes = 4 << 10
        var more = generator
        let appended = more.events(400)
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in appended.chunked(40) { try log.append(chunk) }
        try log.close()

        let all = try readAll(dir.path)
        #expect(all.count == 809)
        #expect(Array(all[409...].map(\.event)) == appended)
        let after2 = try AuditLogReader(directory: dir.path)
        #expect(try after2.verify().isValid)
        for path in try segmentPaths(dir.path) {
            let base = LogFiles.baseSeq(ofSegmentNamed: (path as NSString).lastPathComponent)!
            let headers = try blockHeaders(path)
            if base < 409 {
                #expect(try version(path) == 1)
                #expect(headers.allSatisfy { $0.compression != .frames })
            } else {
                #expect(try version(path) == 2)
                #expect(!headers.isEmpty && headers.allSatisfy { $0.compression == .frames })
            }
        }
        #expect(try segmentPaths(dir.path).count > 7)
    }

    /// A log written in version 2 with blocks of many frames.
    func version2Log(_ dir: TemporaryDirectory, events count: Int = 1200) throws -> [AuditEvent] {
        var options = AuditLog.Options()
        options.maxSegmentBytes = 256 << 10
        options.maxBlockBytes = 32 << 10
        let events = sampleEvents(count, seed: 5)
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in events.chunked(150) { try log.append(chunk) }
        try log.close()
        return events
    }

    @Test func version2BlocksHoldFramesThatAddUpAndPagesReadSingleFrames() throws {
        let dir = try TemporaryDirectory()
        let events = try version2Log(dir)
        let path = try segmentPaths(dir.path)[0]
        let file = try SegmentFile.open(path: path)
        var walker = try SegmentWalker(file: file, checking: .blocks)
        var blocks = 0
        while case .block(let header, _) = try walker.next() {
            blocks += 1
            #expect(header.compression == .frames)
            let start = BlockHeader.size + 32 * Int(header.frontierCount)
            let frames = try walker.block.withUnsafeBytes {
                try BlockFrames.table(
                    UnsafeRawBufferPointer(rebasing: $0[start..<start + Int(header.storedLength)]), header,
                    offset: start)
            }
            #expect(frames.count > 4)
            #expect(frames.reduce(0) { $0 + $1.recordCount } == Int(header.recordCount))
            #expect(frames.allSatisfy { $0.stored.count < $0.uncompressed.count })
            // A frame holds the records that start in one 4 KiB window of the payload, each window its own frame.
            var whole: [UInt8] = []
            var starts: [Int] = []
            var position = 0
            try walker.forEachRecord(header, payload: &whole) { _, record in
                starts.append(position)
                position += varintSize(UInt64(record.count)) + record.count
            }
            #expect(position == Int(header.uncompressedLength))
            for frame in frames {
                let windows = Set(starts[frame.firstRecord..<frame.firstRecord + frame.recordCount].map { $0 / 4096 })
                #expect(windows == [frame.uncompressed.lowerBound / 4096])
            }
            #expect(Set(frames.map { $0.uncompressed.lowerBound / 4096 }).count == frames.count)
            // One frame in the middle, decoded alone against the dictionary, holds the records the whole payload
            // holds there.
            let middle = frames[frames.count / 2]
            var part: [UInt8] = []
            let dictionary = try file.dictionary(for: header)
            let decoded = try dictionary.withUnsafeBytes {
                try BlockDecoder.decompress(
                    walker.block, header, needed: middle.uncompressed, dictionary: $0, into: &part)
            }
            #expect(decoded.bytes == middle.uncompressed)
            #expect(decoded.firstSeq == header.firstSeq + UInt64(middle.firstRecord))
            #expect(Array(part[middle.uncompressed]) == Array(whole[middle.uncompressed]))
        }
        #expect(blocks > 3)
        // Pages by actor (frames) agree with a scan of all events.
        let stored = try readAll(dir.path)
        #expect(stored.map(\.event) == events)
        let reader = try AuditLogReader(directory: dir.path)
        for actor in Set(events.prefix(40).map(\.actor.id)) {
            let page = try reader.events(matching: Query(actorIDs: [actor], limit: 1000))
            #expect(page.events.map(\.seq) == stored.filter { $0.event.actor.id == actor }.map(\.seq).reversed())
        }
        // Storage: frames against the dictionary stay as small as whole blocks would be (ratio under 0.4).
        let statistics = try reader.statistics()
        #expect(Double(statistics.storedPayloadBytes) / Double(statistics.recordBytes) < 0.4)
    }

    /// Bits flipped in a frame, in the frame table (with the block checksum made to hold again, as someone who
    /// knows the format would) or in the first block (the dictionary): verify reports the block modified, and a
    /// reader reports damage instead of returning other records.
    @Test func damageToAFrameItsTableOrTheDictionaryIsFoundAndNeverRead() throws {
        let base = try TemporaryDirectory()
        _ = try version2Log(base, events: 600)
        let path0 = try segmentPaths(base.path)[0]
        let headers = try blockHeaders(path0)
        let file = try SegmentFile.open(path: path0)
        var offsets: [Int] = []
        var offset = file.headerSize
        for header in headers {
            offsets.append(offset)
            offset += header.totalLength
        }
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: path0)))
        let target = 2  // a block after the first
        let payloadStart = offsets[target] + BlockHeader.size + 32 * Int(headers[target].frontierCount)
        let frameCount = Int(original[payloadStart])
        let firstFrame = payloadStart + 4 + BlockFrames.entrySize * frameCount + 4
        let cases: [(name: String, at: Int, block: Int, fixChecksum: Bool)] = [
            ("a frame's bytes", firstFrame + 40, target, false),
            ("a frame's bytes, block checksum recomputed", firstFrame + 40, target, true),
            ("a frame table entry, block checksum recomputed", payloadStart + 4 + 1, target, true),
            ("the dictionary block", offsets[0] + BlockHeader.size + 60, 0, false),
        ]
        for c in cases {
            let dir = try TemporaryDirectory()
            for name in try FileManager.default.contentsOfDirectory(atPath: base.path) {
                try FileManager.default.copyItem(atPath: base.file(name), toPath: dir.file(name))
            }
            let path = try segmentPaths(dir.path)[0]
            var bytes = original
            bytes[c.at] ^= 0x10
            if c.fixChecksum {
                let end = offsets[c.block] + headers[c.block].totalLength - 4
                bytes.storeLittleEndian(CRC32C.checksum(Array(bytes[offsets[c.block]..<end])), at: end)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let reader = try AuditLogReader(directory: dir.path)
            let report = try reader.verify()
            #expect(!report.isValid, "\(c.name)")
            let damaged = headers[c.block]
            #expect(
                report.problems.contains { $0.kind == .modified && $0.offset == Int64(offsets[c.block]) },
                "\(c.name): \(report.problems.map(\.message))")
            // A reader of the damaged block's records fails instead of answering.
            #expect(throws: AuditLogError.self, "\(c.name)") { _ = try reader.event(seq: damaged.firstSeq) }
            if c.block == 0 {
                // Every other block of the segment needs the dictionary.
                #expect(throws: AuditLogError.self) { _ = try reader.event(seq: headers[target].firstSeq) }
            }
        }
    }

    /// Open after a clean close does not read the active segment's first block; the first commit does, for its
    /// dictionary. When that block is damaged the commit fails with the reason and writes nothing (and the writer
    /// stops, as after any failed commit), and verify reports the block.
    @Test func aDamagedDictionaryFailsTheFirstCommitAndWritesNothing() throws {
        let dir = try TemporaryDirectory()
        var options = AuditLog.Options()
        options.maxBlockBytes = 8 << 10
        let events = sampleEvents(200, seed: 8)
        var log = try AuditLog(directory: dir.path, options: options)
        for chunk in events.chunked(50) { try log.append(chunk) }
        try log.close()
        let path = try segmentPaths(dir.path)[0]
        #expect(try blockHeaders(path).count > 3)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let first = try SegmentFile.open(path: path).headerSize
        bytes[first + BlockHeader.size + 200] ^= 0x08
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let size = bytes.count

        log = try AuditLog(directory: dir.path, options: options)
        let state = log.state
        do {
            try log.append(events[0])
            Issue.record("a commit against a damaged dictionary was accepted")
        } catch {
            // As after any failed commit, the writer stops; the reason says what is wrong.
            #expect(error.code == .writerFailed)
            #expect(error.message.contains("first block"), "\(error.message)")
        }
        #expect(log.state == state)
        try? log.close()
        #expect(FileSystem.fileSize(path) == Int64(size))
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.problems.contains { $0.kind == .modified && $0.offset == Int64(first) })
    }

    /// Redacting a record of a segment's first block changes the dictionary of every block after it: all are
    /// compressed again against the new one, and the log still reads and verifies.
    @Test func redactingTheFirstBlockRecompressesTheSegmentAgainstItsNewDictionary() throws {
        let dir = try TemporaryDirectory()
        let events = try version2Log(dir)
        let path = try segmentPaths(dir.path)[0]
        let before = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // A reader that keeps the segment's old dictionary from before the redaction.
        let reader = try AuditLogReader(directory: dir.path)
        let actors = Array(Set(events.prefix(300).map(\.actor.id))).sorted()
        for actor in actors { _ = try reader.events(matching: Query(actorIDs: [actor], limit: 1000)) }
        let log = try AuditLog(directory: dir.path)
        _ = try log.redact(.events([0]), reason: "test: first block")
        try log.close()
        // It reads the rewritten segment with its new dictionary (the file is a new one, even if its inode is not).
        let all = try readAll(dir.path)
        for actor in actors {
            let page = try reader.events(matching: Query(actorIDs: [actor], limit: 1000))
            #expect(page.events == all.filter { $0.event.actor.id == actor }.reversed())
        }
        let after = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        /// Each block's header and stored bytes.
        func blocks(_ bytes: [UInt8]) throws -> [(header: BlockHeader, bytes: ArraySlice<UInt8>)] {
            var blocks: [(header: BlockHeader, bytes: ArraySlice<UInt8>)] = []
            var offset = try bytes.withUnsafeBytes { try SegmentHeader.decode($0).encodedSize }
            while offset + BlockHeader.size <= bytes.count, bytes[offset] == UInt8(ascii: "A"),
                bytes[offset + 2] == UInt8(ascii: "B")
            {
                let h = try bytes[offset..<offset + BlockHeader.size].withUnsafeBytes { try BlockHeader.decode($0) }
                blocks.append((h, bytes[offset..<offset + h.totalLength]))
                offset += h.totalLength
            }
            return blocks
        }
        let old = try blocks(before)
        let new = try blocks(after)
        #expect(old.count > 10)
        // The same blocks (the redaction sealed the segment, which may add one), seqs and roots; the first block
        // changed, and every later one decodes against it (read and verified below). (A later block's bytes may
        // stay the same: its frames need not refer to the redacted record's part of the dictionary.)
        #expect(new.count >= old.count)
        #expect(old[0].bytes != new[0].bytes)
        for (o, n) in zip(old, new) {
            #expect(o.header.root == n.header.root && o.header.firstSeq == n.header.firstSeq)
        }
        let stored = try readAll(dir.path)
        #expect(stored[0].redaction != nil)
        #expect(Array(stored[1..<events.count].map(\.event)) == Array(events[1...]))
        #expect(try AuditLogReader(directory: dir.path).verify().isValid)

        // A second rewrite of the same segment (its new file may get the first one's inode back): the reader's
        // kept views and dictionaries are not used for it.
        let second = try AuditLog(directory: dir.path)
        _ = try second.redact(.events([1, 2]), reason: "test: again")
        try second.close()
        let again = try readAll(dir.path)
        #expect(again[1].redaction != nil && again[2].redaction != nil)
        for actor in actors {
            let page = try reader.events(matching: Query(actorIDs: [actor], limit: 1000))
            #expect(page.events == again.filter { $0.event.actor.id == actor }.reversed())
        }
        let everything = try reader.events(matching: Query(order: .oldestFirst, limit: 10_000))
        #expect(everything.events == again)
    }
}
