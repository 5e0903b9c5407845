import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

/// The embedding story end to end, through the public API only (no `@testable`): what a Swift service that
/// embeds the log does, and what its auditor does with the result.
@Suite("Embedding, public API only")
struct EmbeddingTests {
    static func event(_ i: Int, actor: String, at time: Timestamp) throws -> AuditEvent {
        AuditEvent(
            id: "evt-\(i)", timestamp: time,
            actor: .init(type: .user, id: actor, name: "Person \(actor)", roles: ["admin"]),
            action: i % 3 == 0 ? "prompt.update" : "prompt.read",
            resource: .init(type: "prompt", id: "prompt-\(i % 7)"),
            org: .init(id: "org-\(i % 2)"), project: .init(id: "proj-\(i % 3)"), source: i % 2 == 0 ? "web" : "api",
            ip: "203.0.113.\(i % 250)", userAgent: "service/1.0",
            before: try JSONText(encoding: ["version": i]), after: try JSONText(encoding: ["version": i + 1]))
    }

    @Test(.timeLimit(.minutes(2)))
    func theEmbeddingStory() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("audit")
        let signer = try NoteSigner.generate(name: "audit.example.com/embedding")
        var options = AuditLog.Options(durability: .sync)
        options.maxSegmentBytes = 4 << 10
        options.maxBlockBytes = 2 << 10
        options.checkpointSigner = signer
        let log = try AuditLog(directory: path, options: options)

        // A follower that ships everything as it is committed.
        let shipped = ShippedEvents()
        let shipper = Task {
            for try await stored in log.follow(from: 0) { shipped.add(stored) }
        }

        // Appends from many tasks, each its own event; then a batch.
        let start = Timestamp(rfc3339: "2026-11-01T00:00:00Z")!
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try await log.append(try Self.event(i, actor: "user-\(i % 5)", at: start + .seconds(Int64(i))))
                }
            }
            var seqs: [UInt64] = []
            for try await seq in group { seqs.append(seq) }
            #expect(seqs.sorted() == (0..<200).map(UInt64.init))
        }
        let batch = try (200..<300).map { try Self.event($0, actor: "user-9", at: start + .seconds(Int64($0))) }
        #expect(try await log.append(batch) == 200..<300)
        #expect(log.state.treeSize == 300)

        // The audit screen: one user's updates, newest first, two pages.
        var query = Query(actorIDs: ["user-2"], actions: ["prompt.update"], limit: 5)
        let first = try log.events(matching: query)
        #expect(first.events.count == 5)
        #expect(first.events.map(\.seq) == first.events.map(\.seq).sorted(by: >))
        query.cursor = first.nextCursor
        let second = try log.events(matching: query)
        #expect(Set(second.events.map(\.seq)).isDisjoint(with: first.events.map(\.seq)))
        #expect(second.events.allSatisfy { $0.event.actor.id == "user-2" && $0.event.action == "prompt.update" })
        let details = try log.event(seq: first.events[0].seq)
        #expect(try EventDiff.changes(of: details.event).map(\.path) == ["version"])

        // The same query from the HTTP API's parameters.
        let parsed = try Query(parameters: [("actor", "user-2"), ("action", "prompt.update"), ("limit", "5")])
        #expect(try log.events(matching: parsed) == first)

        // The follower saw every event, in order.
        let deadline = ContinuousClock.now + .seconds(10)
        while shipped.count < 300 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(shipped.seqs == (0..<300).map(UInt64.init))
        shipper.cancel()
        _ = try? await shipper.value

        // A proof checked against a signed checkpoint, as an auditor would, from the JSON alone.
        try await log.close()
        let reader = try AuditLogReader(directory: path)
        let checkpoint = try #require(try reader.latestCheckpoint())
        let json = try reader.inclusionProof(seq: 123).jsonString
        let proof = try InclusionProof(json)
        #expect(proof.verify(against: [checkpoint], key: signer.verifierKey).isValid)
        var forged = proof
        forged.leafIndex = 124
        #expect(!forged.verify(against: [checkpoint], key: signer.verifierKey).isValid)
        let other = try NoteSigner.generate(name: "audit.example.com/embedding")
        guard case .invalid(.checkpointNotTrusted) = proof.verify(against: [checkpoint], key: other.verifierKey)
        else {
            Issue.record("a checkpoint signed by another key was trusted")
            return
        }
        let consistency = try ConsistencyProof(reader.consistencyProof(from: 100).jsonString)
        #expect(consistency.verify(against: [checkpoint], key: signer.verifierKey).isValid)

        // Retention and erasure, recorded in the log, and the log still verifies.
        let writer = try AuditLog(directory: path, options: options)
        let plan = try writer.reader.retentionPlan(RetentionPolicy(maxBytes: 24 << 10))
        #expect(plan.dryRun && !plan.segmentsRemoved.isEmpty)
        let retained = try writer.applyRetention(RetentionPolicy(maxBytes: 24 << 10))
        #expect(retained.prunedBelow > 0 && retained.eventSeq != nil)
        let erased = try writer.redact(.actor("user-9"), reason: "erasure request 7")
        #expect(erased.recordsRedacted == 100)
        let redacted = try writer.event(seq: 250)
        #expect(redacted.event.actor.name == nil && redacted.redaction != nil)
        #expect(try writer.reader.redactionDetails(of: redacted)?.reason == "erasure request 7")
        try await writer.close()

        let report = try AuditLogReader(directory: path).verify(key: signer.verifierKey)
        #expect(report.isValid, "\(report.problems)")
        #expect(report.prunedBelow == retained.prunedBelow && report.redactedEvents == 100)

        // Results encode as the documented JSON.
        let line = try JSONText(encoding: redacted).text
        #expect(line.contains(#""seq":250"#) && line.contains(#""redacted":{"by":"#))
        let decoded = try JSONDecoder().decode(StoredEvent.self, from: Data(line.utf8))
        #expect(decoded == redacted)
    }
}

/// What the follower shipped, from its task.
final class ShippedEvents: @unchecked Sendable {
    // @unchecked: `events` is only touched under `lock`.
    private let lock = NSLock()
    private var events: [StoredEvent] = []

    func add(_ event: StoredEvent) { lock.withLock { events.append(event) } }
    var count: Int { lock.withLock { events.count } }
    var seqs: [UInt64] { lock.withLock { events.map(\.seq) } }
}
