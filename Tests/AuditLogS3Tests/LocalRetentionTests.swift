import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLogS3

extension ArchiveTests {
    /// What the CLI prints for each reading command, run on the log directory.
    func readings(_ path: String, active: UInt64) async throws -> [String: String] {
        var outputs: [String: String] = [:]
        for arguments in [
            ["export"], ["query", "--actor", "user_00042", "--limit", "10000", "--format", "jsonl"],
            ["query", "--action", "document.update", "--limit", "50"], ["show", "17"], ["show", "\(active - 1)"],
            ["prove", "17"], ["consistency", "--from", "100"],
        ] {
            let result = try await runProcess(auditlogExecutable(), arguments + ["--dir", path])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            outputs[arguments.joined(separator: " ")] = result.stdout
        }
        return outputs
    }

    @Test("local retention: archived segments leave the disk for stubs, and query/export/show/prove/verify give byte-identical results read from the bucket")
    func evictsArchivedSegments() async throws {
        let dir = try TemporaryDirectory()
        let signer = try NoteSigner.generate(name: "archive.example/evicted")
        let path = try makeLog(dir, count: 3000, signer: signer)
        let sealed = try sealedSegments(path)
        #expect(sealed.count >= 5)
        let activeName = try #require(
            try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }.max())
        let active = try #require(UInt64(activeName.prefix(20)))
        let before = try await readings(path, active: active)
        let statsBefore = try AuditLogReader(directory: path).statistics()
        let verifiedBefore = try AuditLogReader(directory: path).verify(key: signer.verifierKey)
        #expect(verifiedBefore.isValid)

        // Keep the newest two sealed segments and the active one locally: the older ones go once their upload is verified.
        let keep = try (sealed.suffix(2) + [activeName]).reduce(Int64(0)) {
            $0 + Int64(try FileManager.default.attributesOfItem(atPath: "\(path)/\($1)")[.size] as! Int)
        }
        var logOptions = AuditLog.Options()
        logOptions.maxSegmentBytes = 64 << 10
        logOptions.checkpointSigner = signer
        logOptions.archive = try options("evicted")
        logOptions.archive?.localRetention = LocalRetention(maxBytes: keep, cacheBytes: 2 << 20)
        let log = try AuditLog(directory: path, options: logOptions)
        try await waitUntil("the oldest archived segments are evicted") {
            (log.archiveStatus?.evictedSegments ?? 0) >= sealed.count - 2
        }
        #expect(log.archiveStatus?.lastError == nil)
        try await log.close()

        let names = try FileManager.default.contentsOfDirectory(atPath: path)
        let local = names.filter { $0.hasSuffix(".seg") }.sorted()
        let stubs = names.filter { $0.hasSuffix(".evicted") }.sorted()
        #expect(local.count == 3, "two sealed segments and the active one stay: \(local)")
        #expect(stubs == sealed.dropLast(2).map { $0.dropLast(4) + ".evicted" })
        for stub in stubs {
            #expect(names.contains(stub.dropLast(8) + ".idx"), "index files stay local")
            let line = try String(contentsOfFile: "\(path)/\(stub)", encoding: .utf8)
            let object = "fleet/evicted/" + stub.dropLast(8) + ".seg"
            #expect(line.hasPrefix("s3://\(bucket)/fleet evicted "), "\(line)")
            let bytes = try await client.getObject(bucket: bucket, key: object)
            #expect(line == "s3://\(bucket)/fleet evicted \(bytes.count) \(sha256Hex(bytes))\n")
        }

        // Statistics from the evicted segments' footers: the same counts, tree and times.
        let statsAfter = try AuditLogReader(directory: path).statistics()
        #expect(statsAfter.evictedSegments == stubs.count)
        #expect(statsAfter.eventCount == statsBefore.eventCount && statsAfter.blockCount == statsBefore.blockCount)
        #expect(statsAfter.state == statsBefore.state && statsAfter.oldestTimestamp == statsBefore.oldestTimestamp)

        // Another process, with nothing but the directory and the AWS_* variables: the same bytes out.
        let after = try await readings(path, active: active)
        for (command, output) in before { #expect(after[command] == output, "\(command)") }
        let cache = try FileManager.default.contentsOfDirectory(atPath: path + "/archive-cache")
        #expect(!cache.isEmpty)
        let cached = try cache.reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: "\(path)/archive-cache/\($1)")[.size] as! Int) }
        #expect(cached <= 2 << 20 || cache.count == 1, "the cache stays under its bound")

        // In this process (the store registered by the writer): the same verdict, the segments fetched whole.
        let verified = try AuditLogReader(directory: path).verify(key: signer.verifierKey)
        #expect(verified.isValid && verified.treeSize == verifiedBefore.treeSize && verified.root == verifiedBefore.root)
        let keyDir = try TemporaryDirectory()
        let keyFile = keyDir.file("k.vkey")
        try signer.verifierKey.description.write(toFile: keyFile, atomically: true, encoding: .utf8)
        let cliVerify = try await runProcess(auditlogExecutable(), ["verify", path, "--key", keyFile])
        #expect(cliVerify.status == 0, "\(cliVerify.stdout) \(cliVerify.stderr)")

        // An evicted segment deleted from the bucket: verify says which, as it does for a missing file.
        let victim = String(stubs[1].dropLast(8)) + ".seg"
        try await client.deleteObject(bucket: bucket, key: "fleet/evicted/\(victim)")
        let report = try AuditLogReader(directory: path).verify(key: signer.verifierKey)
        #expect(!report.isValid)
        #expect(report.problems.contains { $0.kind == .missingSegment && $0.file == victim }, "\(report.problems)")
        try FileManager.default.removeItem(atPath: path + "/archive-cache")
        let refused = try await runProcess(
            auditlogExecutable(), ["query", "--dir", path, "--limit", "5000"], environment: ["AWS_SECRET_ACCESS_KEY": "wrong"])
        #expect(refused.status == 77 && refused.stderr.contains("cannot fetch s3://\(bucket)/fleet/evicted/"), "\(refused.stderr)")
        let query = try await runProcess(auditlogExecutable(), ["export", "--dir", path])
        #expect(query.status == 69 && query.stderr.contains("\(victim) is missing from the archive"), "\(query.stderr)")
    }

    @Test("a redaction of an evicted segment brings it back local, the redacted bytes are uploaded, and it is evicted again")
    func redactsEvictedSegments() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir, count: 2000)
        var logOptions = AuditLog.Options()
        logOptions.maxSegmentBytes = 64 << 10
        logOptions.archive = try options("redacted-evicted")
        logOptions.archive?.localRetention = LocalRetention(maxBytes: 1)
        let log = try AuditLog(directory: path, options: logOptions)
        let sealed = try sealedSegments(path)
        try await waitUntil("every sealed segment is evicted") { log.archiveStatus?.evictedSegments == sealed.count }
        let first = try #require(sealed.first)
        #expect(!FileManager.default.fileExists(atPath: "\(path)/\(first)"))
        let original = try log.reader.event(seq: 3)
        let redaction = try log.redact(.events([3]), reason: "test")
        #expect(redaction.recordsRedacted == 1)
        #expect(try log.reader.event(seq: 3).redaction != nil && original.redaction == nil)
        // The rewritten segment is local until it is uploaded and evicted again (the next seal or check runs it).
        try await log.append(sampleEvents(400, seed: 3))
        try await waitUntil("the redacted segment is uploaded and evicted again") {
            !FileManager.default.fileExists(atPath: "\(path)/\(first)") && log.archiveStatus?.pendingSegments == 0
        }
        let stored = try await client.getObject(bucket: bucket, key: "fleet/redacted-evicted/\(first)")
        let stub = try String(contentsOfFile: "\(path)/\(first.dropLast(4)).evicted", encoding: .utf8)
        #expect(stub.hasSuffix(" \(sha256Hex(stored))\n"))
        #expect(try log.reader.event(seq: 3).redaction != nil)
        try await log.close()
        #expect(try AuditLogReader(directory: path).verify().isValid)
    }
}

