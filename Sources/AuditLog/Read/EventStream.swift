/// The events of a log in seq order, as an `AsyncSequence`: up to the end of the log, or, following, on and on as
/// new events are committed.
///
/// ```swift
/// for try await stored in log.events(from: 0) { … }          // what is there now
/// for try await stored in reader.follow(from: lastShipped + 1) { … }   // and everything after, as it comes
/// ```
///
/// A follower of the writer's own ``AuditLog/reader`` is woken by each commit and sees acknowledged events only.
/// A follower of a directory (another process writes) polls the files, soon after an event and backing off to every
/// `pollInterval` while none comes (`pollInterval` / 8, doubling per empty look). Cancelling the task
/// ends the sequence promptly (the iterator returns `nil`). Reads are short `pread`s of complete blocks.
public struct EventStream: AsyncSequence, Sendable {
    public typealias Element = StoredEvent
    public typealias Failure = AuditLogError

    let reader: AuditLogReader
    let start: UInt64
    /// Nil: end at the end of the log. Otherwise how often a directory follower looks for new events.
    let pollInterval: Duration?

    public func makeAsyncIterator() -> Iterator {
        Iterator(reader: reader, start: start, pollInterval: pollInterval)
    }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = StoredEvent
        public typealias Failure = AuditLogError

        let reader: AuditLogReader
        let start: UInt64
        let pollInterval: Duration?
        private var iterator: EventIterator?
        /// Seq after the last event returned.
        private var position: UInt64
        /// Looks since the last event that found nothing (the directory follower's back-off).
        private var emptyPolls = 0

        init(reader: AuditLogReader, start: UInt64, pollInterval: Duration?) {
            self.reader = reader
            self.start = start
            self.pollInterval = pollInterval
            position = start
        }

        public mutating func next() async throws(AuditLogError) -> StoredEvent? {
            try await next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(AuditLogError)
            -> StoredEvent?
        {
            while !Task.isCancelled {
                if iterator == nil { iterator = try reader.eventIterator(from: position) }
                if let stored = try iterator!.next() {
                    position = stored.seq + 1
                    emptyPolls = 0
                    return stored
                }
                guard let pollInterval else { return nil }
                if let writer = reader.writer {
                    await writer.commits.wait(beyond: position, timeout: pollInterval)
                    iterator!.extendBound(to: writer.isClosed ? nil : writer.state.treeSize)
                } else {
                    do {
                        try await Task.sleep(
                            for: Swift.min(pollInterval, pollInterval / 8 * (1 << Swift.min(emptyPolls, 3))))
                        emptyPolls += 1
                    } catch {
                        return nil
                    }
                }
            }
            return nil
        }
    }
}
