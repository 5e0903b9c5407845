import AuditLog
import Dispatch
import Synchronization

/// Reads JSON Lines and appends the events, used by `ingest` and `demo`.
///
/// Three stages: the calling thread splits the input into chunks of lines; chunks are decoded in parallel
/// (JSON parsing is the bottleneck, so it gets every core); a serial stage appends each chunk's events in input
/// order, one group commit per chunk. At most a few chunks are in flight, so memory stays bounded. A bad line
/// stops the pipeline after the events of the lines before it are appended, so "everything before the bad line
/// is stored and durable" holds exactly.
final class Ingester: Sendable {
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

    enum Progress: Sendable {
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
    private let maxChunkLines = 4096
    private let maxChunkBytes = 2 << 20
    /// Chunks read but not yet appended.
    private let maxChunksInFlight = 4

    init(log: AuditLog, limits: EventLimits, skipInvalid: Bool, progress: Progress) {
        self.log = log
        decoder = EventDecoder(limits: limits)
        self.skipInvalid = skipInvalid
        self.progress = progress
    }

    /// Lines copied out of the read buffer: their bytes, where each starts, and their line numbers.
    private struct Chunk: Sendable {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var lineNumbers: [Int] = []
        /// Lines over the size limit, by line number, with their length.
        var tooLong: [(line: Int, bytes: Int)] = []
    }

    /// A chunk's decoded events, or where it first went wrong.
    private final class Decoded: @unchecked Sendable {
        // @unchecked: written by one decode task, then read by the append stage after `done` is signalled.
        var events: [AuditEvent] = []
        var eventLines: [Int] = []
        var invalid: [(line: Int, error: AuditLogError)] = []
        let done = DispatchSemaphore(value: 0)
    }

    /// What the append stage reports back.
    private struct State {
        var durable = 0
        var lastDurableLine = 0
        var skipped = 0
        var printedSkips = 0
        var stoppedAt: (line: Int, error: AuditLogError)?
        var storageError: AuditLogError?
        var stop: Bool { stoppedAt != nil || storageError != nil }
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    func run(fd: Int32) throws -> Summary {
        let started = monotonicSeconds()
        let shared = Shared()
        let appendQueue = DispatchQueue(label: "auditlog.ingest.append")
        let slots = DispatchSemaphore(value: maxChunksInFlight)
        let reader = LineReader(fd: fd, maxLineBytes: decoder.limits.maxEventBytes)
        let bar = ProgressLine()
        var chunk = Chunk()

        func submit() {
            guard !chunk.lineNumbers.isEmpty || !chunk.tooLong.isEmpty else { return }
            let lines = chunk
            chunk = Chunk()
            slots.wait()
            let decoded = Decoded()
            let decoder = self.decoder
            DispatchQueue.global().async {
                Self.decode(lines, with: decoder, into: decoded)
                decoded.done.signal()
            }
            appendQueue.async { [self] in
                decoded.done.wait()
                defer { slots.signal() }
                append(decoded, shared: shared)
            }
        }

        try reader.forEachLine { lineNumber, line in
            if shared.state.withLock({ $0.stop }) { return false }
            switch line {
            case .tooLong(let count):
                chunk.tooLong.append((lineNumber, count))
            case .text(let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return true }  // blank line
                chunk.starts.append(chunk.bytes.count)
                chunk.lineNumbers.append(lineNumber)
                chunk.bytes.append(contentsOf: bytes)
            }
            if chunk.lineNumbers.count >= maxChunkLines || chunk.bytes.count >= maxChunkBytes { submit() }
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
        appendQueue.sync {}
        bar.finish()
        let final = shared.state.withLock { $0 }
        if final.printedSkips > 100 { Console.error("… and \(final.printedSkips - 100) more skipped lines") }
        return Summary(
            stored: final.durable, skipped: final.skipped, stoppedAt: final.stoppedAt,
            storageError: final.storageError, lastStoredLine: final.lastDurableLine, bytesRead: reader.bytesRead,
            seconds: monotonicSeconds() - started)
    }

    private static func decode(_ chunk: Chunk, with decoder: EventDecoder, into out: Decoded) {
        for (line, count) in chunk.tooLong {
            out.invalid.append(
                (
                    line,
                    AuditLogError(
                        .invalidEvent,
                        "line is at least \(count) bytes, over the event limit of \(decoder.limits.maxEventBytes) bytes",
                        line: line)
                ))
        }
        chunk.bytes.withUnsafeBytes { raw in
            for (i, start) in chunk.starts.enumerated() {
                let end = i + 1 < chunk.starts.count ? chunk.starts[i + 1] : raw.count
                do throws(AuditLogError) {
                    out.events.append(try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[start..<end])))
                    out.eventLines.append(chunk.lineNumbers[i])
                } catch {
                    out.invalid.append((chunk.lineNumbers[i], error.at(line: chunk.lineNumbers[i])))
                }
            }
        }
        out.invalid.sort { $0.line < $1.line }
    }

    /// Appends a decoded chunk in input order (append stage only).
    private func append(_ decoded: Decoded, shared: Shared) {
        guard !shared.state.withLock({ $0.stop }) else { return }
        var events = decoded.events
        var lines = decoded.eventLines
        var stop: (line: Int, error: AuditLogError)?
        if let first = decoded.invalid.first {
            if skipInvalid {
                shared.state.withLock { state in
                    for (_, error) in decoded.invalid {
                        if state.printedSkips < 100 { Console.error("skipped \(error)") }
                        state.printedSkips += 1
                    }
                    state.skipped += decoded.invalid.count
                }
            } else {
                // Only what comes before the first bad line is stored.
                let keep = lines.firstIndex { $0 > first.line } ?? lines.count
                events.removeSubrange(keep...)
                lines.removeSubrange(keep...)
                stop = first
            }
        }
        if !events.isEmpty {
            do throws(AuditLogError) {
                try log.append(events)
                let durable = shared.state.withLock { state in
                    state.durable += events.count
                    state.lastDurableLine = lines.last!
                    return state.durable
                }
                if case .json = progress { Console.error("{\"durableEvents\": \(durable)}") }
            } catch {
                shared.state.withLock { $0.storageError = error }
                return
            }
        }
        if let stop { shared.state.withLock { $0.stoppedAt = stop } }
    }
}
