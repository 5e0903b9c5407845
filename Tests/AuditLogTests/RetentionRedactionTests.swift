import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Retention and redaction")
struct RetentionRedactionTests {
    /// A log of `count` sample events in many small segments, closed; returns every leaf hash.
    func makeLog(_ dir: String, count: Int = 3000, extra: [AuditEvent] = []) throws -> [SHA256Hash] {
        let log = try AuditLog(directory: dir, options: smallOptions(durability: .none))
        var events = sampleEvents(count)
        for (i, event) in extra.enumerated() { events.insert(event, at: (i + 1) * count / (extra.count + 1)) }
        for chunk in events.chunked(50) { try log.append(chunk) }
        try log.close()
        return try readAll(dir).map(\.leafHash)
    }

    func directoryBytes(_ dir: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: dir).reduce(0) {
            $0 + ((try FileManager.default.attributesOfItem(atPath: dir + "/" + $1)[.size] as? Int) ?? 0)
        }
    }

    func firstBase(_ dir: String) throws -> UInt64 {
        try LogFiles.segments(in: dir).first!.baseSeq
    }

    @Test func retentionByAgeAndSizeKeepsRootsProofsAndVerification() throws {
        let dir = try TemporaryDirectory()
        let leaves = try makeLog(dir.path)
        let hasher = try MerkleHasher()
        let events = try readAll(dir.path)
        let bytesBefore = try directoryBytes(dir.path)

        // By age: everything whose segment ended before event 1000's time.
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        let cutoff = events[1000].event.timestamp
        let day = Duration.seconds(86_400)
        let policy = RetentionPolicy(maxAge: day)
        let dry = try log.applyRetention(policy, dryRun: true, now: cutoff + day)
        #expect(dry.eventSeq == nil && !dry.segmentsRemoved.isEmpty)
        #expect(try firstBase(dir.path) == 0, "a dry run changes nothing")
        let result = try log.applyRetention(policy, now: cutoff + day)
        let b = result.prunedBelow
        #expect(result.segmentsRemoved == dry.segmentsRemoved && b == dry.prunedBelow)
        #expect(b > 0 && b <= 1000 + 200, "segments of ~40 events; boundary \(b)")
        #expect(try firstBase(dir.path) == b)
        #expect(events[..<Int(b)].allSatisfy { $0.event.timestamp < cutoff + .seconds(2) })
        #expect(try directoryBytes(dir.path) < bytesBefore - Int(result.bytesRemoved) / 2, "disk space is freed")

        // The retention event is in the log, by the system actor.
        let recorded = try log.event(seq: result.eventSeq!)
        #expect(recorded.event.actor == AuditEvent.Actor(type: .system, id: "auditlog"))
        #expect(SystemEvents.retention(recorded.event)?.prunedBelow == b)
        #expect(SystemEvents.retention(recorded.event)?.rootAtBoundary == referenceRoot(leaves[..<Int(b)], hasher))

        // Verification: pruned, valid; the tree is the same.
        var report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.prunedBelow == b)
        let size = UInt64(leaves.count)
        #expect(try log.consistencyProof(from: size).root1 == referenceRoot(leaves[...], hasher))

        // Proofs across the boundary, in-process and from the directory, checked by the independent verifier.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<40 {
            let n = UInt64.random(in: b + 1...size, using: &rng)
            let seq = UInt64.random(in: b..<n, using: &rng)
            for proof in [
                try log.inclusionProof(seq: seq, treeSize: n),
                try AuditLogReader(directory: dir.path).inclusionProof(seq: seq, treeSize: n),
            ] {
                #expect(proof.root == referenceRoot(leaves[..<Int(n)], hasher))
                #expect(try IndependentVerifier.verifyInclusion(proof), "seq \(seq) of \(n), boundary \(b)")
            }
            let m = UInt64.random(in: b...n, using: &rng)
            let consistency = try AuditLogReader(directory: dir.path).consistencyProof(from: m, to: n)
            #expect(consistency.root1 == referenceRoot(leaves[..<Int(m)], hasher))
            #expect(try IndependentVerifier.verifyConsistency(consistency), "\(m) -> \(n), boundary \(b)")
        }
        #expect(throws: AuditLogError.self) { try log.consistencyProof(from: b - 1) }
        #expect(throws: AuditLogError.self) { try log.inclusionProof(seq: b - 1) }
        #expect(try readAll(dir.path).first?.seq == b)

        // By size: the oldest segments go until the log fits.
        let limit = Int64(try directoryBytes(dir.path) / 3)
        let bySize = try log.applyRetention(RetentionPolicy(maxBytes: limit))
        #expect(bySize.prunedBelow > b && bySize.bytesKept <= limit)
        try log.close()
        report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.prunedBelow == bySize.prunedBelow)

        // Level files lost after retention are rebuilt as far as they can be, and proofs still work.
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasPrefix("merkle-") {
            try FileManager.default.removeItem(atPath: dir.file(name))
        }
        let reopened = try AuditLog(directory: dir.path)
        let proof = try reopened.inclusionProof(seq: bySize.prunedBelow + 3)
        #expect(try IndependentVerifier.verifyInclusion(proof))
        try reopened.close()

        // A segment removed without a retention record is still a failure.
        try FileManager.default.removeItem(atPath: try segmentPaths(dir.path)[0])
        report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.problems.map(\.kind).contains(.missingSegment))
    }

    @Test func theWriterAppliesItsPolicyInTheBackground() throws {
        let dir = try TemporaryDirectory()
        var options = smallOptions(durability: .none)
        options.retention = RetentionPolicy(maxBytes: 64 << 10)
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in sampleEvents(3000).chunked(50) { try log.append(chunk) }
        var waited = 0
        while try firstBase(dir.path) == 0 && waited < 200 {
            usleep(50_000)
            waited += 1
        }
        try log.close()
        #expect(try firstBase(dir.path) > 0)
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.prunedBelow == (try firstBase(dir.path)))
    }

    /// Events of one person with data that must disappear: a name, an email, an IP, a user agent.
    static let person = AuditEvent.Actor(
        type: .user, id: "u_gdpr_7", name: "Zyxwq Gdprson", roles: ["ADMIN"], authMethod: "password")
    static let secrets = ["Zyxwq Gdprson", "zyxwq@example.org", "203.0.113.77", "ZyxwqBrowser/9.1"]

    static func personalEvents(_ count: Int) throws -> [AuditEvent] {
        try (0..<count).map { i in
            AuditEvent(
                timestamp: Timestamp(millisecondsSinceEpoch: 1_767_225_600_000 + Int64(i)), actor: person,
                action: "user.update",
                resource: AuditEvent.Resource(type: "user", id: "u_gdpr_7", name: "Zyxwq Gdprson"),
                ip: "203.0.113.77", userAgent: "ZyxwqBrowser/9.1",
                before: try JSONText("{\"email\":\"old-\(i)@x.org\"}"),
                after: try JSONText("{\"email\":\"zyxwq@example.org\"}"),
                metadata: try JSONText("{\"contact\":\"zyxwq@example.org\"}"))
        }
    }

    /// Every byte of every file of the directory, and every decompressed record, searched for `needle`.
    func occurrences(of needle: String, in dir: String) throws -> [String] {
        let bytes = Array(needle.utf8)
        var found: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            if data.firstRange(of: bytes) != nil { found.append(name) }
        }
        let end = try AuditLogReader(directory: dir).state().treeSize
        try RecordScan.forEach(in: dir, range: (try firstBase(dir))..<end) { (seq, record) throws(AuditLogError) in
            if Array(record).firstRange(of: bytes) != nil { found.append("record \(seq)") }
        }
        return found
    }

    @Test func redactingAnActorErasesTheirDataEverywhereAndKeepsTheTree() throws {
        let dir = try TemporaryDirectory()
        let leaves = try makeLog(dir.path, count: 2000, extra: try Self.personalEvents(12))
        for secret in Self.secrets { #expect(!(try occurrences(of: secret, in: dir.path)).isEmpty) }

        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        // One more in the active segment, so it has to be sealed first.
        try log.append(try Self.personalEvents(1))
        let stateBefore = log.state
        let result = try log.redact(.actor("u_gdpr_7"), reason: "GDPR request 118")
        #expect(result.recordsRedacted == 13 && result.segmentsRewritten >= 2)
        #expect(result.fields == RedactableField.personalData)
        try log.close()

        for secret in Self.secrets {
            #expect(try occurrences(of: secret, in: dir.path) == [], "\(secret) survived")
        }
        // The tree is unchanged: every leaf hash, the root at the old size.
        let after = try readAll(dir.path)
        #expect(Array(after.map(\.leafHash)[..<leaves.count]) == leaves)
        let consistency = try AuditLogReader(directory: dir.path).consistencyProof(from: stateBefore.treeSize)
        #expect(consistency.root1 == stateBefore.root && consistency.isValid())

        // Found by actor id, marked redacted, explained.
        let engine = try AuditLogReader(directory: dir.path)
        let page = try engine.events(matching: Query(actorIDs: ["u_gdpr_7"], limit: 100))
        #expect(page.events.count == 13)
        for stored in page.events {
            #expect(stored.redaction?.redactedBy == result.eventSeq)
            #expect(stored.event.actor.name == nil && stored.event.ip == nil && stored.event.after == nil)
            #expect(stored.event.action == "user.update" && stored.event.resource.id == "u_gdpr_7")
            let details = try engine.redactionDetails(of: stored)
            #expect(details?.reason == "GDPR request 118")
        }
        var exported: [UInt8] = []
        ExportEncoder(format: .jsonLines).appendHeader(to: &exported)
        var encoder = ExportEncoder(format: .jsonLines)
        encoder.append(page.events[0], to: &exported)
        #expect(String(decoding: exported, as: UTF8.self).contains("\"redacted\":{\"by\":\(result.eventSeq),"))

        // Inclusion proof of a redacted event: its leaf hash, no entry.
        let proof = try AuditLogReader(directory: dir.path).inclusionProof(seq: page.events[3].seq)
        #expect(proof.entry.isEmpty && proof.leafHash == page.events[3].leafHash)
        #expect(try IndependentVerifier.verifyInclusion(proof))

        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.redactedEvents == 13)
    }

    @Test func redactingChosenEventsIncludingOneInTheActiveSegment() throws {
        let dir = try TemporaryDirectory()
        _ = try makeLog(dir.path, count: 500)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        let last = log.state.treeSize - 1
        let activeBase = try LogFiles.segments(in: dir.path).last!.baseSeq
        #expect(last >= activeBase)
        let result = try log.redact(.events([3, last]), fields: [.ip, .userAgent], reason: "ticket 77")
        #expect(result.recordsRedacted == 2)
        #expect(try LogFiles.segments(in: dir.path).last!.baseSeq > last, "the active segment was sealed")
        let stored = try log.event(seq: last)
        #expect(stored.event.ip == nil && stored.event.userAgent == nil && stored.event.actor.name != nil)
        #expect(stored.redaction?.fields == [.ip, .userAgent])
        // Redacting again adds fields; the record then names the second redaction.
        let again = try log.redact(.events([3]), fields: [.metadata], reason: "ticket 78")
        #expect(
            try log.event(seq: 3).redaction
                == Redaction(redactedBy: again.eventSeq, fields: [.ip, .userAgent, .metadata]))
        // Refusals: nothing recorded for them.
        let size = log.state.treeSize
        #expect(throws: AuditLogError.self) { try log.redact(.events([size + 5]), reason: "x") }
        #expect(throws: AuditLogError.self) { try log.redact(.events([result.eventSeq]), reason: "x") }
        #expect(throws: AuditLogError.self) { try log.redact(.actor("nobody-at-all"), reason: "x") }
        #expect(throws: AuditLogError.self) { try log.redact(.events([4]), reason: "  ") }
        #expect(throws: AuditLogError.self) {
            try log.append(
                AuditEvent(
                    actor: .init(type: .system, id: "auditlog"), action: "auditlog.retention",
                    resource: .init(type: "x", id: "y")))
        }
        #expect(log.state.treeSize == size)
        try log.close()
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.redactedEvents == 2)
    }

    @Test func aRedactionWithoutARecordIsReported() throws {
        let dir = try TemporaryDirectory()
        _ = try makeLog(dir.path, count: 400)
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        try log.close()
        // Forge: redact seq 10 "by" seq 20, an ordinary event, rewriting the segment with valid checksums.
        let hasher = try MerkleHasher()
        let segment = try LogFiles.segments(in: dir.path)[0]
        _ = try SegmentRewriter.rewrite(
            segment, directory: dir.path, directoryFD: try FileDescriptor.openDirectory(dir.path), maxBlockBytes: 2048
        ) { (seq, record) throws(AuditLogError) in
            guard seq == 10 else { return nil }
            return try? RecordCodec.redacting(
                record, fields: RedactableField.mask(of: [.ip]), redactedBy: 20, hasher: hasher)
        }
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.problems.map(\.kind) == [.unrecordedRedaction])
        #expect(report.problems.first?.seq == 10)
    }

    @Test("a segment from before a redaction put back (every hash still matches) is reported as unapplied_redaction")
    func aRestoredSegmentUndoesNoRedactionSilently() throws {
        let dir = try TemporaryDirectory()
        _ = try makeLog(dir.path, count: 400)
        let segments = try LogFiles.segments(in: dir.path)
        #expect(segments.count >= 2)
        let first = try #require(segments.first)
        let before = try [UInt8](Data(contentsOf: URL(fileURLWithPath: first.path)))
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        let actor = try log.reader.event(seq: 2).event.actor.id
        let other = try #require(try (3..<segments[1].baseSeq).first { try log.reader.event(seq: $0).event.actor.id != actor })
        let byActor = try log.redact(.actor(actor), reason: "erasure 1")
        let bySeq = try log.redact(.events([other]), fields: [.ip], reason: "erasure 2")
        try log.close()
        #expect(try AuditLogReader(directory: dir.path).verify().isValid)

        // The old bytes back in place: valid checksums and hashes, but the erased data is back.
        try Data(before).write(to: URL(fileURLWithPath: first.path))
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(Set(report.problems.map(\.kind)) == [.unappliedRedaction], "\(report.problems)")
        #expect(report.problems.contains { $0.seq == 2 && $0.message.contains("redaction event \(byActor.eventSeq)") })
        #expect(report.problems.contains { $0.seq == other && $0.message.contains("redaction event \(bySeq.eventSeq)") })
        #expect(report.problems.allSatisfy { $0.file == LogFiles.segmentName(baseSeq: first.baseSeq) })
    }

    /// Runs `arguments` with a crash injected at `point`; then checks the log verifies as it is, and again after
    /// an open has finished the interrupted change.
    func crash(at point: String, _ arguments: [String], dir: String) throws -> VerificationReport {
        let crashed = try runAuditlog(arguments, environment: ["AUDITLOG_CRASH_AT": point])
        #expect(crashed.status == 86, "\(point): \(crashed.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/" + MaintenanceJournal.name))
        let asLeft = try AuditLogReader(directory: dir).verify()
        #expect(asLeft.isValid, "\(point), as left: \(asLeft.problems)")
        try AuditLog(directory: dir).close()
        #expect(!FileManager.default.fileExists(atPath: dir + "/" + MaintenanceJournal.name))
        let finished = try AuditLogReader(directory: dir).verify()
        #expect(finished.isValid, "\(point), finished: \(finished.problems)")
        return finished
    }

    @Test func aCrashAtEveryStepOfRetentionLeavesAVerifiableLog() throws {
        for point in ["journal-written", "event-committed", "segment-removed", "applied"] {
            let dir = try TemporaryDirectory()
            _ = try makeLog(dir.path, count: 1500)
            let plan = try AuditLogReader(directory: dir.path).retentionPlan(RetentionPolicy(maxBytes: 100 << 10))
            #expect(plan.segmentsRemoved.count > 1)
            let report = try crash(
                at: point, ["retention", "--dir", dir.path, "--max-bytes", "100KiB"], dir: dir.path)
            // Before the event committed nothing changes; after, the open finishes the removal.
            #expect(report.prunedBelow == (point == "journal-written" ? nil : plan.prunedBelow), "\(point)")
        }
    }

    @Test func aCrashAtEveryStepOfRedactionLeavesAVerifiableLog() throws {
        for point in ["journal-written", "event-committed", "sealed", "copy-written", "segment-replaced", "applied"] {
            let dir = try TemporaryDirectory()
            _ = try makeLog(dir.path, count: 800, extra: try Self.personalEvents(6))
            let report = try crash(
                at: point, ["redact", "--dir", dir.path, "--actor", "u_gdpr_7", "--reason", "GDPR"], dir: dir.path)
            let erased = try Self.secrets.allSatisfy { try occurrences(of: $0, in: dir.path).isEmpty }
            #expect(erased == (point != "journal-written"), "\(point)")
            #expect(report.redactedEvents == (point == "journal-written" ? 0 : 6), "\(point)")
        }
    }
}