extension ArchiveTests {
    @Test("a writer killed between writing a stub and removing the segment file: both stay, readers read the file, and the next pass finishes")
    func evictionCrash() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir, count: 2000)
        let sealed = try sealedSegments(path)
        let export = try await runProcess(auditlogExecutable(), ["export", "--dir", path])
        // (Under `timeout`: a server that does not reach the crash point would serve forever.)
        let crashed = try await runProcess(
            "/usr/bin/timeout",
            [
                "120", auditlogExecutable(), "serve", "--dir", path, "--listen", "127.0.0.1:0", "--archive", "s3://\(bucket)/crash",
                "--archive-log-id", "crash", "--keep-local", "1",
            ], environment: ["AUDITLOG_CRASH_AT": "stub-written"])
        #expect(crashed.status == 86, "\(crashed.stderr)")
        let first = try #require(sealed.first)
        let stub = "\(path)/\(first.dropLast(4)).evicted"
        #expect(FileManager.default.fileExists(atPath: "\(path)/\(first)") && FileManager.default.fileExists(atPath: stub))
        let again = try await runProcess(auditlogExecutable(), ["export", "--dir", path])
        #expect(again.status == 0 && again.stdout == export.stdout)

        var logOptions = AuditLog.Options()
        logOptions.maxSegmentBytes = 64 << 10
        logOptions.archive = try options("crash", prefix: "crash")
        logOptions.archive?.localRetention = LocalRetention(maxBytes: 1)
        let log = try AuditLog(directory: path, options: logOptions)
        try await waitUntil("every sealed segment is evicted") { log.archiveStatus?.evictedSegments == sealed.count }
        try await log.close()
        #expect(!FileManager.default.fileExists(atPath: "\(path)/\(first)"))
        let last = try await runProcess(auditlogExecutable(), ["export", "--dir", path])
        #expect(last.status == 0 && last.stdout == export.stdout, "\(last.stderr)")
    }
}

