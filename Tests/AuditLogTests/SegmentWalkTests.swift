import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// Every reader of a segment walks it with ``SegmentWalker``, and decisions are made from typed damage, not from
/// message text.
@Suite("Segment walk")
struct SegmentWalkTests {
    /// A closed log of several segments written in several commits.
    func writeLog(_ dir: TemporaryDirectory, events: Int = 600) throws {
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        for chunk in sampleEvents(events).chunked(40) { try log.append(chunk) }
        try log.close()
    }

    /// Offsets and headers of the blocks of a segment, read with the walker.
    func blocks(_ path: String) throws -> [(offset: Int64, header: BlockHeader)] {
        var walker = try SegmentWalker(file: SegmentFile.open(path: path), checking: .headers)
        var result: [(Int64, BlockHeader)] = []
        while case .block(let header, let offset) = try walker.next() { result.append((offset, header)) }
        return result
    }

    func flipByte(_ path: String, at offset: Int64) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(offset))
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: [byte ^ 0x5A])
        try handle.close()
    }

    /// A last block whose header is whole but whose payload is not (a block being written, or torn) counts for
    /// neither the statistics nor the log state, so `stats` and `prove` agree.
    @Test func statisticsAndStateAgreeOnATornLastBlock() throws {
        let dir = try TemporaryDirectory()
        try writeLog(dir)
        let last = try segmentPaths(dir.path).last!
        let lastBlocks = try blocks(last)
        #expect(lastBlocks.count >= 2)
        let (offset, header) = lastBlocks.last!
        try flipByte(last, at: offset + Int64(header.totalLength) - 10)

        let state = try AuditLogReader(directory: dir.path).state()
        let stats = try AuditLogReader(directory: dir.path).statistics()
        #expect(state.treeSize == header.firstSeq)
        #expect(stats.state == state)
        #expect(stats.eventCount == header.firstSeq)
    }

    /// A block that does not start at the seq after the previous one ends the walk for every reader.
    @Test func statisticsStopAtASeqDiscontinuity() throws {
        let dir = try TemporaryDirectory()
        try writeLog(dir)
        let last = try segmentPaths(dir.path).last!
        let lastBlocks = try blocks(last)
        #expect(lastBlocks.count >= 3)
        // Remove the middle block: the next one no longer continues the seqs.
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: last)))
        let (offset, header) = lastBlocks[1]
        bytes.removeSubrange(Int(offset)..<Int(offset) + header.totalLength)
        try Data(bytes).write(to: URL(fileURLWithPath: last))

        let state = try AuditLogReader(directory: dir.path).state()
        let stats = try AuditLogReader(directory: dir.path).statistics()
        #expect(state.treeSize == header.firstSeq)
        #expect(stats.state == state)
        var walker = try SegmentWalker(file: SegmentFile.open(path: last), checking: .blocks)
        _ = try walker.next()
        guard case .damaged(let damage) = try walker.next() else {
            Issue.record("the walk went past the gap")
            return
        }
        #expect(damage.kind == .seqDiscontinuity(expected: header.firstSeq, found: header.endSeq))
        #expect(damage.offset == offset)
    }

    /// A sealed segment cut short inside its footer, followed by further segments, was cut short: `truncated`,
    /// whatever the wording of the footer's error (the verdict once depended on the words "past the end").
    @Test func aSealedSegmentCutInsideItsFooterIsTruncated() throws {
        let dir = try TemporaryDirectory()
        try writeLog(dir)
        let segments = try segmentPaths(dir.path)
        #expect(segments.count >= 3)
        let size = try FileManager.default.attributesOfItem(atPath: segments[0])[.size] as! Int
        #expect(truncate(segments[0], off_t(size - 10)) == 0)

        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.problems.map(\.kind) == [.truncated], "\(report.problems)")
        #expect(report.problems.first?.offset == Int64(size - SegmentFooter.size))
        let cli = try runAuditlog(["verify", dir.path, "--json"])
        #expect(cli.status == 1)
        #expect(cli.stdout.contains(#""kind":"truncated""#))
    }

    /// A segment file renamed to another segment's name: the base seq is at byte 12 of the header (FORMAT.md,
    /// "Segment header"), and that is where readers and the verifier say the problem is.
    @Test func aMisnamedSegmentIsReportedAtTheBaseSeqField() throws {
        let dir = try TemporaryDirectory()
        try writeLog(dir)
        let segments = try segmentPaths(dir.path)
        #expect(segments.count >= 3)
        // Swap the second and third segment files.
        try FileManager.default.moveItem(atPath: segments[1], toPath: segments[1] + ".x")
        try FileManager.default.moveItem(atPath: segments[2], toPath: segments[1])
        try FileManager.default.moveItem(atPath: segments[1] + ".x", toPath: segments[2])

        let report = try AuditLogReader(directory: dir.path).verify()
        let reordered = report.problems.filter { $0.kind == .reordered }
        #expect(!reordered.isEmpty)
        #expect(reordered.allSatisfy { $0.offset == 12 && $0.length == 8 }, "\(reordered)")
        do {
            _ = try readAll(dir.path)
            Issue.record("a misnamed segment was read")
        } catch let error as AuditLogError {
            #expect(error.code == .corrupt)
            #expect(error.offset == 12)
        }
    }

    /// The format version decides `unsupported_format`; a damaged header is `corrupt`.
    @Test func aNewerFormatVersionIsUnsupportedAndDamageIsCorrupt() throws {
        let dir = try TemporaryDirectory()
        try writeLog(dir, events: 50)
        let segment = try segmentPaths(dir.path)[0]
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: segment)))
        let original = bytes
        // Version 9, with the header checksum made valid again, as a newer writer would write it.
        bytes.storeLittleEndian(UInt16(9), at: 8)
        let header = try original.withUnsafeBytes { try SegmentHeader.decode($0) }
        let crcOffset = header.encodedSize - 4
        bytes.storeLittleEndian(CRC32C.checksum(Array(bytes[0..<crcOffset])), at: crcOffset)
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        #expect(try openingError(segment)?.code == .unsupportedFormat)

        // A flipped bit in the base seq (checksum left alone): damage.
        var damaged = original
        damaged[13] ^= 1
        try Data(damaged).write(to: URL(fileURLWithPath: segment))
        #expect(try openingError(segment)?.code == .corrupt)
    }

    func openingError(_ path: String) throws -> AuditLogError? {
        do {
            _ = try SegmentFile.open(path: path)
            return nil
        } catch {
            return error
        }
    }
}
