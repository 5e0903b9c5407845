import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

/// `auditlog export --bookmark`, `--after-seq` and `--follow`: every event shipped exactly once across runs,
/// crashes that repeat a range but never skip one, logs that are not the bookmark's refused, retention gaps told.
@Suite("Incremental and followed exports")
struct ExportBookmarkTests {
    static func append(_ directory: String, _ events: [AuditEvent], options: AuditLog.Options? = nil) throws {
        let log = try AuditLog(directory: directory, options: options ?? AuditLog.Options(durability: .none))
        try log.append(events)
        try log.close()
    }

    /// The seqs of a JSON Lines file (empty if it does not exist).
    static func seqs(_ path: String) throws -> [Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map {
            try #require((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["seq"] as? Int)
        }
    }

    static func bookmarkSize(_ path: String) throws -> Int? {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["treeSize"] as? Int
    }

    @Test("runs with a bookmark ship every event exactly once, in order; --after-seq starts where told")
    func exactlyOnce() throws {
        let dir = try TemporaryDirectory()
        let log = dir.file("log")
        let events = sampleEvents(500)
        try Self.append(log, Array(events[..<300]))
        let export = { (name: String) throws -> ProcessResult in
            try runAuditlog(["export", "--dir", log, "--bookmark", dir.file("bookmark"), "--output", dir.file(name)])
        }
        #expect(try export("1.jsonl").status == 0)
        #expect(try Self.seqs(dir.file("1.jsonl")) == Array(0..<300))
        #expect(try Self.bookmarkSize(dir.file("bookmark")) == 300)
        try Self.append(log, Array(events[300...]))
        #expect(try export("2.jsonl").status == 0)
        #expect(try Self.seqs(dir.file("2.jsonl")) == Array(300..<500))
        #expect(try export("3.jsonl").status == 0)
        #expect(try Self.seqs(dir.file("3.jsonl")).isEmpty)
        #expect(try Self.bookmarkSize(dir.file("bookmark")) == 500)
        let bookmark = try String(contentsOfFile: dir.file("bookmark"), encoding: .utf8)
        #expect(bookmark.hasSuffix("\n") && bookmark.contains(#""root":""#))

        // Filters apply within the range; the bookmark still moves past what did not match.
        try Self.append(log, Array(events[..<50]))
        let action = events[0].action
        let filtered = try runAuditlog([
            "export", "--dir", log, "--bookmark", dir.file("bookmark"), "--action", action,
        ])
        #expect(try filtered.stdout.split(separator: "\n").count == events[..<50].filter { $0.action == action }.count)
        #expect(try Self.bookmarkSize(dir.file("bookmark")) == 550)

        let after = try runAuditlog(["export", "--dir", log, "--after-seq", "544"])
        #expect(after.stdout.split(separator: "\n").count == 5)
        let both = try runAuditlog(["export", "--dir", log, "--after-seq", "1", "--bookmark", dir.file("bookmark")])
        #expect(both.status != 0 && both.stderr.contains("not both"))
    }

    @Test(
        "a crash before the output is in place or before the bookmark moves repeats the range next time, never skips",
        arguments: ["export-written", "export-in-place", "file-written-aside"])
    func crashes(point: String) throws {
        let dir = try TemporaryDirectory()
        let log = dir.file("log")
        let events = sampleEvents(100)
        try Self.append(log, Array(events[..<40]))
        let bookmark = dir.file("bookmark")
        #expect(
            try runAuditlog(["export", "--dir", log, "--bookmark", bookmark, "--output", dir.file("0")]).status == 0)
        try Self.append(log, Array(events[40...]))

