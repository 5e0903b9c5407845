import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLogS3

/// Archiving sealed segments to a real S3 server (Ceph's gateway, started by scripts/check-s3.sh, which sets
/// AUDITLOG_TEST_S3, the AWS_* variables and AUDITLOG_TEST_S3_STATE, the server's state directory). Serialized: one
/// test pauses the server.
@Suite(
    "Archive to a real S3 server", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["AUDITLOG_TEST_S3"] == "1"))
struct ArchiveTests {
    let client: S3Client
    let bucket: String

    init() async throws {
        client = try S3Client.fromEnvironment()
        bucket = "archive-" + UUID().uuidString.lowercased().prefix(12)
        try await client.createBucket(bucket, objectLock: true)
    }

    func options(_ id: String = "log-1", prefix: String = "fleet", retainDays: Int? = nil, timeout: TimeInterval = 30)
        throws -> ArchiveOptions
    {
        let environment = ProcessInfo.processInfo.environment
        let fast = S3Client(
            endpoint: URL(string: environment["AWS_ENDPOINT_URL"]!)!, region: environment["AWS_REGION"] ?? "us-east-1",
            credentials: .init(
                accessKeyID: environment["AWS_ACCESS_KEY_ID"]!, secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"]!),
            timeout: timeout)
        let store = S3ArchiveStore(client: fast, location: S3Location(bucket: bucket, prefix: prefix))
        return try ArchiveOptions(store: store, logID: id, retainDays: retainDays)
    }

    /// A log of `count` events in segments of about 64 KiB, signed at every seal, closed.
    func makeLog(_ dir: TemporaryDirectory, count: Int = 3000, signer: NoteSigner? = nil) throws -> String {
        var options = AuditLog.Options()
        options.maxSegmentBytes = 64 << 10
        options.checkpointSigner = try signer ?? NoteSigner.generate(name: "archive.example/test")
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in sampleEvents(count).chunked(500) { try log.append(chunk) }
        try log.close()
        return dir.path
    }

    func sealedSegments(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()
            .dropLast().map { $0 }
    }

    /// Every sealed segment (and its index files and seal checkpoint, where present) is in the bucket with exactly
    /// the local bytes, and the journal names each with its SHA-256.
    func expectArchived(_ directory: String, id: String = "log-1", prefix: String = "fleet") async throws {
        let sealed = try sealedSegments(directory)
        #expect(!sealed.isEmpty)
        let journal = try String(contentsOfFile: directory + "/archive.journal", encoding: .utf8)
        for segment in sealed {
            let base = String(segment.dropLast(4))
            var names = [segment]
            for ext in [".idx", ".aix"] where FileManager.default.fileExists(atPath: "\(directory)/\(base)\(ext)") {
                names.append(base + ext)
            }
            for name in names {
                let local = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)")))
                let remote = try await client.getObject(bucket: bucket, key: "\(prefix)/\(id)/\(name)")
                #expect(remote == local, "\(name)")
            }
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(segment)")))
            let line = journal.split(separator: "\n").first { $0.hasPrefix(segment + " ") }
            #expect(line?.split(separator: " ")[1] == Substring(sha256Hex(bytes)), "\(segment)")
        }
        let checkpoints = try await client.listObjects(bucket: bucket, prefix: "\(prefix)/\(id)/").filter {
            $0.key.hasSuffix(".checkpoint")
        }
        #expect(!checkpoints.isEmpty)
    }

