import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Crash recovery")
struct RecoveryTests {
    /// A log of three commits (10, 10 and 1 events) in one segment, and where the last commit starts.
    struct ThreeCommits {
        var events: [AuditEvent]
        var segment: [UInt8]
        var segmentName: String
        var lastCommitOffset: Int
        var secondCommitOffset: Int
    }

    func threeCommits(in dir: TemporaryDirectory) throws -> ThreeCommits {
        let events = sampleEvents(21)
        let log = try AuditLog(directory: dir.path)
        let path = try #require(try segmentPaths(dir.path).first)
        let afterFirst = try #require(FileSystem.fileSize(path))
        try log.append(Array(events[0..<10]))
        let afterSecond = try #require(FileSystem.fileSize(path))
        try log.append(Array(events[10..<20]))
        let beforeLast = try #require(FileSystem.fileSize(path))
        try log.append(events[20])
        try log.close()
        _ = afterFirst
        return ThreeCommits(
            events: events, segment: Array(try Data(contentsOf: URL(fileURLWithPath: path))),
            segmentName: (path as NSString).lastPathComponent, lastCommitOffset: Int(beforeLast),
            secondCommitOffset: Int(afterSecond))
    }

    /// A fresh log directory holding `segment` as its only segment.
    func directory(with segment: [UInt8], named name: String) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try Data(segment).write(to: URL(fileURLWithPath: dir.file(name)))
        return dir
    }

    @Test(.tags(.slow), .skippedInFastRuns) func aTornLastCommitIsCutAtEveryByteOffset() throws {
        let source = try TemporaryDirectory()
        let log = try threeCommits(in: source)
        #expect(log.segment.count - log.lastCommitOffset > 300)
        for cut in log.lastCommitOffset..<log.segment.count {
            let dir = try directory(with: Array(log.segment[..<cut]), named: log.segmentName)
            let reopened = try AuditLog(directory: dir.path)
            #expect(reopened.state.treeSize == 20, "cut at \(cut)")
            #expect(reopened.recoveryReport.truncatedBytes == Int64(cut - log.lastCommitOffset), "cut at \(cut)")
            if cut % 50 == 0 {
                // The repaired log takes appends and keeps a consistent tree.
                try reopened.append(log.events[20])
                try reopened.close()
                let stored = try readAll(dir.path)
                #expect(stored.map(\.event) == log.events)
                let root = try AuditLogReader(directory: dir.path).statistics().state.root
                #expect(root == referenceRoot(stored.map(\.leafHash)[...], try MerkleHasher()))
            } else {
                try reopened.close()
                #expect(try readAll(dir.path).map(\.event) == Array(log.events[0..<20]))
            }
        }
    }

    @Test(arguments: ["random", "zeros", "duplicate block", "half header"])
    func garbageAfterTheLastBlockIsCut(kind: String) throws {
        let source = try TemporaryDirectory()
        let log = try threeCommits(in: source)
        var garbage: [UInt8]
        switch kind {
        case "random": garbage = (0..<1000).map { _ in UInt8.random(in: 0...255) }
        case "zeros": garbage = [UInt8](repeating: 0, count: 4096)
        case "duplicate block": garbage = Array(log.segment[log.secondCommitOffset..<log.lastCommitOffset])
        default: garbage = Array(log.segment[log.lastCommitOffset..<log.lastCommitOffset + 40])
        }
        let dir = try directory(with: log.segment + garbage, named: log.segmentName)
        let reopened = try AuditLog(directory: dir.path)
        #expect(reopened.state.treeSize == 21)
        #expect(reopened.recoveryReport.truncatedBytes == Int64(garbage.count))
        #expect(reopened.recoveryReport.reason != nil)
        try reopened.close()
        #expect(try readAll(dir.path).map(\.event) == log.events)
        #expect(FileSystem.fileSize(dir.file(log.segmentName)) == Int64(log.segment.count))
    }

    @Test func damageBeforeALaterCommitIsRefusedNotTruncated() throws {
        let source = try TemporaryDirectory()
        let log = try threeCommits(in: source)
        var damaged = log.segment
        let target = (log.secondCommitOffset + log.lastCommitOffset) / 2
        damaged[target] ^= 0x40
        let dir = try directory(with: damaged, named: log.segmentName)
        #expect {
            _ = try AuditLog(directory: dir.path)
        } throws: { error in
            let e = error as! AuditLogError
            return e.code == .corrupt && e.offset == Int64(log.secondCommitOffset)
                && e.description.contains("truncating would lose acknowledged events")
        }
        #expect(FileSystem.fileSize(dir.file(log.segmentName)) == Int64(damaged.count), "nothing was cut")
        // A reader does not mistake it for the end of the log either.
        #expect { _ = try readAll(dir.path) } throws: { ($0 as! AuditLogError).code == .corrupt }
    }

    @Test func aCrashBetweenSealingAndCreatingTheNextSegmentRecovers() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(400)
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        for chunk in stride(from: 0, to: 400, by: 20) { try log.append(Array(events[chunk..<chunk + 20])) }
        try log.close()
        let segments = try segmentPaths(dir.path)
        #expect(segments.count >= 3)
        // The state right after the footer was written and before the next segment existed.
        try FileManager.default.removeItem(atPath: segments.last!)
        let sealedEnd = Int(LogFiles.baseSeq(ofSegmentNamed: (segments.last! as NSString).lastPathComponent)!)
        let reopened = try AuditLog(directory: dir.path, options: smallOptions())
        #expect(reopened.state.treeSize == UInt64(sealedEnd))
        try reopened.append(Array(events[sealedEnd...]))
        try reopened.close()
        #expect(try readAll(dir.path).map(\.event) == events)
        #expect(try segmentPaths(dir.path).count == segments.count)
    }

    @Test func leftoverTemporaryFilesAreRemoved() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        try log.append(sampleEvents(5))
        try log.close()
        let leftover = dir.file("00000000000000000005.seg.tmp")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: leftover))
        let reopened = try AuditLog(directory: dir.path)
        #expect(reopened.recoveryReport.removedTemporaryFiles == ["00000000000000000005.seg.tmp"])
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(reopened.state.treeSize == 5)
        try reopened.close()
    }

    @Test func aDamagedSegmentHeaderIsReportedNotDiscarded() throws {
        let source = try TemporaryDirectory()
        let log = try threeCommits(in: source)
        var damaged = log.segment
        damaged[20] ^= 0xFF
        let dir = try directory(with: damaged, named: log.segmentName)
        #expect { _ = try AuditLog(directory: dir.path) } throws: { error in
            let e = error as! AuditLogError
            return e.code == .corrupt && e.description.contains("bad segment header")
        }
        #expect(FileSystem.fileSize(dir.file(log.segmentName)) == Int64(damaged.count))
    }

    @Test func aTornMultiBlockCommitKeepsItsCompleteBlocks() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(80)
        var options = smallOptions()
        options.maxSegmentBytes = 1 << 20
        let log = try AuditLog(directory: dir.path, options: options)
        try log.append(Array(events[0..<20]))
        let path = try segmentPaths(dir.path)[0]
        let before = Int(FileSystem.fileSize(path)!)
        try log.append(Array(events[20...]))
        try log.close()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(try AuditLogReader(directory: dir.path).statistics().blockCount > 4)
        let cut = before + (bytes.count - before) / 2
        try Data(bytes[..<cut]).write(to: URL(fileURLWithPath: path))
        let reopened = try AuditLog(directory: dir.path, options: options)
        let size = Int(reopened.state.treeSize)
        #expect(size >= 20 && size < 80)
        try reopened.close()
        #expect(try readAll(dir.path).map(\.event) == Array(events[0..<size]))
    }
}
