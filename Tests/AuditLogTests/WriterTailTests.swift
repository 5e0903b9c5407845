import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Open after a clean close (TAIL)")
struct WriterTailTests {
    /// A closed log of `count` events in small blocks (one segment), written in chunks of 25.
    func closedLog(_ count: Int, in dir: TemporaryDirectory) throws -> [AuditEvent] {
        var generator = SampleEventGenerator(seed: 9)
        let events = generator.events(count)
        var options = AuditLog.Options(durability: .none)
        options.maxBlockBytes = 2 << 10
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in events.chunked(25) { try log.append(chunk) }
        try log.close()
        return events
    }

    func segment(_ dir: TemporaryDirectory) throws -> String {
        try #require(try segmentPaths(dir.path).last)
    }

    @Test func aCleanCloseRecordsWhereTheBlocksEndAndTheNextOpenStartsThere() throws {
        let dir = try TemporaryDirectory()
        let events = try closedLog(300, in: dir)
        let tail = try #require(WriterTail.read(directory: dir.path))
        let path = try segment(dir)
        #expect(tail.validEnd == FileSystem.fileSize(path))
        #expect(tail.blockCount > 10)
        #expect(tail.inode == FileSystem.inode(path))
        let expected = try AuditLogReader(directory: dir.path).state()

        // Damage a block well before the tail (the second: the first holds the dictionary the next commit reads):
        // open trusts what a clean close recorded and does not read it ...
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let file = try SegmentFile.open(path: path, baseSeq: 0)
        guard case .block(let first) = try file.entry(at: Int64(file.headerSize), fileSize: Int64(bytes.count)) else {
            Issue.record("no first block")
            return
        }
        let secondBlock = file.headerSize + first.totalLength
        bytes[secondBlock + 200] ^= 0x40
        try FileHandle(forUpdating: URL(fileURLWithPath: path)).write(contentsOf: bytes)
        let log = try AuditLog(directory: dir.path)
        #expect(log.state == expected)
        #expect(!log.recoveryReport.repaired)
        try log.append(events[0])
        try log.close()
        // ... verification does, and says where.
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(!report.isValid)
        #expect(report.problems.contains { $0.kind == .modified && $0.offset == Int64(secondBlock) })
        // Without the tail, open reads every block and refuses the damaged segment, as before.
        try FileSystem.remove(WriterTail.path(directory: dir.path))
        #expect(throws: AuditLogError.self) { try AuditLog(directory: dir.path) }
    }