    @Test("sealed segments, their index files and seal checkpoints land in the bucket byte for byte; a second run uploads nothing")
    func archiveRun() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir)
        let archiver = LogArchiver(directory: path, options: try options())
        let sealed = try sealedSegments(path)
        #expect(sealed.count >= 3)
        #expect(try archiver.pendingSegments() == sealed)
        let run = try await onThread { try archiver.run() }
        #expect(run.uploaded == sealed && run.alreadyArchived == 0 && run.pending == 0)
        try await expectArchived(path)
        let again = try await onThread { try archiver.run() }
        #expect(again.uploaded.isEmpty && again.alreadyArchived == sealed.count)
        // The CLI sees the same: nothing pending.
        let cli = try await runProcess(
            auditlogExecutable(), ["archive", "--dir", path, "s3://\(bucket)/fleet", "--log-id", "log-1", "--json"])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.contains("\"uploaded\":0,") && cli.stdout.contains("\"alreadyArchived\":\(sealed.count)"))
    }

    @Test("the writer archives each sealed segment in the background, and retention removes only archived ones")
    func backgroundUploads() async throws {
        let dir = try TemporaryDirectory()
        var logOptions = AuditLog.Options()
        logOptions.maxSegmentBytes = 64 << 10
        logOptions.checkpointSigner = try NoteSigner.generate(name: "archive.example/background")
        logOptions.archive = try options("background")
        let log = try AuditLog(directory: dir.path, options: logOptions)
        for chunk in sampleEvents(3000, seed: 7).chunked(250) { try await log.append(chunk) }
        let sealed = try sealedSegments(dir.path)
        try await waitUntil("every sealed segment is archived") {
            log.archiveStatus?.uploadedSegments == sealed.count && log.archiveStatus?.pendingSegments == 0
        }
        #expect(log.archiveStatus?.lastError == nil)
        // Retention past every segment removes what is archived and nothing else.
        let result = try log.applyRetention(RetentionPolicy(maxBytes: 1))
        #expect(result.segmentsRemoved == sealed)
        try await log.close()
        try await expectArchivedObjects(sealed, id: "background")
    }

    func expectArchivedObjects(_ segments: [String], id: String, prefix: String = "fleet") async throws {
        let keys = Set(try await client.listObjects(bucket: bucket, prefix: "\(prefix)/\(id)/").map(\.key))
        for segment in segments { #expect(keys.contains("\(prefix)/\(id)/\(segment)")) }
    }

    @Test("with the server paused, appends go on and uploads wait; once it is back they resume, and retention waits for them")
    func outage() async throws {
        let state = try #require(ProcessInfo.processInfo.environment["AUDITLOG_TEST_S3_STATE"])
        let pid = try #require(
            Int32(try String(contentsOfFile: state + "/rgw.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let dir = try TemporaryDirectory()
        var logOptions = AuditLog.Options()
        logOptions.maxSegmentBytes = 64 << 10
        logOptions.checkpointSigner = try NoteSigner.generate(name: "archive.example/outage")
        logOptions.archive = try options("outage", timeout: 2)
        let log = try AuditLog(directory: dir.path, options: logOptions)
        kill(pid, SIGSTOP)
        var resumed = false
        defer { if !resumed { kill(pid, SIGCONT) } }
        for chunk in sampleEvents(2000, seed: 9).chunked(250) { try await log.append(chunk) }
        let sealed = try sealedSegments(dir.path)
        #expect(sealed.count >= 2)
        try await waitUntil("the archive reports the outage") {
            log.archiveStatus?.lastError?.code == .archiveUnavailable
        }
        #expect(log.archiveStatus?.uploadedSegments == 0)
        // Nothing archived yet: retention removes nothing.
        #expect(try log.applyRetention(RetentionPolicy(maxBytes: 1)).segmentsRemoved.isEmpty)
        kill(pid, SIGCONT)
        resumed = true
        try await waitUntil("uploads resume and finish", seconds: 90) {
            log.archiveStatus?.pendingSegments == 0 && log.archiveStatus?.lastError == nil
                && log.archiveStatus?.uploadedSegments == sealed.count
        }
        try await log.close()
        try await expectArchived(dir.path, id: "outage")
    }

    @Test("auditlog archive killed at random instants and at its crash points: the next run finishes, and the journal only names objects that are whole")
    func killedUploads() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir, count: 6000)
        let arguments = ["archive", "--dir", path, "s3://\(bucket)/fleet", "--log-id", "killed"]
        // A crash right after an upload, before its journal line, then right after a journal line.
        for point in ["segment-uploaded", "archived"] {
            let crashed = try await runProcess(auditlogExecutable(), arguments, environment: ["AUDITLOG_CRASH_AT": point])
            #expect(crashed.status == 86, "\(point): \(crashed.stderr)")
        }
        for _ in 0..<6 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: auditlogExecutable())
            process.arguments = arguments
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...400)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try await expectJournalTruthful(path, id: "killed")
        }
        let final = try await runProcess(auditlogExecutable(), arguments)
        #expect(final.status == 0, "\(final.stderr)")
        try await expectArchived(path, id: "killed")
    }

    /// Every segment the journal names is in the bucket with the SHA-256 the journal gives.
    func expectJournalTruthful(_ directory: String, id: String) async throws {
        guard let journal = try? String(contentsOfFile: directory + "/archive.journal", encoding: .utf8) else { return }
        for line in journal.split(separator: "\n") where line.hasSuffix("/\(id)") {
            let fields = line.split(separator: " ")
            let object = try await client.getObject(bucket: bucket, key: "fleet/\(id)/\(fields[0])")
            #expect(sha256Hex(object) == String(fields[1]), "\(fields[0])")
        }
    }

    @Test("with object lock, every archived object is locked in COMPLIANCE mode and its version cannot be deleted")
    func objectLock() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir)
        let archiver = LogArchiver(directory: path, options: try options("locked", retainDays: 1))
        _ = try await onThread { try archiver.run() }
        let segment = try #require(try sealedSegments(path).first)
        let head = try #require(try await client.headObject(bucket: bucket, key: "fleet/locked/\(segment)"))
        #expect(head.retainUntil != nil)
        let versions = try await objectVersions("fleet/locked/\(segment)")
        #expect(versions.count == 1)
        await #expect(throws: S3Error.self) {
            try await client.deleteObject(bucket: bucket, key: "fleet/locked/\(segment)", versionID: versions[0])
        }
        #expect(try await client.getObject(bucket: bucket, key: "fleet/locked/\(segment)").count > 0)
    }

    /// The version ids of a key, through the AWS CLI (the client lists current objects only).
    func objectVersions(_ key: String) async throws -> [String] {
        let aws = ProcessInfo.processInfo.environment["AUDITLOG_TEST_AWS_CLI"] ?? "/usr/bin/aws"
        let result = try await runProcess(
            aws, ["s3api", "list-object-versions", "--bucket", bucket, "--prefix", key, "--query", "Versions[].VersionId",
                "--output", "text"])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(whereSeparator: { $0 == "\t" || $0 == "\n" }).map(String.init)
    }

    @Test("wrong credentials, a missing bucket and an unreachable server: clear errors and exit codes, nothing recorded")
    func failures() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir, count: 1500)
        let base = ["archive", "--dir", path, "--log-id", "fail"]
        let wrongKey = try await runProcess(
            auditlogExecutable(), base + ["s3://\(bucket)/fleet"], environment: ["AWS_SECRET_ACCESS_KEY": "wrong"])
        #expect(wrongKey.status == 77 && wrongKey.stderr.contains("SignatureDoesNotMatch"), "\(wrongKey.stderr)")
        let noBucket = try await runProcess(auditlogExecutable(), base + ["s3://no-such-bucket-\(bucket)/fleet"])
        #expect(noBucket.status == 77 && noBucket.stderr.contains("NoSuchBucket"), "\(noBucket.stderr)")
        let down = try await runProcess(
            auditlogExecutable(), base + ["s3://\(bucket)/fleet"], environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:9"])
        #expect(down.status == 69 && down.stderr.contains("nothing is lost"), "\(down.stderr)")
        let journal = (try? String(contentsOfFile: path + "/archive.journal", encoding: .utf8)) ?? ""
        #expect(journal.isEmpty)
        let noCredentials = try await runProcess(
            auditlogExecutable(), base + ["s3://\(bucket)/fleet"], environment: ["AWS_ACCESS_KEY_ID": ""])
        #expect(noCredentials.status == 77, "\(noCredentials.stderr)")
    }
}