        let crashed = try runAuditlog(
            ["export", "--dir", log, "--bookmark", bookmark, "--output", dir.file("1")],
            environment: ["AUDITLOG_CRASH_AT": point])
        #expect(crashed.status == 86, "\(crashed.stderr)")
        #expect(try Self.bookmarkSize(bookmark) == 40, "the bookmark has not moved")
        let again = try runAuditlog(["export", "--dir", log, "--bookmark", bookmark, "--output", dir.file("2")])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Self.bookmarkSize(bookmark) == 100)

        // What reached its final name: each event at least once, the crashed range at most twice.
        let shipped = try Self.seqs(dir.file("0")) + Self.seqs(dir.file("1")) + Self.seqs(dir.file("2"))
        #expect(Set(shipped) == Set(0..<100))
        #expect(try Self.seqs(dir.file("2")) == Array(40..<100))
        let repeated = point == "export-written" ? [] : Array(40..<100)
        #expect(try Self.seqs(dir.file("1")) == repeated)
    }

    @Test("a bookmark refuses a log that was replaced, rewritten or rolled back, and exports nothing")
    func otherLogsAreRefused() throws {
        let dir = try TemporaryDirectory()
        try Self.append(dir.file("a"), sampleEvents(200, seed: 1))
        try Self.append(dir.file("b"), sampleEvents(300, seed: 2))
        try Self.append(dir.file("short"), sampleEvents(100, seed: 1))
        let bookmark = dir.file("bookmark")
        #expect(try runAuditlog(["export", "--dir", dir.file("a"), "--bookmark", bookmark]).status == 0)
        for (log, message) in [("b", "replaced or rewritten"), ("short", "replaced or rolled back")] {
            let refused = try runAuditlog([
                "export", "--dir", dir.file(log), "--bookmark", bookmark, "--output", dir.file("\(log).jsonl"),
            ])
            #expect(refused.status != 0)
            #expect(
                refused.stderr.contains(message) && refused.stderr.contains("delete \(bookmark)"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.file("\(log).jsonl")))
        }
        #expect(try Self.bookmarkSize(bookmark) == 200)
        try "{\"not\": \"a bookmark\"}".write(toFile: dir.file("junk"), atomically: true, encoding: .utf8)
        let junk = try runAuditlog(["export", "--dir", dir.file("a"), "--bookmark", dir.file("junk")])
        #expect(junk.status != 0 && junk.stderr.contains("not an export bookmark"))
    }

    @Test("events removed by retention before they were shipped are reported as a gap")
    func retentionGap() throws {
        let dir = try TemporaryDirectory()
        var options = AuditLog.Options(durability: .none)
        options.maxSegmentBytes = 16 << 10
        options.maxBlockBytes = 2 << 10
        let events = sampleEvents(800)
        try Self.append(dir.path, Array(events[..<100]), options: options)
        let bookmark = dir.file("bookmark.json")
        #expect(try runAuditlog(["export", "--dir", dir.path, "--bookmark", bookmark]).status == 0)
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in Array(events[100...]).chunked(20) { try log.append(chunk) }  // segments roll between commits
        let result = try log.applyRetention(RetentionPolicy(maxBytes: 20 << 10))
        try log.close()
        let first = result.prunedBelow
        #expect(first > 100, "retention removed events past the bookmark")

        let export = try runAuditlog(["export", "--dir", dir.path, "--bookmark", bookmark])
        #expect(export.status == 0)
        #expect(export.stderr.contains("events 100 to \(first - 1) were removed by retention"), "\(export.stderr)")
        let seqs = export.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["seq"] as? Int
        }
        #expect(seqs.first == Int(first))
    }

    @Test("--follow writes events another process commits within moments, and stops cleanly on SIGTERM")
    func follow() async throws {
        let dir = try TemporaryDirectory()
        let log = dir.file("log")
        try Self.append(log, sampleEvents(10))
        let bookmark = dir.file("bookmark")
        let outputPath = dir.file("followed.jsonl")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: auditlogExecutable())
        process.arguments = ["export", "--dir", log, "--follow", "--bookmark", bookmark, "--format", "ecs"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        func lines() -> Int {
            ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        func waitFor(_ count: Int) async throws -> Duration {
            let start = ContinuousClock.now
            while lines() < count {
                guard ContinuousClock.now - start < .seconds(10) else { throw TestFailure("only \(lines()) lines") }
                try await Task.sleep(for: .milliseconds(5))
            }
            return ContinuousClock.now - start
        }
        _ = try await waitFor(10)
        // This test process is the writer; the follower only reads the files.
        let writer = try AuditLog(directory: log, options: AuditLog.Options(durability: .sync))
        var delays: [Duration] = []
        for round in 1...5 {
            try await writer.append(sampleEvents(3, seed: UInt64(100 + round)))
            delays.append(try await waitFor(10 + 3 * round))
        }
        try await writer.close()
        delays.sort()
        #expect(delays[2] < .milliseconds(200), "median delay \(delays[2]) (all: \(delays))")

        process.terminate()  // SIGTERM
        let stopped = ContinuousClock.now
        while process.isRunning && ContinuousClock.now - stopped < .seconds(10) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(!process.isRunning && process.terminationStatus == 0 && process.terminationReason == .exit)
        #expect(lines() == 25)
        #expect(try Self.bookmarkSize(bookmark) == 25)
    }
}