    /// After a clean close, open checks the active segment's block index by its last entry only (found from the end
    /// of the file): it leaves the
    /// file as it is (a damaged entry before it is the readers' to find, and they still answer right), appends
    /// after it, and the actor index of the segment it then seals comes from the maintenance thread, equal to one
    /// built from the blocks. An index that does not end at the last block is rewritten whole, as before.
    @Test func openChecksTheBlockIndexByItsLastEntryAfterACleanClose() throws {
        let dir = try TemporaryDirectory()
        let events = try closedLog(300, in: dir)
        let indexPath = SegmentIndexFiles.blockIndexPath(directory: dir.path, baseSeq: 0)
        let written = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        // Damage the actor hash of the first entry's first record (its checksum no longer holds) and its length
        // field (the entries no longer follow each other from the start): open finds the last entry from the end.
        var damaged = written
        damaged[SegmentIndexFiles.entryFixedSize] ^= 0xFF
        damaged[0] ^= 0x01
        try damaged.write(to: URL(fileURLWithPath: indexPath))
        var options = AuditLog.Options(durability: .none)
        options.maxBlockBytes = 2 << 10
        options.maxSegmentBytes = 64 << 10
        var log: AuditLog? = try AuditLog(directory: dir.path, options: options)
        #expect(try Data(contentsOf: URL(fileURLWithPath: indexPath)) == damaged, "left as it was")
        // Readers do not trust the damaged entry: every actor's events are found.
        let actor = events[0].actor.id
        let page = try log!.reader.events(matching: Query(actorIDs: [actor], order: .oldestFirst, limit: 1000))
        #expect(page.events.map(\.event.id) == events.filter { $0.actor.id == actor }.map(\.id))
        // Appends go on after the last entry; the segment fills up and is sealed.
        var generator = SampleEventGenerator(seed: 11)
        let more = generator.events(400)
        for chunk in more.chunked(20) { try log!.append(chunk) }
        #expect(try segmentPaths(dir.path).count >= 2)
        log!.writer.writeMissingSummaries()  // what its maintenance thread does after each seal
        try log!.close()
        log = nil
        let actorIndex = SegmentIndexFiles.actorIndexPath(directory: dir.path, baseSeq: 0)
        let segment = try #require(try segmentPaths(dir.path).first)
        let rebuilt = try SegmentIndex(directory: dir.path, baseSeq: 0, path: segment)
        #expect(rebuilt.sealed)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: actorIndex))) == (try rebuilt.encodedActorIndex()))
        let all = events + more
        let reader = try AuditLogReader(directory: dir.path)
        for someone in Set(all.prefix(50).map(\.actor.id)) {
            let found = try reader.events(matching: Query(actorIDs: [someone], order: .oldestFirst, limit: 1000))
            #expect(found.events.map(\.event.id) == all.filter { $0.actor.id == someone }.map(\.id))
        }

        // An index with one entry too many, or cut inside its last entry, is rewritten to match the blocks.
        let other = try TemporaryDirectory()
        _ = try closedLog(300, in: other)
        let otherIndex = SegmentIndexFiles.blockIndexPath(directory: other.path, baseSeq: 0)
        let exact = try Data(contentsOf: URL(fileURLWithPath: otherIndex))
        for wrong in [exact + exact.suffix(from: exact.count - 200), exact.prefix(exact.count - 3)] {
            try wrong.write(to: URL(fileURLWithPath: otherIndex))
            try AuditLog(directory: other.path).close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: otherIndex)) == exact)
        }
    }

    /// Blocks of many records have `.idx` entries longer than what open reads from the end of the file (16 KiB):
    /// open then looks for them in the whole file, and still leaves it as it is (same inode: not rewritten).
    @Test func openFindsALastIndexEntryLongerThanItsReadInTheWholeFile() throws {
        let dir = try TemporaryDirectory()
        var generator = SampleEventGenerator(seed: 12)
        let events = generator.events(3_000)
        var options = AuditLog.Options(durability: .none)
        options.maxBlockBytes = 4 << 20
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in events.chunked(1_500) { try log.append(chunk) }
        try log.close()
        let indexPath = SegmentIndexFiles.blockIndexPath(directory: dir.path, baseSeq: 0)
        let written = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        #expect(written.count > 2 * (16 << 10), "two entries of 1,500 records each")
        let inode = FileSystem.inode(indexPath)
        let reopened = try AuditLog(directory: dir.path, options: options)
        #expect(FileSystem.inode(indexPath) == inode, "the index was rewritten")
        try reopened.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: indexPath)) == written)
        // A damaged last entry is still found, by either way, and the file rewritten from the blocks.
        var damaged = written
        damaged[damaged.count - 1] ^= 0x01
        try damaged.write(to: URL(fileURLWithPath: indexPath))
        try AuditLog(directory: dir.path, options: options).close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: indexPath)) == written)
    }

    @Test func appendsAfterATailContinueExactlyAndATornWriteAfterItIsCut() throws {
        let dir = try TemporaryDirectory()
        let events = try closedLog(200, in: dir)
        var generator = SampleEventGenerator(seed: 10)
        let more = generator.events(120)
        let log = try AuditLog(directory: dir.path)
        for chunk in more.chunked(30) { try log.append(chunk) }
        try log.close()
        // A torn write after the recorded tail: cut exactly as without a tail.
        let path = try segment(dir)
        let size = try #require(FileSystem.fileSize(path))
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: [UInt8](repeating: 0xA5, count: 777))
        try handle.close()
        let reopened = try AuditLog(directory: dir.path)
        #expect(reopened.recoveryReport.truncatedBytes == 777)
        #expect(FileSystem.fileSize(path) == size)
        try reopened.close()
        // Same state as a full walk, every event in order, and the log verifies.
        let withTail = try AuditLogReader(directory: dir.path).state()
        try FileSystem.remove(WriterTail.path(directory: dir.path))
        let walked = try AuditLog(directory: dir.path)
        #expect(walked.state == withTail)
        #expect(walked.state.treeSize == 320)
        try walked.close()
        #expect(try readAll(dir.path).map(\.event) == events + more)
        #expect(try AuditLogReader(directory: dir.path).verify().isValid)
    }

    @Test(arguments: ["garbage", "other inode", "shorter file", "other root", "other segment"])
    func aTailThatDoesNotDescribeTheSegmentIsIgnored(change: String) throws {
        let dir = try TemporaryDirectory()
        _ = try closedLog(150, in: dir)
        let tailPath = WriterTail.path(directory: dir.path)
        let path = try segment(dir)
        let expected = try AuditLogReader(directory: dir.path).state()
        var tail = try #require(WriterTail.read(directory: dir.path))
        switch change {
        case "garbage":
            try Data([UInt8](repeating: 7, count: WriterTail.size)).write(to: URL(fileURLWithPath: tailPath))
        case "other inode": tail.inode &+= 1
        case "shorter file":
            // The last block is cut off (as if lost): the tail points past the end.
            let last = tail.lastBlockOffset
            try FileHandle(forUpdating: URL(fileURLWithPath: path)).truncate(atOffset: UInt64(last))
        case "other root": tail.lastBlockRoot = [UInt8](repeating: 1, count: 32).withUnsafeBytes { SHA256Hash($0) }
        default: tail.baseSeq += 1
        }
        if change != "garbage" && change != "shorter file" { try tail.write(directory: dir.path) }
        let log = try AuditLog(directory: dir.path)
        if change == "shorter file" {
            #expect(log.state.treeSize < expected.treeSize)
            #expect(log.state == (try AuditLogReader(directory: dir.path).state()))
        } else {
            #expect(log.state == expected)
        }
        var generator = SampleEventGenerator(seed: 3)
        try log.append(generator.events(5))
        try log.close()
        #expect(try AuditLogReader(directory: dir.path).verify().isValid)
    }

    @Test func aTailRoundTripsAndRefusesDamage() {
        let tail = WriterTail(
            baseSeq: 7, inode: 99, validEnd: 4096, blockCount: 3, lastBlockOffset: 2048,
            lastBlockRoot: [UInt8](repeating: 0xAB, count: 32).withUnsafeBytes { SHA256Hash($0) }, minTimestamp: -5,
            maxTimestamp: 77)
        let bytes = tail.encode()
        #expect(bytes.count == WriterTail.size)
        #expect(WriterTail(bytes) == tail)
        for i in stride(from: 0, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[i] ^= 0x10
            #expect(WriterTail(damaged) == nil, "byte \(i)")
        }
    }
}
