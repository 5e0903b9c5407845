import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// The crash loop: `auditlog-torture` appends from several threads with sync durability while it rolls
/// segments, signs checkpoints, applies retention and redacts; it is killed with SIGKILL at a random instant, or
/// made to exit at a named crash point inside a roll, a checkpoint, retention or redaction. After each kill the
/// log must open, hold every acknowledged event exactly as appended (or show it pruned by recorded retention),
/// hold nothing else but whole events some writer appended, have dense seqs, and verify as valid.
///
/// `make test` runs a short loop; `make torture` sets AUDITLOG_TORTURE_ITERATIONS (≥ 500).
@Suite("Crash loop", .tags(.slow), .skippedInFastRuns)
struct CrashLoopTests {
    static let crashPoints = [
        "footer-written", "segment-created", "checkpoint-signed", "journal-written", "event-committed",
        "segment-removed", "sealed", "copy-written", "segment-replaced", "applied",
    ]

    @Test func aWriterKilledAtRandomInstantsLosesNothingAcknowledged() throws {
        let iterations = ProcessInfo.processInfo.environment["AUDITLOG_TORTURE_ITERATIONS"].flatMap { Int($0) } ?? 12
        let dir = try TemporaryDirectory()
        let log = dir.file("log")
        var random = SplitMix64(
            seed: UInt64(ProcessInfo.processInfo.environment["AUDITLOG_TORTURE_SEED"] ?? "") ?? 2026)
        var crashPointsHit = 0
        var acknowledgedTotal = 0
        for round in 0..<iterations {
            let threads = 2 + random.below(6)
            let crashPoint = random.below(3) == 0 ? Self.crashPoints[random.below(Self.crashPoints.count)] : nil
            let delay = 0.02 + Double(random.below(300)) / 1000
            let outcome = try runWriter(log: log, round: round, threads: threads, crashAt: crashPoint, delay: delay)
            if outcome.exitStatus == 86 { crashPointsHit += 1 }
            #expect(
                outcome.exitStatus == 86 || outcome.exitStatus == nil,
                "round \(round): writer failed (\(outcome.exitStatus ?? -1)): \(outcome.stderr)")
            acknowledgedTotal += outcome.acknowledged.count
            try check(log: log, round: round, acknowledged: outcome.acknowledged)
        }
        print(
            "crash loop: \(iterations) kills, \(crashPointsHit) at crash points, \(acknowledgedTotal) acknowledged events checked"
        )
        #expect(acknowledgedTotal > 0)
    }

    struct Outcome {
        /// (thread, index) → seq of every acknowledged event.
        var acknowledged: [String: UInt64] = [:]
        /// nil when killed by SIGKILL.
        var exitStatus: Int32?
        var stderr = ""
    }

    func runWriter(log: String, round: Int, threads: Int, crashAt: String?, delay: Double) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: builtExecutable("auditlog-torture"))
        process.arguments = [log, String(round), String(threads)]
        var environment = ProcessInfo.processInfo.environment
        environment["AUDITLOG_CRASH_AT"] = crashAt
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let reader = stdout.fileHandleForReading
        var buffer = Data()
        var outcome = Outcome()
        var started: Date?
        while true {
            if let started, Date().timeIntervalSince(started) >= delay { break }
            let chunk = reader.availableData
            if chunk.isEmpty { break }  // exited (at a crash point, or failed)
            buffer.append(chunk)
            if started == nil, buffer.contains(UInt8(ascii: "\n")) { started = Date() }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        buffer.append(reader.readDataToEndOfFile())
        if process.terminationReason == .exit { outcome.exitStatus = process.terminationStatus }
        outcome.stderr = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // Only whole lines were written before the ack was printed; a cut last line is not an acknowledgement.
        for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast()
        {
            let parts = line.split(separator: " ")
            guard parts.first == "ack", parts.count == 5, let thread = Int(parts[1]), let first = Int(parts[2]),
                let count = Int(parts[3]), let seq = UInt64(parts[4])
            else { continue }
            for i in 0..<count {
                outcome.acknowledged[CrashTestEvents.id(round: round, thread: thread, index: first + i)] =
                    seq + UInt64(i)
            }
        }
        return outcome
    }

    func check(log: String, round: Int, acknowledged: [String: UInt64]) throws {
        let reopened = try AuditLog(directory: log)
        try reopened.close()
        let report = try AuditLogReader(directory: log).verify()
        #expect(report.isValid, "round \(round): \(report.problems.prefix(3))")
        let prunedBelow = report.prunedBelow ?? 0

        var bySeq: [UInt64: StoredEvent] = [:]
        var ids: Set<String> = []
        var expectedSeq = prunedBelow
        let reader = try AuditLogReader(directory: log).eventIterator()
        while let stored = try reader.next() {
            #expect(stored.seq == expectedSeq, "round \(round): seqs are not dense at \(expectedSeq)")
            expectedSeq = stored.seq + 1
            bySeq[stored.seq] = stored
            if stored.event.actor.type == .system { continue }
            #expect(ids.insert(stored.event.id).inserted, "round \(round): \(stored.event.id) stored twice")
            // Whatever is stored is whole and exactly what some writer appended (less redacted fields).
            let parts = stored.event.id.dropFirst().split(separator: "-")
            guard parts.count == 3, let r = Int(parts[0]), let t = Int(parts[1].dropFirst()), let i = Int(parts[2])
            else {
                Issue.record("round \(round): unexpected event id \(stored.event.id)")
                continue
            }
            #expect(stored.event == expected(CrashTestEvents.event(round: r, thread: t, index: i), stored.redaction))
        }
        for (id, seq) in acknowledged where seq >= prunedBelow {
            #expect(bySeq[seq]?.event.id == id, "round \(round): acknowledged \(id) at seq \(seq) is missing")
        }
    }

    /// `event` as stored after `redaction`.
    func expected(_ event: AuditEvent, _ redaction: Redaction?) -> AuditEvent {
        var event = event
        for field in redaction?.fields ?? [] { field.remove(from: &event) }
        return event
    }
}
