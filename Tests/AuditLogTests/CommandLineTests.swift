import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Command line")
struct CommandLineTests {
    @Test("auditlog starts without the HTTP stack: FoundationNetworking and libcurl are only in auditlog-s3")
    func theToolDoesNotLoadTheHTTPStack() throws {
        let tool = try runProcess("/usr/bin/ldd", [auditlogExecutable()])
        #expect(tool.status == 0 && tool.stdout.contains("libFoundation"), "\(tool.stderr)")
        #expect(!tool.stdout.contains("FoundationNetworking") && !tool.stdout.contains("libcurl"), "\(tool.stdout)")
        let s3 = try runProcess("/usr/bin/ldd", [builtExecutable("auditlog-s3")])
        #expect(s3.stdout.contains("libFoundationNetworking"))
    }

    @Test func ingestStopsAtABadLineAndKeepsEverythingBefore() throws {
        let dir = try TemporaryDirectory()
        var lines = sampleEvents(4).map(\.jsonString)
        lines.insert(#"{"actor":{"type":"robot","id":"r"},"action":"x","resource":{"type":"t","id":"1"}}"#, at: 2)
        let result = try runAuditlog(
            ["ingest", "--dir", dir.path, "-"], input: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(result.status == 65)
        #expect(
            result.stderr.contains(
                #"error: line 3: field "actor.type": expected one of user, api_key, service, system"#))
        #expect(result.stderr.contains("stored 2 events from the lines before line 3; they are durable"))
        #expect(result.stderr.contains("tail -n +3"))
        #expect(try readAll(dir.path).count == 2)
    }

    @Test func skipInvalidReportsAndSkipsBadLines() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(3)
        let input = [events[0].jsonString, "{not json", "", events[1].jsonString, "[]", events[2].jsonString].joined(
            separator: "\n")
        let result = try runAuditlog(["ingest", "--dir", dir.path, "--skip-invalid"], input: Data(input.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("skipped line 2: invalid JSON at byte 1"))
        #expect(result.stderr.contains("skipped line 5: expected a JSON object, found an array"))
        #expect(result.stderr.contains("stored 3 events, skipped 2 invalid lines"))
        #expect(try readAll(dir.path).map(\.event) == events)
    }

    @Test func anOverlongLineIsRefusedWithoutReadingItIntoMemory() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(2)
        let huge = #"{"metadata":{"x":""# + String(repeating: "a", count: 3 << 20) + #""}}"#
        let input = events[0].jsonString + "\n" + huge + "\n" + events[1].jsonString + "\n"
        let result = try runAuditlog(
            ["ingest", "--dir", dir.path, "--max-event-size", "64KiB"], input: Data(input.utf8))
        #expect(result.status == 65)
        #expect(result.stderr.contains("line 2: line is at least"))
        #expect(result.stderr.contains("over the event limit of 65536 bytes"))
        #expect(try readAll(dir.path).map(\.event) == [events[0]])
    }

    @Test func ingestThenExportRoundTripsEveryField() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(2000, seed: 3)
        let input = dir.file("in.jsonl")
        try jsonLines(events).write(toFile: input, atomically: false, encoding: .utf8)
        let ingest = try runAuditlog(["ingest", "--dir", dir.file("log"), input, "--durability", "none"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stderr.contains("stored 2,000 events"))
        let exported = dir.file("out.jsonl")
        let export = try runAuditlog(["export", "--dir", dir.file("log"), "--output", exported])
        #expect(export.status == 0, "\(export.stderr)")
        let lines = try String(contentsOfFile: exported, encoding: .utf8).split(separator: "\n")
        let stored = try readAll(dir.file("log"))
        #expect(lines.count == 2000)
        for (i, line) in lines.enumerated() {
            #expect(try EventDecoder().decode(String(line)) == events[i])
            #expect(String(line) == stored[i].jsonString)
            #expect(line.contains(#""leafHash":"\#(stored[i].leafHash.hex)""#))
        }
        let mode = try FileManager.default.attributesOfItem(atPath: exported)[.posixPermissions] as! Int
        #expect(mode == 0o600)
    }

    /// `--output` naming a FIFO (or `/dev/null`) writes into it: writing aside and renaming would replace it.
    @Test func exportIntoAFIFOWritesThroughIt() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(300, seed: 5)
        let input = dir.file("in.jsonl")
        try jsonLines(events).write(toFile: input, atomically: false, encoding: .utf8)
        #expect(try runAuditlog(["ingest", "--dir", dir.file("log"), input, "--durability", "none"]).status == 0)
        let fifo = dir.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        // Both ends opened here, so that nothing waits in `open`: the reader sees the end of the data only once the
        // export and this test's own writer have closed it, whatever the export does.
        let readEnd = open(fifo, O_RDONLY | O_NONBLOCK)
        let keepOpen = open(fifo, O_WRONLY)
        #expect(readEnd >= 0 && keepOpen >= 0)
        _ = fcntl(readEnd, F_SETFL, 0)
        let received = ReceivedBytes()
        let reader = Thread {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(readEnd, &chunk, chunk.count)
                if n <= 0 { break }
                received.append(chunk[0..<n])
            }
            received.finish()
        }
        reader.start()
        let export = try runAuditlog(["export", "--dir", dir.file("log"), "--output", fifo])
        close(keepOpen)
        #expect(export.status == 0, "\(export.stderr)")
        received.wait()
        close(readEnd)
        let lines = String(decoding: received.bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 300)
        #expect(try lines.first.map { try EventDecoder().decode(String($0)) } == events[0])
        var status = stat()
        #expect(stat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
        #expect(!FileManager.default.fileExists(atPath: fifo + ".partial"))
        let directory = try runAuditlog(["export", "--dir", dir.file("log"), "--output", dir.path])
        #expect(directory.status != 0 && directory.stderr.contains("is a directory"), "\(directory.stderr)")
    }

