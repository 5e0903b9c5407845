import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Synchronization
import Testing

@testable import AuditLog

/// Many writers in one process, readers in others and in the same process, all at once.
@Suite("Concurrency", .tags(.slow), .skippedInFastRuns)
struct ConcurrencyTests {
    /// The event a writer thread appended under `id` (`r0-t<thread>-<index>`, see ``CrashTestEvents``).
    static func appended(_ id: String) -> AuditEvent? {
        let parts = id.split(separator: "-")
        guard parts.count == 3, parts[0] == "r0", let t = Int(parts[1].dropFirst()), let i = Int(parts[2]) else {
            return nil
        }
        return CrashTestEvents.event(round: 0, thread: t, index: i)
    }

    /// 16 threads append one event at a time with `sync` durability (group commit), through segment rolls and
    /// checkpoint signing, while other processes export, query and verify the log in a loop and a thread of the
    /// writer's process queries it. Every reader must succeed and see exactly a prefix of the log: dense seqs, each
    /// event exactly as appended, and everything acknowledged before it started. A waiting append that is never
    /// woken (a lost hand-over of the group commit) hangs the test: the time limit turns that into a failure.
    @Test(.timeLimit(.minutes(2))) func sixteenAppendingThreadsWithReadersInOtherProcesses() throws {
        let dir = try TemporaryDirectory()
        var options = smallOptions()
        options.checkpointSigner = try NoteSigner.generate(name: "example.com/concurrency")
        let log = try AuditLog(directory: dir.path, options: options)
        let threads = 16
        let perThread = 250
        let acknowledged = Atomic<Int>(0)
        let running = Atomic<Int>(threads)
        let failures = Locked<[String]>([])
        let assigned = Locked<[UInt64: String]>([:])
        for t in 0..<threads {
            Thread {
                defer { running.subtract(1, ordering: .sequentiallyConsistent) }
                for i in 0..<perThread {
                    usleep(10_000)  // ~1,600 appends/s in all, so that the readers' rounds overlap the writing
                    let event = CrashTestEvents.event(round: 0, thread: t, index: i)
                    do {
                        let seq = try log.append(event)
                        assigned.withLock { $0[seq] = event.id }
                        acknowledged.add(1, ordering: .sequentiallyConsistent)
                    } catch {
                        failures.withLock { $0.append("append: \(error)") }
                        return
                    }
                }
            }.start()
        }
        // A reader in the writer's process, through the log's own query engine.
        let inProcessQueries = Atomic<Int>(0)
        let inProcessReaderDone = Atomic<Bool>(false)
        Thread {
            defer { inProcessReaderDone.store(true, ordering: .sequentiallyConsistent) }
            while running.load(ordering: .sequentiallyConsistent) > 0 {
                do {
                    let page = try log.events(matching: Query(actorIDs: ["user_3"], order: .oldestFirst, limit: 10_000))
                    for stored in page.events
                    where stored.event.actor.id != "user_3" || Self.appended(stored.event.id) != stored.event {
                        failures.withLock { $0.append("in-process query returned seq \(stored.seq) wrongly") }
                    }
                    inProcessQueries.add(1, ordering: .sequentiallyConsistent)
                } catch {
                    failures.withLock { $0.append("in-process query: \(error)") }
                }
            }
        }.start()

        // Readers in other processes, three at a time, until the writers are done.
        var rounds = 0
        var largestExport = 0
        repeat {
            let before = acknowledged.load(ordering: .sequentiallyConsistent)
            let results = Locked<[(String, ProcessResult)]>([])
            let commands = [
                ["export", "--dir", dir.path, "--format", "jsonl"],
                ["query", "--dir", dir.path, "--actor", "user_5", "--format", "jsonl", "--limit", "10000"],
                ["verify", dir.path, "--jobs", "1"],
            ]
            DispatchQueue.concurrentPerform(iterations: commands.count) { c in
                do {
                    let result = try runAuditlog(commands[c])
                    results.withLock { $0.append((commands[c][0], result)) }
                } catch {
                    failures.withLock { $0.append("\(commands[c][0]): cannot run: \(error)") }
                }
            }
            for (command, result) in results.withLock({ $0 }) {
                #expect(result.status == 0, "\(command) exited \(result.status): \(result.stderr)")
                let lines = result.stdout.split(separator: "\n")
                switch command {
                case "export":
                    #expect(lines.count >= before, "export saw \(lines.count) events, \(before) were acknowledged")
                    largestExport = max(largestExport, lines.count)
                    for (i, line) in lines.enumerated() {
                        let event = try EventDecoder().decode(String(line))
                        #expect(line.contains(#""seq":\#(i),"#), "line \(i): \(line.prefix(40))")
                        #expect(Self.appended(event.id) == event, "export line \(i) is not an event as appended")
                    }
                case "query":
                    for line in lines {
                        let event = try EventDecoder().decode(String(line))
                        #expect(event.actor.id == "user_5" && Self.appended(event.id) == event)
                    }
                default:
                    #expect(result.stdout.contains("VALID"), "verify: \(result.stdout) \(result.stderr)")
                }
            }
            rounds += 1
        } while running.load(ordering: .sequentiallyConsistent) > 0 || rounds < 3
        while !inProcessReaderDone.load(ordering: .sequentiallyConsistent) { usleep(1_000) }
        try log.close()

        #expect(failures.withLock { $0 } == [])
        #expect(rounds >= 3)
        #expect(inProcessQueries.load(ordering: .sequentiallyConsistent) >= 1)
        let stored = try readAll(dir.path)
        let count = threads * perThread
        #expect(stored.count == count && largestExport <= count)
        let map = assigned.withLock { $0 }
        for event in stored {
            #expect(map[event.seq] == event.event.id)
            #expect(Self.appended(event.event.id) == event.event)
        }
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.treeSize == UInt64(count))
    }
}