extension ArchiveTests {
    @Test("retention on the archive removes every version of what retention removed, keeps what object lock protects (a direct DeleteObject of it is refused too), and the log records both")
    func archiveRetention() async throws {
        let dir = try TemporaryDirectory()
        let signer = try NoteSigner.generate(name: "archive.example/retained")
        // The oldest segments are archived under a one-day COMPLIANCE lock, the newer ones without.
        let path = try makeLog(dir, count: 1200, signer: signer)
        let locked = try sealedSegments(path)
        #expect(locked.count >= 2)
        _ = try await onThread { [self] in try LogArchiver(directory: path, options: try options("retained", retainDays: 1)).run() }
        var more = AuditLog.Options()
        more.maxSegmentBytes = 64 << 10
        more.checkpointSigner = signer
        let writer = try AuditLog(directory: path, options: more)
        for chunk in sampleEvents(2000, seed: 11).chunked(250) { try await writer.append(chunk) }
        try await writer.close()
        _ = try await onThread { [self] in try LogArchiver(directory: path, options: try options("retained")).run() }
        let sealed = try sealedSegments(path)
        let unlocked = sealed.filter { !locked.contains($0) }
        #expect(unlocked.count >= 3)

        // Retention of every sealed segment (all archived), then on the archive (as the CLI does it).
        let result = try await runProcess(
            auditlogExecutable(),
            [
                "retention", "--dir", path, "--max-bytes", "1", "--archive", "s3://\(bucket)/fleet",
                "--archive-log-id", "retained", "--json",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        struct Output: Decodable {
            var segmentsRemoved: [String]
            var archive: ArchiveRetentionResult?
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        #expect(output.segmentsRemoved == sealed)
        let archived = try #require(output.archive)
        #expect(archived.segmentsKept == locked)
        #expect(archived.segmentsRemoved == unlocked)
        #expect(archived.keptUntil != nil)
        let eventSeq = try #require(archived.eventSeq)

        // What the bucket holds now: every version of the removed segments' objects is gone; the locked ones stay.
        let remaining = try await client.listObjectVersions(bucket: bucket, prefix: "fleet/retained/")
        for segment in unlocked {
            let base = segment.dropLast(4)
            for suffix in [".seg", ".idx", ".aix", ".fct"] {
                #expect(!remaining.contains { $0.key == "fleet/retained/\(base)\(suffix)" }, "\(segment)")
            }
        }
        for segment in locked {
            #expect(remaining.contains { $0.key == "fleet/retained/\(segment)" && !$0.isDeleteMarker })
            let version = try #require(remaining.first { $0.key == "fleet/retained/\(segment)" }?.versionID)
            await #expect(throws: S3Error.self) {
                try await client.deleteObject(bucket: bucket, key: "fleet/retained/\(segment)", versionID: version)
            }
        }

        // The record: an auditlog.archive.retention event by system/auditlog, in a log that still verifies.
        let event = try AuditLogReader(directory: path).event(seq: eventSeq)
        #expect(event.event.action == "auditlog.archive.retention")
        let metadata = try #require(event.event.metadata?.text)
        #expect(metadata.contains("\"segmentsKeptLocked\":\(locked.count)"), "\(metadata)")
        #expect(metadata.contains("\"segmentsRemoved\":\(unlocked.count)"), "\(metadata)")
        #expect(try AuditLogReader(directory: path).verify(key: signer.verifierKey).isValid)

        // A second pass finds only locked objects: nothing removed, nothing recorded again.
        let again = try await runProcess(
            auditlogExecutable(),
            ["retention", "--dir", path, "--max-bytes", "1", "--archive", "s3://\(bucket)/fleet", "--archive-log-id", "retained"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("kept \(locked.count) segment(s) under object lock until"), "\(again.stdout)")
        #expect(!again.stdout.contains("recorded as event"), "\(again.stdout)")
    }
}

extension ArchiveTests {
    @Test("a writer with a retention policy and an archive applies retention to both in the background")
    func backgroundArchiveRetention() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir, count: 2000)
        let sealed = try sealedSegments(path)
        var logOptions = AuditLog.Options()
        logOptions.maxSegmentBytes = 64 << 10
        logOptions.archive = try options("aged")
        logOptions.retention = RetentionPolicy(maxBytes: 1)
        let log = try AuditLog(directory: path, options: logOptions)
        // At open: every sealed segment uploaded, then removed locally (all are archived), then from the archive.
        var recorded: StoredEvent?
        try await waitUntil("the archive retention event is committed") {
            recorded = try? log.reader.events(matching: Query(actions: ["auditlog.archive.retention"], limit: 1)).events.first
            return recorded != nil
        }
        #expect(log.archiveStatus?.lastError == nil)
        try await log.close()
        let metadata = try #require(recorded?.event.metadata?.text)
        #expect(metadata.contains("\"segmentsRemoved\":\(sealed.count)") && metadata.contains("\"segmentsKeptLocked\":0"))
        let left = try await client.listObjectVersions(bucket: bucket, prefix: "fleet/aged/")
        #expect(!left.contains { $0.key.hasSuffix(".seg") }, "\(left.map(\.key))")
        #expect(try AuditLogReader(directory: path).verify().isValid)
    }
}
