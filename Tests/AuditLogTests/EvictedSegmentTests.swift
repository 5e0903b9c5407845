import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// Stubs of evicted segments without a store (the S3 tests read real ones from a real bucket).
@Suite("Evicted segment stubs")
struct EvictedSegmentTests {
    /// A log of several segments whose first segment file is replaced by `stub`.
    func evict(_ stub: String) throws -> (TemporaryDirectory, String) {
        let dir = try TemporaryDirectory()
        var options = AuditLog.Options(durability: .none)
        options.maxSegmentBytes = 16 << 10
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in sampleEvents(300).chunked(50) { try log.append(chunk) }
        try log.close()
        let first = try #require(try LogFiles.segments(in: dir.path).first)
        try FileManager.default.removeItem(atPath: first.path)
        try stub.write(toFile: dir.file("00000000000000000000.evicted"), atomically: true, encoding: .utf8)
        return (dir, first.path)
    }

    @Test("a stub is listed as its segment, and reading it without a store says which segment, where, and what to do")
    func aStubWithoutAStoreIsAClearError() throws {
        let (dir, _) = try evict("s3://nowhere/prefix log-1 16384 \(String(repeating: "ab", count: 32))\n")
        #expect(try LogFiles.segments(in: dir.path).first?.baseSeq == 0)
        let reader = try AuditLogReader(directory: dir.path)
        let error = #expect(throws: AuditLogError.self) { try reader.event(seq: 3) }
        #expect(error?.code == .archiveRefused)
        #expect(error?.message.contains("00000000000000000000.seg is in the archive at s3://nowhere/prefix") == true)
        // Events of the local segments are still read.
        let local = try #require(try LogFiles.segments(in: dir.path).dropFirst().first)
        #expect(try reader.event(seq: local.baseSeq).seq == local.baseSeq)
    }

    @Test("a stub that is not of the format, or whose tag could name a path, is refused with the file named", arguments: [
        "s3://b/p log-1 16384\n", "s3://b/p log-1 -5 abc\n", "s3://b/p log-1 16384 ../../../etc/x\n",
        "s3://b/p log-1 16384 abc", "s3://b/p log-1 16384 a/b\n",
    ])
    func malformedStubsAreRefused(stub: String) throws {
        let (dir, path) = try evict(stub)
        let error = #expect(throws: AuditLogError.self) { try AuditLogReader(directory: dir.path).event(seq: 3) }
        #expect(error?.code == .corrupt)
        #expect(error?.path == String(path.dropLast(4)) + ".evicted")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/archive-cache"))
    }
}