extension ConcurrencyTests {
    /// Proofs read the writer's Merkle level files while the commit leader appends to them. Several threads make
    /// inclusion and consistency proofs while 8 threads append; every proof must check out against the state it
    /// was made for. `make sanitize` runs this under ThreadSanitizer, which reports any unsynchronized access.
    @Test func proofsFromSeveralThreadsWhileEightThreadsAppend() throws {
        let dir = try TemporaryDirectory()
        var options = smallOptions()
        options.maxSegmentBytes = 64 << 10
        let log = try AuditLog(directory: dir.path, options: options)
        try log.append(sampleEvents(300, seed: 9))
        let appenders = 8
        let running = Atomic<Int>(appenders)
        let failures = Locked<[String]>([])
        let proofs = Atomic<Int>(0)
        for t in 0..<appenders {
            Thread {
                defer { running.subtract(1, ordering: .sequentiallyConsistent) }
                for chunk in sampleEvents(600, seed: UInt64(100 + t)).chunked(3) {
                    do { try log.append(chunk) } catch {
                        failures.withLock { $0.append("append: \(error)") }
                        return
                    }
                }
            }.start()
        }
        let provers = 3
        let proversDone = Atomic<Int>(0)
        for p in 0..<provers {
            Thread {
                defer { proversDone.add(1, ordering: .sequentiallyConsistent) }
                var random = SystemRandomNumberGenerator()
                var round = 0
                while running.load(ordering: .sequentiallyConsistent) > 0 || round < 20 {
                    round += 1
                    let state = log.state
                    let seq = UInt64.random(in: 0..<state.treeSize, using: &random)
                    do {
                        if (p + round) % 2 == 0 {
                            let proof = try log.inclusionProof(seq: seq, treeSize: state.treeSize)
                            if !proof.isValid() || proof.root != state.root {
                                failures.withLock { $0.append("inclusion proof of \(seq) in \(state.treeSize)") }
                            }
                        } else {
                            let proof = try log.consistencyProof(from: seq + 1, to: state.treeSize)
                            if !proof.isValid() || proof.root2 != state.root {
                                failures.withLock { $0.append("consistency proof \(seq + 1) -> \(state.treeSize)") }
                            }
                        }
                        proofs.add(1, ordering: .sequentiallyConsistent)
                    } catch {
                        failures.withLock { $0.append("proof: \(error)") }
                    }
                }
            }.start()
        }
        while proversDone.load(ordering: .sequentiallyConsistent) < provers { usleep(1_000) }
        try log.close()
        #expect(failures.withLock { $0 } == [])
        #expect(proofs.load(ordering: .sequentiallyConsistent) >= 60)
        #expect(try readAll(dir.path).count == 300 + appenders * 600)
        #expect(try AuditLogReader(directory: dir.path).verify().isValid)
    }
}
