import AuditLog
import AuditLogSampleData

/// The benchmark events: the demo's deterministic generator (seed 1), produced in chunks so that even 10M events
/// never sit in memory at once. Every pass over the same count yields the same events in the same order.
public struct EventSource {
    public let count: Int
    public let chunkSize: Int

    public init(count: Int, chunkSize: Int = 10_000) {
        self.count = count
        self.chunkSize = chunkSize
    }

    /// The action and project of one event in every ``rarePeriod`` (0.01%), spread evenly over the log: what the
    /// rare-value queries look for.
    public static let rareAction = "billing.refund"
    public static let rareProject = "proj_rare"
    public static let rarePeriod = 10_000

    /// Calls `body` with consecutive chunks of events and the seq of each chunk's first event.
    public func forEachChunk(_ body: (_ firstSeq: Int, _ events: [AuditEvent]) throws -> Void) rethrows {
        var generator = SampleEventGenerator(seed: 1)
        var produced = 0
        while produced < count {
            let n = min(chunkSize, count - produced)
            var events = generator.events(n)
            for i in events.indices where (produced + i) % Self.rarePeriod == Self.rarePeriod / 2 {
                events[i].action = Self.rareAction
                events[i].project = AuditEvent.Reference(id: Self.rareProject)
            }
            try body(produced, events)
            produced += n
        }
    }
}
