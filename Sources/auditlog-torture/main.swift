// The writer of the crash loop (Tests/AuditLogTests/CrashLoopTests.swift, `make torture`): several threads
// append deterministic events with sync durability, a maintenance thread rolls segments, signs checkpoints,
// applies retention and redacts, until the parent kills the process. After every acknowledged append a line
// "ack THREAD FIRST-INDEX COUNT FIRST-SEQ" goes to standard output, so everything the parent reads was acknowledged.
//
//     auditlog-torture DIR ROUND THREADS
//
// Event `i` of thread `t` in round `r` is `CrashTestEvents.event(round: r, thread: t, index: i)`; the parent
// rebuilds it from the same function to check that what is stored is exactly what was appended.
import AuditLog
import AuditLogSampleData
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 4, let round = Int(arguments[2]), let threads = Int(arguments[3]) else {
    let usage = "usage: auditlog-torture DIR ROUND THREADS\n"
    _ = write(2, usage, usage.utf8.count)
    exit(64)
}
let directory = arguments[1]

/// Writes one line to standard output in a single write, so lines from threads never interleave.
@Sendable func say(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(1, $0, text.utf8.count) }
}

@Sendable func fail(_ message: String) -> Never {
    let text = "auditlog-torture: \(message)\n"
    _ = write(2, text, text.utf8.count)
    exit(1)
}

var options = AuditLog.Options(durability: .sync)
options.maxSegmentBytes = 48 << 10  // a segment roll every ~100 events
options.maxBlockBytes = 8 << 10
options.checkpointInterval = .zero  // a signed checkpoint after every commit
do {
    options.checkpointSigner = try NoteSigner.generate(name: "torture.example/log")
} catch {
    fail("\(error)")
}
let log: AuditLog
do {
    log = try AuditLog(directory: directory, options: options)
} catch {
    fail("open: \(error)")
}
say("open \(log.state.treeSize)")

/// Maintenance while the writers run: retention by size and redaction of one of this round's events.
let maintenance = Thread {
    var random = SplitMix64(seed: UInt64(round) &* 7919)
    while true {
        usleep(useconds_t(5_000 + random.below(20_000)))
        do {
            if random.below(2) == 0 {
                _ = try log.applyRetention(RetentionPolicy(maxBytes: 1 << 20))
            } else if log.state.treeSize > 0 {
                let seq = log.state.treeSize - 1 - random.next() % min(log.state.treeSize, 50)
                if try log.event(seq: seq).event.actor.type != .system {
                    _ = try log.redact(.events([seq]), fields: [.actorName], reason: "torture round \(round)")
                }
            }
        } catch let error as AuditLogError where error.code == .invalidArgument {
            // Retention removed the chosen event: nothing else is expected to fail.
        } catch {
            fail("maintenance: \(error)")
        }
    }
}
maintenance.start()

for thread in 0..<threads {
    Thread {
        var random = SplitMix64(seed: UInt64(round * 100 + thread))
        var index = 0
        while true {
            let count = 1 + random.below(12)
            let batch = (index..<index + count).map { CrashTestEvents.event(round: round, thread: thread, index: $0) }
            let seqs: Range<UInt64>
            do {
                seqs = try log.append(batch)
            } catch {
                fail("append: \(error)")
            }
            say("ack \(thread) \(index) \(count) \(seqs.lowerBound)")
            index += count
        }
    }.start()
}
while true { pause() }
