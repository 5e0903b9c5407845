/// A batch of events encoded as records, checked and ready for the writer to commit: the one place where events,
/// whether ``AuditEvent``s or JSON (``JSONRecordEncoder``), are validated and counted in the facet summary.
struct PendingBatch: Sendable {
    /// Length-prefixed records, seq fields still zero (the leader writes them).
    var records: [UInt8] = []
    /// Offsets of each record's length prefix in `records`.
    var offsets: [Int] = []
    var firstSeq: UInt64 = 0
    var count: Int { offsets.count }
    /// The batch's contribution to its segment's facet summary, counted here rather than by decoding the records
    /// again at seal.
    private(set) var tally = FacetTally()

    init() {}

    /// Validates and encodes `events` with fresh random salts. All or nothing: the first event that breaks the
    /// limits is refused, naming its place in the batch and the field.
    /// - Parameter allowReserved: The log's own retention and redaction events may use the reserved actor.
    /// - Parameter helper: With a large batch, encodes its second half there meanwhile, if the helper is free.
    init(_ events: [AuditEvent], limits: EventLimits, allowReserved: Bool, helper: HelperThread? = nil)
        throws(AuditLogError)
    {
        let half = events.count / 2
        if events.count >= Self.minimumToSplit, let helper {
            let second = Locked<Result<PendingBatch, AuditLogError>?>(nil)
            if helper.start({
                let batch = Result { () throws(AuditLogError) in
                    var batch = PendingBatch()
                    try batch.encode(events[half...], of: events.count, limits: limits, allowReserved: allowReserved)
                    return batch
                }
                second.withLock { $0 = batch }
            }) {
                let first = Result { () throws(AuditLogError) in
                    try encode(events[..<half], of: events.count, limits: limits, allowReserved: allowReserved)
                }
                helper.wait()
                try first.get()
                if let rest = second.withLock({ $0 }) {
                    append(try rest.get())
                } else {  // cannot happen: `wait` returns after the task
                    try encode(events[half...], of: events.count, limits: limits, allowReserved: allowReserved)
                }
                try finish()
                return
            }
        }
        try encode(events[...], of: events.count, limits: limits, allowReserved: allowReserved)
        try finish()
    }

    /// Batches with fewer events are encoded on the calling thread alone (handing half over costs more).
    static let minimumToSplit = 256

    /// Encodes and adds `events`, part of a batch of `total`: a refused event is named by its place in the batch.
    private mutating func encode(
        _ events: ArraySlice<AuditEvent>, of total: Int, limits: EventLimits, allowReserved: Bool
    ) throws(AuditLogError) {
        offsets.reserveCapacity(offsets.count + events.count)
        var record: [UInt8] = []
        for (i, event) in zip(events.indices, events) {
            record.removeAll(keepingCapacity: true)
            RecordCodec.encode(event, seq: 0, into: &record)
            do throws(AuditLogError) {
                try record.withUnsafeBytes { bytes in
                    Result { () throws(AuditLogError) in try add(bytes, limits: limits, allowReserved: allowReserved) }
                }.get()
            } catch {
                throw total > 1 ? error.prefixed("event \(i) of the batch: ") : error
            }
        }
    }

    /// Adds the records of `other`, which follow this batch's.
    private mutating func append(_ other: PendingBatch) {
        let shift = records.count
        records.append(contentsOf: other.records)
        offsets.append(contentsOf: other.offsets.lazy.map { $0 + shift })
        tally.merge(other.tally)
    }

    /// Adds a record just encoded (seq and salt zero) once it passes the checks of the event contract, and counts
    /// it in the facet summary; a refused record adds nothing.
    mutating func add(_ record: UnsafeRawBufferPointer, limits: EventLimits, allowReserved: Bool)
        throws(AuditLogError)
    {
        let fields = try RecordFields(trusted: record)
        try fields.validate(limits: limits, allowReserved: allowReserved)
        guard record.count <= limits.maxEventBytes else {
            throw AuditLogError(
                .invalidEvent, "the event encodes to \(record.count) bytes, over the limit of \(limits.maxEventBytes)")
        }
        tally.add(fields)
        offsets.append(records.count)
        records.appendVarint(UInt64(record.count))
        records.append(bytes: record)
    }

    /// Gives every record fresh random salt (FORMAT.md, "Record"), once the batch is complete.
    mutating func finish() throws(AuditLogError) {
        guard !offsets.isEmpty else { return }
        var salts = [UInt8](repeating: 0, count: offsets.count * RecordCodec.saltSize)
        try salts.withUnsafeMutableBytes { buffer in
            Result { () throws(AuditLogError) in try SecureRandom.fill(buffer) }
        }
        .get()
        let saltAt = RecordCodec.fixedSize - RecordCodec.saltSize
        records.withUnsafeMutableBytes { raw in
            salts.withUnsafeBytes { salts in
                for (i, offset) in offsets.enumerated() {
                    var start = offset
                    while raw[start] & 0x80 != 0 { start += 1 }
                    (raw.baseAddress! + start + 1 + saltAt).copyMemory(
                        from: salts.baseAddress! + i * RecordCodec.saltSize, byteCount: RecordCodec.saltSize)
                }
            }
        }
    }
}
