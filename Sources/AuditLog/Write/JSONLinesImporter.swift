import Dispatch

/// Where JSON Lines come from.
public enum JSONLinesSource: Sendable {
    /// A file (or named pipe).
    case file(String)
    /// The process's standard input.
    case standardInput
}

/// What an import of JSON Lines stored, and where it stopped.
public struct JSONLinesImportSummary: Sendable {
    /// Events stored and acknowledged.
    public var stored = 0
    /// Invalid lines skipped (with `skipInvalid`).
    public var skipped = 0
    /// The bad line that stopped the import, and why. Everything before it is stored; nothing from it on.
    public var stoppedAt: (line: Int, error: AuditLogError)?
    /// The storage error that stopped the import (everything up to ``lastStoredLine`` is stored).
    public var storageError: AuditLogError?
    /// Line number of the last line whose event is stored.
    public var lastStoredLine = 0
    public var bytesRead: Int64 = 0
    public var duration: Duration = .zero

    public init() {}
}

/// Progress of an import, reported after each group commit.
public struct JSONLinesImportProgress: Sendable {
    /// Events stored and acknowledged so far.
    public var stored: Int
    /// Input bytes read so far.
    public var bytesRead: Int64
}

extension AuditLog {
    /// Appends the events of a JSON Lines input (one event object per line, README "The event"), in input order
    /// with consecutive seqs, in bounded memory.
    ///
    /// Lines are decoded on every core and appended in input order, one group commit per chunk of lines. A bad
    /// line (invalid JSON, a wrong field, an event over the limits) stops the import after every event before it
    /// is stored and acknowledged, and nothing from it on is stored: the summary names the line, the field and the
    /// reason, and the input can be resumed from that line. With `skipInvalid`, bad lines are reported through
    /// `onInvalidLine` and skipped instead. Blocks the calling thread until the input ends.
    /// - Parameters:
    ///   - progress: Called after each group commit, from the appending thread.
    ///   - onInvalidLine: Called with each skipped line's error (with `skipInvalid`), in input order.
    /// - Throws: Only when the input cannot be opened or read; refusals and storage errors are in the summary,
    ///   beside how much was stored.
    public func appendJSONLines(
        from source: JSONLinesSource, skipInvalid: Bool = false,
        progress: (@Sendable (JSONLinesImportProgress) -> Void)? = nil,
        onInvalidLine: (@Sendable (AuditLogError) -> Void)? = nil
    ) throws(AuditLogError) -> JSONLinesImportSummary {
        let input: FileDescriptor
        switch source {
        case .standardInput: input = .standardInput
        case .file(let path): input = try FileDescriptor.openInput(path)
        }
        let importer = JSONLinesImporter(
            writer: writer, limits: writer.options.limits, skipInvalid: skipInvalid, progress: progress,
            onInvalidLine: onInvalidLine)
        return try importer.run(input)
    }
}

/// The import pipeline behind ``AuditLog/appendJSONLines(from:skipInvalid:progress:onInvalidLine:)``.
///
/// Three stages: the calling thread splits the input into chunks of lines; chunks are decoded in parallel
/// (JSON parsing is the bottleneck, so it gets every core); a serial stage appends each chunk's events in input
/// order, one group commit per chunk. At most a few chunks are in flight, so memory stays bounded. A bad line
/// stops the pipeline after the events of the lines before it are appended, so "everything before the bad line
/// is stored and durable" holds exactly.
final class JSONLinesImporter: Sendable {
    private let writer: LogWriter
    private let limits: EventLimits
    private let skipInvalid: Bool
    private let progress: (@Sendable (JSONLinesImportProgress) -> Void)?
    private let onInvalidLine: (@Sendable (AuditLogError) -> Void)?
    private let maxChunkLines = 4096
    private let maxChunkBytes = 2 << 20
    /// Chunks read but not yet appended.
    private let maxChunksInFlight = 4

    init(
        writer: LogWriter, limits: EventLimits, skipInvalid: Bool,
        progress: (@Sendable (JSONLinesImportProgress) -> Void)?, onInvalidLine: (@Sendable (AuditLogError) -> Void)?
    ) {
        self.writer = writer
        self.limits = limits
        self.skipInvalid = skipInvalid
        self.progress = progress
        self.onInvalidLine = onInvalidLine
    }

    /// Lines copied out of the read buffer: their bytes, where each starts, and their line numbers.
    private struct Chunk: Sendable {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var lineNumbers: [Int] = []
        /// Lines over the size limit, by line number, with their length.
        var tooLong: [(line: Int, bytes: Int)] = []
    }

