import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// Faults under the storage layer: a failed fsync, a write that fails part-way with ENOSPC or EIO, a power cut
/// that loses unsynced writes, a full disk. The writer must fail loudly, acknowledge nothing after the fault,
/// refuse further appends, and recover on reopen with every acknowledged event intact. Serialized: one plan is
/// armed at a time, for one test's log directory (other suites running meanwhile are not affected).
@Suite("Fault injection", .serialized)
struct FaultInjectionTests {
    enum Fault: CustomStringConvertible, CaseIterable {
        case failedSync, fullDiskMidWrite, ioErrorMidWrite, failedSyncAtRoll

        func plan(for directory: String) -> FaultInjection.Plan {
            switch self {
            case .failedSync: FaultInjection.Plan(directory: directory, syncsBeforeFailure: 0)
            case .fullDiskMidWrite:
                FaultInjection.Plan(
                    directory: directory, writesBeforeFailure: 0, failingWritePrefix: 700, writeErrno: ENOSPC)
            case .ioErrorMidWrite:
                FaultInjection.Plan(
                    directory: directory, writesBeforeFailure: 0, failingWritePrefix: 33, writeErrno: EIO)
            case .failedSyncAtRoll: FaultInjection.Plan(directory: directory, syncsBeforeFailure: 3)
            }
        }

        var description: String {
            switch self {
            case .failedSync: "fdatasync fails with EIO"
            case .fullDiskMidWrite: "write fails with ENOSPC after 700 bytes"
            case .ioErrorMidWrite: "write fails with EIO after 33 bytes"
            case .failedSyncAtRoll: "the fourth sync fails, across segment rolls"
            }
        }
    }

    @Test(arguments: Fault.allCases)
    func theWriterStopsLoudlyAndRecoversOnReopen(fault: Fault) throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(400, seed: 21)
        var options = smallOptions()
        options.maxSegmentBytes = 16 << 10
        let log = try AuditLog(directory: dir.path, options: options)
        _ = try log.append(Array(events[0..<150]))
        let acknowledged = log.state

        FaultInjection.arm(fault.plan(for: dir.path))
        defer { FaultInjection.arm(nil) }
        var failures = 0
        var acknowledgedAfterFault: [Range<UInt64>] = []
        for start in stride(from: 150, to: 300, by: 10) {
            do {
                acknowledgedAfterFault.append(try log.append(Array(events[start..<start + 10])))
            } catch {
                failures += 1
                #expect(error.code == .io || error.code == .writerFailed, "\(fault): \(error)")
            }
        }
        FaultInjection.arm(nil)
        #expect(failures > 0, "\(fault): no append failed")
        // After the first failure nothing more is acknowledged.
        let firstFailure = 150 + acknowledgedAfterFault.count * 10
        #expect(acknowledgedAfterFault.allSatisfy { $0.upperBound <= UInt64(firstFailure) })
        #expect(throws: AuditLogError.self) { try log.append(events[399]) }
        try? log.close()