extension ArchiveTests {
    @Test("verify s3:// reads the bucket alone and classifies tampering exactly as verify does on a copy on disk")
    func verifyFromTheBucket() async throws {
        let dir = try TemporaryDirectory()
        let signer = try NoteSigner.generate(name: "archive.example/audited")
        let verifierKeyText: String? = signer.verifierKey.description
        let path = try makeLog(dir, count: 4000, signer: signer)
        let options = try options("audited")
        _ = try await onThread { try LogArchiver(directory: path, options: options).run() }
        let reader = ArchiveReader(store: options.store, logID: "audited")
        // A copy on disk of what the bucket holds (segments and checkpoints), tampered with in step with it.
        let copy = try TemporaryDirectory()
        let objects = try await client.listObjects(bucket: bucket, prefix: "fleet/audited/")
        var originals: [String: [UInt8]] = [:]
        for object in objects where object.key.hasSuffix(".seg") || object.key.hasSuffix(".checkpoint") {
            let name = String(object.key.split(separator: "/").last!)
            let bytes = try await client.getObject(bucket: bucket, key: object.key)
            originals[name] = bytes
            try Data(bytes).write(to: URL(fileURLWithPath: copy.file(name)))
        }
        let segments = originals.keys.filter { $0.hasSuffix(".seg") }.sorted()
        #expect(segments.count >= 3)
        let checkpoint = try #require(originals.keys.first { $0.hasSuffix(".checkpoint") })

        func put(_ name: String, _ bytes: [UInt8]?) async throws {
            if let bytes {
                try await client.putObject(bucket: bucket, key: "fleet/audited/\(name)", body: bytes)
                try Data(bytes).write(to: URL(fileURLWithPath: copy.file(name)))
            } else {
                try await client.deleteObject(bucket: bucket, key: "fleet/audited/\(name)")
                try FileManager.default.removeItem(atPath: copy.file(name))
            }
        }
        /// The two reports agree: same validity, tree, and problems (kind, file, offset, seq).
        func compare(_ what: String) async throws -> [VerificationReport.ProblemKind] {
            let remote = try await onThread { try reader.verify() }
            let local = try AuditLogReader(directory: copy.path).verify()
            #expect(remote.isValid == local.isValid, "\(what)")
            #expect(remote.treeSize == local.treeSize && remote.root == local.root, "\(what)")
            let shape = { (r: VerificationReport) in r.problems.map { "\($0.kind) \($0.file ?? "") \($0.offset ?? -1) \($0.seq ?? 0)" } }
            #expect(shape(remote) == shape(local), "\(what)")
            return remote.problems.map(\.kind)
        }

        #expect(try await compare("untouched").isEmpty)
        let victim = segments[1]
        var flipped = originals[victim]!
        flipped[flipped.count / 2] ^= 0x01
        try await put(victim, flipped)
        #expect(try await compare("a flipped bit") == [.modified])
        try await put(victim, Array(originals[victim]!.prefix(originals[victim]!.count / 2)))
        #expect(try await compare("a segment cut short").first == .truncated)
        try await put(victim, nil)
        #expect(try await compare("a segment deleted") == [.missingSegment])
        try await put(victim, originals[segments[2]]!)
        #expect(try await compare("another segment under its name").first == .reordered)
        try await put(victim, originals[victim]!)
        var forged = String(decoding: originals[checkpoint]!, as: UTF8.self)
        forged = forged.replacingOccurrences(of: "\n\(forged.split(separator: "\n")[1])\n", with: "\n1\n")
        try await put(checkpoint, Array(forged.utf8))
        let verifierKey = try NoteVerifierKey(try #require(verifierKeyText))
        let remote = try await onThread { try reader.verify(key: verifierKey) }
        let local = try AuditLogReader(directory: copy.path).verify(key: verifierKey)
        #expect(remote.problems.map(\.kind) == local.problems.map(\.kind))
        #expect(remote.problems.map(\.kind).contains(.badSignature))
        try await put(checkpoint, originals[checkpoint]!)
        #expect(try await onThread { try reader.verify(key: verifierKey) }.isValid)

        // The CLI: valid is 0, tampered 1, an unreadable bucket 2 (no verdict).
        let vkeyFile = copy.file("k.vkey")
        try verifierKeyText!.write(toFile: vkeyFile, atomically: true, encoding: .utf8)
        let url = "s3://\(bucket)/fleet/audited"
        var cli = try await runProcess(auditlogExecutable(), ["verify", url, "--key", vkeyFile])
        #expect(cli.status == 0 && cli.stdout.contains("VALID"), "\(cli.stdout)\(cli.stderr)")
        try await put(victim, flipped)
        cli = try await runProcess(auditlogExecutable(), ["verify", url, "--key", vkeyFile])
        #expect(cli.status == 1 && cli.stdout.contains("modified"), "\(cli.stdout)\(cli.stderr)")
        cli = try await runProcess(
            auditlogExecutable(), ["verify", url, "--key", vkeyFile], environment: ["AWS_SECRET_ACCESS_KEY": "wrong"])
        #expect(cli.status == 2 && !cli.stdout.contains("VALID"), "\(cli.stdout)\(cli.stderr)")
        cli = try await runProcess(
            auditlogExecutable(), ["verify", url, "--key", vkeyFile], environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:9"])
        #expect(cli.status == 2 && !cli.stdout.contains("VALID"), "\(cli.stdout)\(cli.stderr)")
    }
}

extension ArchiveTests {
    @Test("a fleet under one prefix: verify --all-logs checks each log with the key named after its origin, one line per log")
    func fleet() async throws {
        let keysDir = try TemporaryDirectory()
        var keyFiles: [String] = []
        var logDirs: [TemporaryDirectory] = []
        var archivedTreeSizes: [UInt64] = []
        for instance in ["orders-1", "orders-2"] {
            let signer = try NoteSigner.generate(name: "fleet.example/\(instance)")
            let dir = try TemporaryDirectory()
            logDirs.append(dir)
            let path = try makeLog(dir, count: 1500, signer: signer)
            // The archive holds the sealed segments: up to the base of the last (active) one.
            let active = try #require(try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }.max())
            archivedTreeSizes.append(try #require(UInt64(active.prefix(20))))
            let keyFile = keysDir.file("\(instance).vkey")
            try signer.verifierKey.description.write(toFile: keyFile, atomically: true, encoding: .utf8)
            keyFiles.append(keyFile)
            let options = try options(ArchiveOptions.logID(origin: signer.name), prefix: "many")
            _ = try await onThread { try LogArchiver(directory: path, options: options).run() }
        }
        let url = "s3://\(bucket)/many"
        var cli = try await runProcess(
            auditlogExecutable(), ["verify", url, "--all-logs", "--key", keyFiles[0], "--key", keyFiles[1]])
        let lines = cli.stdout.split(separator: "\n")
        #expect(cli.status == 0 && lines.count == 2, "\(cli.stdout)\(cli.stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix("ok") })
        #expect(lines[0].contains("fleet.example_orders-1") && lines[1].contains("fleet.example_orders-2"))
        // The fleet's statistics: one object per log, its tree size from its newest segment's footer.
        let stats = try await runProcess(auditlogExecutable(), ["stats", "--archive", url, "--json"])
        #expect(stats.status == 0, "\(stats.stderr)")
        let summaries = try stats.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(ArchiveReader.Summary.self, from: Data($0.utf8))
        }
        #expect(summaries.map(\.logID) == ["fleet.example_orders-1", "fleet.example_orders-2"])
        #expect(summaries.map(\.treeSize) == archivedTreeSizes)
        #expect(summaries.allSatisfy { $0.firstSeq == 0 && $0.segments >= 2 && $0.newestCheckpoint == $0.treeSize })
        // One query over the fleet: pages merged by timestamp, one cursor, every archived event exactly once.
        let cache = try TemporaryDirectory()
        var seen: [String: Set<UInt64>] = [:]
        var order: [(log: String, seq: UInt64)] = []
        var cursor: String?
        var pages = 0
        repeat {
            var arguments = [
                "query", "--archive", url, "--all-logs", "--cache-dir", cache.path, "--limit", "400", "--format", "jsonl",
                "--order", "oldest",
            ]
            if let cursor { arguments += ["--cursor", cursor] }
            let page = try await runProcess(auditlogExecutable(), arguments)
            #expect(page.status == 0, "\(page.stderr)")
            for line in page.stdout.split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let log = try #require(object["log"] as? String)
                let seq = try #require(object["seq"] as? Int)
                #expect(seen[log, default: []].insert(UInt64(seq)).inserted)
                order.append((log, UInt64(seq)))
            }
            cursor = page.stderr.firstMatch(of: /next cursor: (\S+)/).map { String($0.1) }
            pages += 1
        } while cursor != nil && pages < 20
        #expect(pages > 1 && cursor == nil)
        #expect(seen.keys.sorted() == ["fleet.example_orders-1", "fleet.example_orders-2"])
        #expect(seen["fleet.example_orders-1"] == Set(0..<archivedTreeSizes[0]))
        #expect(seen["fleet.example_orders-2"] == Set(0..<archivedTreeSizes[1]))
        // Each log in its own order, the logs interleaved (their events carry the same times: they alternate).
        for log in seen.keys {
            let seqs = order.filter { $0.log == log }.map(\.seq)
            #expect(seqs == seqs.sorted())
        }
        #expect(Set(order.prefix(4).map(\.log)).count == 2)
        // One key only: the other log's signatures cannot be checked, and that is a failure.
        cli = try await runProcess(auditlogExecutable(), ["verify", url, "--all-logs", "--key", keyFiles[0]])
        #expect(cli.status == 1 && cli.stdout.contains("no --key is named after"), "\(cli.stdout)")
        // Damage in one log fails that log's line only.
        let key = "many/fleet.example_orders-2/00000000000000000000.seg"
        var bytes = try await client.getObject(bucket: bucket, key: key)
        bytes[bytes.count / 3] ^= 0x20
        try await client.putObject(bucket: bucket, key: key, body: bytes)
        cli = try await runProcess(
            auditlogExecutable(), ["verify", url, "--all-logs", "--key", keyFiles[0], "--key", keyFiles[1]])
        let after = cli.stdout.split(separator: "\n")
        #expect(cli.status == 1 && after.count == 2, "\(cli.stdout)\(cli.stderr)")
        #expect(after[0].hasPrefix("ok") && after[1].hasPrefix("FAILED") && after[1].contains("modified"))
    }
}

extension ArchiveTests {
    @Test("auditlog serve --archive uploads in the background, logs it, shows it in /metrics, and stops cleanly")
    func serveArchives() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir, count: 2000)
        let sealed = try sealedSegments(path)
        let stderrPath = dir.path + "-serve.err"
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: stderrPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: auditlogExecutable())
        process.arguments = [
            "serve", "--dir", path, "--listen", "127.0.0.1:0", "--archive", "s3://\(bucket)/served",
            "--archive-log-id", "served",
        ]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        func stderr() -> String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
        try await waitUntil("the server uploads every sealed segment", seconds: 60) {
            let journal = (try? String(contentsOfFile: path + "/archive.journal", encoding: .utf8)) ?? ""
            return sealed.allSatisfy { journal.contains("\($0) ") } || !process.isRunning
        }
        try await waitUntil("the server logs it", seconds: 15) { stderr().contains("segment(s), up to ") }
        let port = try #require(stderr().firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/)?.1)
        let metrics = try await runProcess("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/metrics"])
        #expect(metrics.stdout.contains("auditlog_archive_pending_segments 0"), "\(metrics.stdout)")
        #expect(metrics.stdout.contains("auditlog_archive_uploaded_segments_total \(sealed.count)"))
        #expect(metrics.stdout.contains("auditlog_archive_failing 0"))
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(stderr())")
        try await expectArchivedObjects(sealed, id: "served", prefix: "served")
    }
}

