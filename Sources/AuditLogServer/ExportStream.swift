import AuditLog
import AuditLogKeys
import Dispatch
import Foundation
import NIOCore
import Synchronization

/// Hands the chunks of an export, produced by the library's synchronous export on a thread of its own, to the
/// response writer, a few at a time: the thread waits while the client is slow (backpressure, so memory stays
/// bounded by `capacity` chunks of about 64 KiB), and stops as soon as the client is gone.
final class ExportStream: Sendable {
    private struct State {
        var chunks: [ByteBuffer] = []
        var finished: Result<ExportSummary, AuditLogError>?
        var cancelled = false
        var consumer: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    /// Free places for chunks: the producer takes one per chunk, the consumer gives one back per chunk taken.
    private let room: DispatchSemaphore
    private let capacity: Int

    init(capacity: Int = 4) {
        self.capacity = capacity
        room = DispatchSemaphore(value: capacity)
    }

    /// Starts the export on a new thread.
    func start(
        reader: AuditLogReader, query: Query, format: ExportEncoder.Format, mapping: SIEMMapping
    ) {
        let thread = Thread { [self] in
            let result = Result { () throws(AuditLogError) in
                try reader.export(matching: query, format: format, mapping: mapping) { (bytes) throws(AuditLogError) in
                    self.produce(ByteBuffer(bytes: bytes))
                }
            }
            finish(result)
        }
        thread.name = "auditlog-export"
        thread.start()
    }

    /// Producer: queues a chunk, waiting for room. False when the consumer is gone.
    private func produce(_ chunk: ByteBuffer) -> Bool {
        room.wait()
        let (go, waiting) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            if state.cancelled { return (false, nil) }
            state.chunks.append(chunk)
            defer { state.consumer = nil }
            return (true, state.consumer)
        }
        waiting?.resume()
        return go
    }

    private func finish(_ result: Result<ExportSummary, AuditLogError>) {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = result
            defer { state.consumer = nil }
            return state.consumer
        }
        waiting?.resume()
    }

    /// Consumer: the next chunk, nil at the end (with the summary), or the export's error.
    func next() async -> (chunk: ByteBuffer?, end: Result<ExportSummary, AuditLogError>?) {
        while true {
            let taken = state.withLock { state -> (ByteBuffer?, Result<ExportSummary, AuditLogError>?)? in
                if !state.chunks.isEmpty { return (state.chunks.removeFirst(), nil) }
                if let finished = state.finished { return (nil, finished) }
                return nil
            }
            if let taken {
                if taken.0 != nil { room.signal() }
                return taken
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if !state.chunks.isEmpty || state.finished != nil { return true }
                    state.consumer = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// The client is gone: the producer stops at its next chunk.
    func cancel() {
        state.withLock { $0.cancelled = true }
        room.signal()
    }
}