    @Test func statsReportsCountsAndTheRoot() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        let events = sampleEvents(100)
        try log.append(events)
        let root = log.state.root
        try log.close()
        let result = try runAuditlog(["stats", "--dir", dir.path, "--json"])
        #expect(result.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(json["events"] as? Int == 100)
        #expect(json["treeSize"] as? Int == 100)
        #expect(json["root"] as? String == root.hex)
        #expect(json["oldestTimestamp"] as? String == events.map(\.timestamp).min()!.rfc3339)
        #expect(json["newestTimestamp"] as? String == events.map(\.timestamp).max()!.rfc3339)
        let text = try runAuditlog(["stats", "--dir", dir.path])
        #expect(text.stdout.contains("events             100"))
    }

    @Test func unknownDurabilityAndMissingDirectoryAreUsageErrors() throws {
        let bad = try runAuditlog(["ingest", "--dir", "/tmp/x", "--durability", "sometimes"])
        #expect(bad.status == 64)
        let missing = try runAuditlog(["export", "--dir", "/nonexistent/auditlog"])
        #expect(missing.status == 74)
        #expect(missing.stderr.contains("no log directory here (/nonexistent/auditlog)"))
    }

    /// A directory without a log (empty, or the parent of one) is not an empty log: verify must not call it valid,
    /// and a query must not answer "no matching events".
    @Test func aDirectoryWithoutALogIsAnErrorNotAnEmptyLog() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.file("log"), options: smallOptions())
        _ = try log.append(sampleEvents(3, seed: 5))
        try log.close()
        let verify = try runAuditlog(["verify", dir.path])
        #expect(verify.status == 2)
        #expect(!verify.stdout.contains("VALID"))
        #expect(verify.stderr.contains("no log here"), "\(verify.stderr)")
        #expect(verify.stderr.contains(dir.file("log") + " holds a log"), "\(verify.stderr)")
        let empty = try TemporaryDirectory()
        let query = try runAuditlog(["query", "--dir", empty.path])
        #expect(query.status != 0)
        #expect(query.stderr.contains("no log here"), "\(query.stderr)")
        #expect(throws: AuditLogError.self) { try AuditLogReader(directory: dir.path) }
        #expect(try AuditLogReader(directory: dir.file("log")).state().treeSize == 3)
    }
}

/// Bytes a reader thread collects, and a signal when it is done.
private final class ReceivedBytes: @unchecked Sendable {
    private let lock = NSCondition()
    private var collected: [UInt8] = []
    private var done = false

    func append(_ chunk: ArraySlice<UInt8>) {
        lock.withLock { collected += chunk }
    }

    func finish() {
        lock.withLock {
            done = true
            lock.broadcast()
        }
    }

    func wait() {
        lock.withLock { while !done { lock.wait() } }
    }

    var bytes: [UInt8] { lock.withLock { collected } }
}