extension ArchiveTests {
    @Test("a redaction after archiving makes the rewritten segments pending again: the next run uploads the redacted bytes")
    func redactionReuploads() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir, count: 3000)
        let archiver = LogArchiver(directory: path, options: try options("redacted"))
        _ = try await onThread { try archiver.run() }
        #expect(try archiver.pendingSegments().isEmpty)
        var logOptions = AuditLog.Options()
        logOptions.maxSegmentBytes = 64 << 10
        let log = try AuditLog(directory: path, options: logOptions)
        let first = try log.reader.event(seq: 0)
        let redaction = try log.redact(.events([0]), reason: "erasure request")
        // Enough events after it that the segment holding the redaction event is sealed and archived too.
        while try sealedSegments(path).last.flatMap({ UInt64($0.prefix(20)) }).map({ $0 <= redaction.eventSeq }) ?? true {
            try await log.append(sampleEvents(100, seed: 5))
        }
        try await log.close()
        let segment = try #require(try sealedSegments(path).first)
        #expect(try archiver.pendingSegments().contains(segment))
        let run = try await onThread { try archiver.run() }
        #expect(run.uploaded.contains(segment))
        let local = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(path)/\(segment)")))
        #expect(try await client.getObject(bucket: bucket, key: "fleet/redacted/\(segment)") == local)
        #expect(try AuditLogReader(directory: path).event(seq: 0).redaction != nil && first.redaction == nil)

        // The version from before the redaction restored (the bucket keeps every version): every hash still matches,
        // but the erased data is back; verify says so from the bucket exactly as from a directory holding it.
        let reader = ArchiveReader(store: archiver.options.store, logID: "redacted")
        #expect(try await onThread { try reader.verify() }.isValid)
        let aws = ProcessInfo.processInfo.environment["AUDITLOG_TEST_AWS_CLI"] ?? "/usr/bin/aws"
        let key = "fleet/redacted/\(segment)"
        let older = try await runProcess(
            aws, ["s3api", "list-object-versions", "--bucket", bucket, "--prefix", key, "--query",
                "Versions[?IsLatest==`false`].VersionId", "--output", "text"])
        let version = try #require(older.stdout.split(whereSeparator: \.isWhitespace).first.map(String.init), "\(older.stderr)")
        let restored = try await runProcess(
            aws, ["s3api", "copy-object", "--bucket", bucket, "--key", key, "--copy-source", "\(bucket)/\(key)?versionId=\(version)"])
        #expect(restored.status == 0, "\(restored.stderr)")
        let old = try await client.getObject(bucket: bucket, key: key)
        #expect(old != local)
        let remote = try await onThread { try reader.verify() }
        try Data(old).write(to: URL(fileURLWithPath: "\(path)/\(segment)"))
        let onDisk = try AuditLogReader(directory: path).verify()
        #expect(remote.problems.map(\.kind) == [.unappliedRedaction], "\(remote.problems)")
        #expect(remote.problems.map(\.seq) == [0] && onDisk.problems.map(\.kind) == [.unappliedRedaction])
        #expect(onDisk.problems.map(\.seq) == [0] && onDisk.problems.map(\.file) == remote.problems.map(\.file))
    }
}

