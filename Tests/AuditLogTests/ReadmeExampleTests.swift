import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

/// The library example of the README, compiled and run, and kept equal to what the README shows.
@Suite("README example")
struct ReadmeExampleTests {
    @Test func theLibraryExampleRuns() async throws {
        let dir = try TemporaryDirectory()
        try await Self.example(directory: dir.file("audit"))
        let reader = try AuditLogReader(directory: dir.file("audit"))
        #expect(try reader.state().treeSize == 3)
    }

    /// The README's example, with its directory as a parameter.
    static func example(directory: String) async throws {
        // README example begins
        // The writer: one per directory. Creates it (0700) if missing; recovers after a crash.
        let log = try AuditLog(directory: directory)

        let event = AuditEvent(
            actor: .init(type: .user, id: "user_42", name: "Ada Lovelace", roles: ["ADMIN"]),
            action: "setLabel",
            resource: .init(type: "prompt", id: "prompt_17", name: "support-answer"),
            org: .init(id: "org_1"), source: "web", ip: "203.0.113.9",
            before: try JSONText(#"{"labels":["latest"]}"#),
            after: try JSONText(#"{"labels":["latest","production"]}"#))
        let seq = try await log.append(event)      // suspends until the event is fsynced; blocks no thread
        try await log.append([event, event])       // a batch: all-or-nothing, consecutive seqs

        // The audit screen: filtered, newest first, keyset-paginated. `log.reader` sees what is acknowledged;
        // `AuditLogReader(directory:)` reads the same log from any process, without a lock.
        let reader = log.reader
        var query = Query(from: .now - .seconds(7 * 86_400), actorIDs: ["user_42"], resourceTypes: ["prompt"])
        query.limit = 50
        let page = try reader.events(matching: query)
        query.cursor = page.nextCursor             // the next page; exact while the log grows
        for change in try EventDiff.changes(of: page.events[0].event) {
            print(change.path, change.kind, change.old ?? "-", change.new ?? "-")   // labels[1] added - "production"
        }

        // Every event from a seq on, then each new one as soon as it is committed (a SIEM shipper, a live view).
        let follower = Task {
            for try await stored in reader.follow(from: seq) {
                print(stored.seq, stored.event.timestamp, stored.event.action)
            }
        }

        // A proof that the event is in the log, for anyone to check against a signed checkpoint.
        let proof = try reader.inclusionProof(seq: seq)
        print(proof.jsonString)

        follower.cancel()
        try await log.close()
        // README example ends
    }

    /// The README shows exactly the code above (its directory written as a path).
    @Test func theReadmeShowsThisCode() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = "Tests/AuditLogTests/ReadmeExampleTests.swift. -->\n```swift\nimport AuditLog\n\n"
        let start = try #require(readme.range(of: marker)).upperBound
        let end = try #require(readme.range(of: "\n```", range: start..<readme.endIndex)).lowerBound
        let shown = readme[start..<end].replacingOccurrences(of: "\"/var/lib/myapp/audit\"", with: "directory")

        let source = try String(contentsOf: here, encoding: .utf8)
        let begin = try #require(source.range(of: "// README example begins\n")).upperBound
        let finish = try #require(source.range(of: "\n        // README example ends")).lowerBound
        let tested = source[begin..<finish].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        #expect(shown == tested)
    }
}