    /// A chunk's events, encoded and checked, or where it first went wrong.
    private final class Decoded: @unchecked Sendable {
        // @unchecked: written by one decode task, then read by the append stage after `done` is signalled.
        var batch = PendingBatch()
        /// The line of each event of `batch`.
        var eventLines: [Int] = []
        var invalid: [(line: Int, error: AuditLogError)] = []
        /// The bad line the import stops at (append stage).
        var stop: (line: Int, error: AuditLogError)?
        /// The system's random source failed.
        var saltFailure: AuditLogError?
        let done = DispatchSemaphore(value: 0)
    }

    /// What the append stage reports back.
    private struct State {
        var durable = 0
        var lastDurableLine = 0
        var skipped = 0
        var bytesRead: Int64 = 0
        var stoppedAt: (line: Int, error: AuditLogError)?
        var storageError: AuditLogError?
        var stop: Bool { stoppedAt != nil || storageError != nil }
    }

    private final class Shared: Sendable {
        let state = Locked(State())
    }

    func run(_ input: FileDescriptor) throws(AuditLogError) -> JSONLinesImportSummary {
        let started = monotonicNanoseconds()
        let shared = Shared()
        let appendQueue = DispatchQueue(label: "auditlog.import.append")
        let slots = DispatchSemaphore(value: maxChunksInFlight)
        let reader = LineReader(file: input, maxLineBytes: limits.maxEventBytes)
        var chunk = Chunk()

        func submit() {
            guard !chunk.lineNumbers.isEmpty || !chunk.tooLong.isEmpty else { return }
            let lines = chunk
            chunk = Chunk()
            slots.wait()
            let decoded = Decoded()
            let read = reader.bytesRead
            shared.state.withLock { $0.bytesRead = read }
            let limits = self.limits
            let skipInvalid = self.skipInvalid
            DispatchQueue.global().async {
                Self.encode(lines, limits: limits, skipInvalid: skipInvalid, into: decoded)
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
            return true
        }
        submit()
        appendQueue.sync {}
        let final = shared.state.withLock { $0 }
        var summary = JSONLinesImportSummary()
        summary.stored = final.durable
        summary.skipped = final.skipped
        summary.stoppedAt = final.stoppedAt
        summary.storageError = final.storageError
        summary.lastStoredLine = final.lastDurableLine
        summary.bytesRead = reader.bytesRead
        summary.duration = .nanoseconds(Int64(monotonicNanoseconds() - started))
        return summary
    }

    /// Encodes the events of a chunk into a batch, in line order. Without `skipInvalid`, it stops at the first bad
    /// line: nothing after it would be stored.
    private static func encode(_ chunk: Chunk, limits: EventLimits, skipInvalid: Bool, into out: Decoded) {
        for (line, count) in chunk.tooLong {
            out.invalid.append(
                (
                    line,
                    AuditLogError(
                        .invalidEvent,
                        "line is at least \(count) bytes, over the event limit of \(limits.maxEventBytes) bytes",
                        line: line)
                ))
        }
        let firstTooLong = skipInvalid ? Int.max : chunk.tooLong.first?.line ?? Int.max
        var encoder = JSONRecordEncoder(limits: limits)
        chunk.bytes.withUnsafeBytes { raw in
            for (i, start) in chunk.starts.enumerated() {
                let line = chunk.lineNumbers[i]
                if line > firstTooLong { break }
                let end = i + 1 < chunk.starts.count ? chunk.starts[i + 1] : raw.count
                do throws(AuditLogError) {
                    try encoder.encode(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                    try out.batch.add(encoder.record, limits: limits, allowReserved: false)
                    out.eventLines.append(line)
                } catch {
                    out.invalid.append((line, error.at(line: line)))
                    if !skipInvalid { break }
                }
            }
        }
        out.invalid.sort { $0.line < $1.line }
        do throws(AuditLogError) {
            try out.batch.finish()
        } catch {
            out.saltFailure = error
        }
    }

    /// Appends an encoded chunk in input order (append stage only).
    private func append(_ decoded: Decoded, shared: Shared) {
        guard !shared.state.withLock({ $0.stop }) else { return }
        if let first = decoded.invalid.first {
            if skipInvalid {
                for (_, error) in decoded.invalid { onInvalidLine?(error) }
                shared.state.withLock { $0.skipped += decoded.invalid.count }
            } else {
                // The batch holds only what comes before the first bad line.
                decoded.stop = first
            }
        }
        if let failure = decoded.saltFailure {
            shared.state.withLock { $0.storageError = failure }
            return
        }
        if decoded.batch.count > 0 {
            do throws(AuditLogError) {
                _ = try writer.append(decoded.batch)
                let report = shared.state.withLock { state in
                    state.durable += decoded.batch.count
                    state.lastDurableLine = decoded.eventLines.last!
                    return JSONLinesImportProgress(stored: state.durable, bytesRead: state.bytesRead)
                }
                progress?(report)
            } catch {
                shared.state.withLock { $0.storageError = error }
                return
            }
        }
        if let stop = decoded.stop { shared.state.withLock { $0.stoppedAt = stop } }
    }
}