        let reopened = try AuditLog(directory: dir.path, options: options)
        let size = reopened.state.treeSize
        #expect(size >= acknowledged.treeSize && size >= UInt64(firstFailure))
        let stored = try readAll(dir.path)
        #expect(stored.map(\.event) == Array(events[0..<Int(size)]), "\(fault): stored events differ")
        // The log takes writes again and verifies.
        _ = try reopened.append(Array(events[Int(size)..<Int(size) + 5]))
        try reopened.close()
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid, "\(fault): \(report.problems)")
        #expect(report.treeSize == size + 5)
    }

    /// Eight threads append one event at a time (the group commit's waiting threads each sleep on a condition of
    /// their own) when a sync fails: every append returns, each thread sees the writer stop, and every event
    /// acknowledged to any thread is in the log after reopening.
    @Test(.timeLimit(.minutes(1)))
    func threadsWaitingForACommitAllLearnOfAFailedSync() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(4_000, seed: 23)
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        FaultInjection.arm(FaultInjection.Plan(directory: dir.path, syncsBeforeFailure: 40))
        defer { FaultInjection.arm(nil) }
        let threads = 8
        // Per thread: (seq, index in `events`) of each acknowledged append, and the error that stopped it.
        let outcomes = Locked<[(acknowledged: [(seq: UInt64, index: Int)], error: AuditLogError?)]>([])
        let done = DispatchGroup()
        for t in 0..<threads {
            done.enter()
            Thread {
                var acknowledged: [(seq: UInt64, index: Int)] = []
                var failure: AuditLogError?
                var i = t
                while i < events.count {
                    do {
                        acknowledged.append((try log.append(events[i]), i))
                    } catch let error as AuditLogError {
                        failure = error
                        break
                    } catch {
                        break
                    }
                    i += threads
                }
                outcomes.withLock { $0.append((acknowledged, failure)) }
                done.leave()
            }.start()
        }
        done.wait()
        FaultInjection.arm(nil)
        let results = outcomes.withLock { $0 }
        #expect(results.count == threads)
        #expect(results.allSatisfy { $0.error?.code == .io || $0.error?.code == .writerFailed })
        let acknowledged = results.flatMap(\.acknowledged)
        #expect(acknowledged.count > 0 && acknowledged.count < events.count)
        try? log.close()

        let reopened = try AuditLog(directory: dir.path, options: smallOptions())
        let size = reopened.state.treeSize
        try reopened.close()
        let stored = try readAll(dir.path)
        #expect(stored.count == Int(size))
        #expect(
            acknowledged.allSatisfy { $0.seq < size && stored[Int($0.seq)].event == events[$0.index] },
            "an acknowledged event was lost or changed")
    }

    /// Simulated power cuts (60): at a random write, each file keeps a random prefix of what was written to it
    /// since its last sync, the last kept write torn at a random byte half of the time, and loses the rest; every
    /// write and sync after it fails. Segments roll and checkpoints are signed along the way, so cuts land in
    /// blocks, footers, new segment headers, index files and checkpoint files. With `sync` durability nothing
    /// acknowledged may be lost; with every durability the log must open holding a prefix of what was appended
    /// (dense seqs, each event exactly as appended), take writes again and verify.
    @Test(.tags(.slow), .skippedInFastRuns) func powerCutsLoseOnlyWhatWasNotSynced() throws {
        var random = SplitMix64(seed: 0x90fe)
        let events = sampleEvents(700, seed: 33)
        let signer = try NoteSigner.generate(name: "example.com/power")
        var filesRolledBack = 0
        var tornWrites = 0
        for iteration in 0..<60 {
            let dir = try TemporaryDirectory()
            let durability: AuditLog.Durability = [.sync, .none, .interval(.milliseconds(2))][iteration % 3]
            var options = smallOptions(durability: durability)
            options.checkpointSigner = signer
            let log = try AuditLog(directory: dir.path, options: options)
            FaultInjection.arm(
                FaultInjection.Plan(
                    directory: dir.path, powerCutAfterWrites: 1 + random.below(300), powerCutSeed: random.next()))
            defer { FaultInjection.arm(nil) }
            var acknowledged = 0
            var attempted = 0
            while acknowledged < 600 {
                let batch = events[acknowledged..<acknowledged + 1 + random.below(6)]
                attempted = batch.endIndex
                guard let range = try? log.append(Array(batch)) else { break }
                #expect(range == UInt64(batch.startIndex)..<UInt64(batch.endIndex))
                acknowledged = batch.endIndex
            }
            FaultInjection.cutPowerNow()
            #expect(throws: AuditLogError.self) { try log.append(events[699]) }
            try? log.close()
            let cut = FaultInjection.lastPowerCut
            FaultInjection.arm(nil)
            filesRolledBack += cut.filter { $0.kept < $0.of }.count
            tornWrites += cut.filter { $0.tornAt != nil }.count
            let context = "iteration \(iteration), \(durability), \(acknowledged) acknowledged, cut: \(cut)"
            let reopened = try AuditLog(directory: dir.path, options: options)
            let stored = try readAll(dir.path)
            #expect(stored.map(\.seq) == (0..<UInt64(stored.count)).map { $0 }, "\(context)")
            #expect(stored.map(\.event) == Array(events[0..<stored.count]), "\(context)")
            #expect(stored.count <= attempted, "\(context)")
            if durability == .sync { #expect(stored.count >= acknowledged, "\(context)") }
            _ = try reopened.append(Array(events[stored.count..<stored.count + 5]))
            try reopened.close()
            let report = try AuditLogReader(directory: dir.path).verify()
            #expect(report.isValid, "\(context): \(report.problems)")
            #expect(report.treeSize == UInt64(stored.count + 5), "\(context)")
        }
        // The cuts did bite: files lost unsynced writes and writes were torn.
        #expect(filesRolledBack >= 20 && tornWrites >= 10, "\(filesRolledBack) files rolled back, \(tornWrites) torn")
    }

    /// A real full disk: `auditlog ingest` under RLIMIT_FSIZE (SIGXFSZ ignored, so writes fail with EFBIG).
    @Test func ingestOnAFullDiskFailsClearlyAndKeepsWhatItAcknowledged() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(12_000, seed: 22)
        let input = dir.file("events.jsonl")
        try jsonLines(events).write(toFile: input, atomically: false, encoding: .utf8)
        let log = dir.file("log")
        // 2400 blocks of 512 bytes: no file of the log may grow past 1.2 MiB, so the first segment fills up after
        // a few group commits (ingest commits up to 4096 lines at a time).
        let script = "trap '' XFSZ; ulimit -f 2400; exec \"$0\" \"$@\""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c", script, auditlogExecutable(), "ingest", "--dir", log, input, "--progress", "json",
            "--segment-size", "64MiB",
        ]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let errorText = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(errorText.contains("File too large") || errorText.contains("write failed"), "\(errorText)")
        let acknowledged =
            errorText.split(separator: "\n").compactMap { line -> Int? in
                guard line.hasPrefix("{\"durableEvents\"") else { return nil }
                return Int(line.split(separator: ":").last!.dropLast().trimmingCharacters(in: .whitespaces))
            }.max() ?? 0
        #expect(acknowledged > 0 && acknowledged < events.count)

        // Space is back: the log opens, holds what was acknowledged, and takes the rest.
        let reopened = try AuditLog(directory: log)
        let size = Int(reopened.state.treeSize)
        #expect(size >= acknowledged)
        _ = try reopened.append(Array(events[size...]))
        try reopened.close()
        #expect(try readAll(log).map(\.event) == events)
        #expect(try AuditLogReader(directory: log).verify().isValid)
    }
}