extension ArchiveTests {
    @Test("query, export, show and proofs with --archive give what the local log gives for the archived seqs, fetching only what changed")
    func readsFromTheArchive() async throws {
        let dir = try TemporaryDirectory()
        let path = try makeLog(dir, count: 3000)
        _ = try await onThread { try LogArchiver(directory: path, options: try options("readable")).run() }
        let cache = try TemporaryDirectory()
        let archive = ["--archive", "s3://\(bucket)/fleet/readable", "--cache-dir", cache.path]
        let local = ["--dir", path]
        // The archive holds the sealed segments: seqs below the base of the last (active) one.
        let active = try #require(try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }.max())
        let archived = try #require(UInt64(active.prefix(20)))
        #expect(archived > 1000)
        func run(_ arguments: [String]) async throws -> ProcessResult {
            let result = try await runProcess(auditlogExecutable(), arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result
        }
        func seqOf(_ line: Substring) -> UInt64 {
            UInt64(line.firstMatch(of: /"seq":(\d+)/)!.1)!
        }
        let exported = try await run(["export"] + archive)
        #expect(exported.stderr.contains("fetched "))
        let localExport = try await run(["export"] + local)
        let localLines = localExport.stdout.split(separator: "\n").filter { seqOf($0) < archived }
        #expect(exported.stdout.split(separator: "\n") == localLines)
        #expect(localLines.count == Int(archived))
        // A second read fetches nothing.
        let actor = "user_00042"
        let page = try await run(["query", "--actor", actor, "--limit", "10000", "--format", "jsonl"] + archive)
        #expect(!page.stderr.contains("fetched "))
        let localPage = try await run(["query", "--actor", actor, "--limit", "10000", "--format", "jsonl"] + local)
        #expect(
            page.stdout.split(separator: "\n").filter { !$0.hasPrefix("{\"cursor") }
                == localPage.stdout.split(separator: "\n").filter { !$0.hasPrefix("{\"cursor") && seqOf($0) < archived })
        for arguments in [["show", "17"], ["prove", "17", "--tree-size", "\(archived)"],
            ["consistency", "--from", "100", "--to", "\(archived)"]]
        {
            let remote = try await run(arguments + archive)
            let mine = try await run(arguments + local)
            #expect(remote.stdout == mine.stdout, "\(arguments)")
        }
        // Retention in the archive's place: a segment gone from the bucket is gone from the cache.
        let sealed = try sealedSegments(path)
        let first = try #require(sealed.first)
        try await client.deleteObject(bucket: bucket, key: "fleet/readable/\(first)")
        let after = try await run(["query", "--limit", "1"] + archive)
        #expect(after.stderr.contains("1 removed"), "\(after.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cache.path + "/\(bucket)+fleet+readable/\(first.dropLast(4)).evicted"))
        #expect(FileManager.default.fileExists(atPath: cache.path + "/\(bucket)+fleet+readable/\(sealed[1].dropLast(4)).evicted"))
    }
}

/// Runs blocking work (the archiver waits for the network) on a Dispatch thread, not on the concurrency pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

func waitUntil(_ what: String, seconds: Double = 30, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else { throw TestFailure("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SigV4.hexSHA256(bytes)
}
