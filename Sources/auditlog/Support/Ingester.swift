import AuditLog
import Dispatch
import Synchronization

/// Reads JSON Lines and appends the events, used by `ingest` and `demo`.
///
/// The calling thread reads and parses; a serial queue appends batches (one group commit each), at most two
/// ahead of the parser, so parsing overlaps with compression, hashing and fsync while memory stays bounded.
final class Ingester {
    struct Summary {
        /// Events stored and acknowledged.
        var stored = 0
        /// Invalid lines skipped (with `skipInvalid`).
        var skipped = 0
        /// The bad line that stopped ingest, and why.
        var stoppedAt: (line: Int, error: AuditLogError)?
        /// The storage error that stopped ingest.
        var storageError: AuditLogError?
        /// Line number of the last line whose event is stored.
        var lastStoredLine = 0
        var bytesRead: Int64 = 0
        var seconds = 0.0
    }

    enum Progress {
        case none
        /// `{"durableEvents": N}` lines on stderr after each commit.
        case json
        /// A redrawn bar on the terminal.
        case bar(totalBytes: Int64?)
    }

    private let log: AuditLog
    private let decoder: EventDecoder
    private let skipInvalid: Bool
    private let progress: Progress
    private let maxBatchEvents = 4096
    private let maxBatchBytes = 4 << 20

    init(log: AuditLog, limits: EventLimits, skipInvalid: Bool, progress: Progress) {
        self.log = log
        decoder = EventDecoder(limits: limits)
        self.skipInvalid = skipInvalid
        self.progress = progress
    }

    /// What the commit queue reports back to the parser.
    private struct CommitState {
        var durable = 0
        var lastDurableLine = 0
        var error: AuditLogError?
    }

    func run(fd: Int32) throws -> Summary {
        let started = monotonicSeconds()
        let shared = SharedState()
        let queue = DispatchQueue(label: "auditlog.ingest.commit")
        let slots = DispatchSemaphore(value: 2)
        let reader = LineReader(fd: fd, maxLineBytes: decoder.limits.maxEventBytes)
        let bar = ProgressLine()
        var summary = Summary()
        var batch: [AuditEvent] = []
        var batchBytes = 0
        var batchLastLine = 0
        var printedSkips = 0

        func submit() {
            guard !batch.isEmpty else { return }
            let events = batch
            let lastLine = batchLastLine
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
            slots.wait()
            let log = self.log
            let json = if case .json = progress { true } else { false }
            queue.async {
                defer { slots.signal() }
                guard shared.state.withLock({ $0.error == nil }) else { return }
                do throws(AuditLogError) {
                    try log.append(events)
                    let durable = shared.state.withLock { state in
                        state.durable += events.count
                        state.lastDurableLine = lastLine
                        return state.durable
                    }
                    if json { Console.error("{\"durableEvents\": \(durable)}") }
                } catch {
                    shared.state.withLock { $0.error = error }
                }
            }
        }

        try reader.forEachLine { lineNumber, line in
            if shared.state.withLock({ $0.error != nil }) { return false }
            let event: AuditEvent
            switch line {
            case .tooLong(let count):
                let error = AuditLogError(
                    .invalidEvent,
                    "line is at least \(count) bytes, over the event limit of \(decoder.limits.maxEventBytes) bytes")
                guard skipInvalid else {
                    summary.stoppedAt = (lineNumber, error.at(line: lineNumber))
                    return false
                }
                summary.skipped += 1
                if printedSkips < 100 { Console.error("skipped line \(lineNumber): \(error.message)") }
                printedSkips += 1
                return true
            case .text(let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return true }  // blank line
                do throws(AuditLogError) {
                    event = try decoder.decode(bytes)
                } catch {
                    guard skipInvalid else {
                        summary.stoppedAt = (lineNumber, error.at(line: lineNumber))
                        return false
                    }
                    summary.skipped += 1
                    if printedSkips < 100 { Console.error("skipped \(error.at(line: lineNumber))") }
                    printedSkips += 1
                    return true
                }
                batchBytes += bytes.count
            }
            batch.append(event)
            batchLastLine = lineNumber
            if batch.count >= maxBatchEvents || batchBytes >= maxBatchBytes { submit() }
            if case .bar(let total) = progress {
                let durable = shared.state.withLock { $0.durable }
                let read = reader.bytesRead
                let rate = Double(read) / max(0.001, monotonicSeconds() - started) / 1e6
                let prefix = total.map { ProgressLine.bar(Double(read) / Double(max(1, $0))) + "  " } ?? ""
                bar.update("\(prefix)\(Console.grouped(durable)) events stored  \(Console.fixed(rate, 1)) MB/s")
            }
            return true
        }
        submit()
        queue.sync {}
        bar.finish()
        if printedSkips > 100 { Console.error("… and \(printedSkips - 100) more skipped lines") }
        let final = shared.state.withLock { $0 }
        summary.stored = final.durable
        summary.lastStoredLine = final.lastDurableLine
        summary.storageError = final.error
        summary.bytesRead = reader.bytesRead
        summary.seconds = monotonicSeconds() - started
        return summary
    }

    private final class SharedState: Sendable {
        let state = Mutex(CommitState())
    }
}
