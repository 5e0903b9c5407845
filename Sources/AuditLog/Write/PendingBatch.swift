/// One append's events, validated and encoded as canonical records on the caller's thread, waiting for a commit.
struct PendingBatch {
    /// Length-prefixed records, seq fields still zero (the leader writes them).
    var records: [UInt8] = []
    /// Offsets of each record's length prefix in `records`.
    var offsets: [Int] = []
    var firstSeq: UInt64 = 0
    var count: Int { offsets.count }
    /// The batch's contribution to its segment's facet summary, counted here rather than by decoding the records
    /// again at seal.
    var facets = SegmentFacets(baseSeq: 0)

    /// Validates and encodes `events` with fresh random salts. All or nothing: the first event that breaks the
    /// limits is refused, naming its place in the batch and the field.
    /// - Parameter allowReserved: The log's own retention and redaction events may use the reserved actor.
    init(_ events: [AuditEvent], limits: EventLimits, allowReserved: Bool) throws(AuditLogError) {
        offsets.reserveCapacity(events.count)
        var salts = [UInt8](repeating: 0, count: events.count * RecordCodec.saltSize)
        try salts.withUnsafeMutableBytes { buffer in
            Result { () throws(AuditLogError) in try SecureRandom.fill(buffer) }
        }
        .get()
        var record: [UInt8] = []
        for (i, event) in events.enumerated() {
            do throws(AuditLogError) {
                try event.validate(limits: limits, allowReserved: allowReserved)
            } catch {
                throw events.count > 1 ? error.prefixed("event \(i) of the batch: ") : error
            }
            record.removeAll(keepingCapacity: true)
            salts.withUnsafeBytes { raw in
                let salt = UnsafeRawBufferPointer(
                    rebasing: raw[i * RecordCodec.saltSize..<(i + 1) * RecordCodec.saltSize])
                RecordCodec.encode(event, seq: 0, salt: salt, into: &record)
            }
            guard record.count <= limits.maxEventBytes else {
                throw AuditLogError(
                    .invalidEvent,
                    "event \(i) encodes to \(record.count) bytes, over the limit of \(limits.maxEventBytes)")
            }
            offsets.append(records.count)
            records.appendVarint(UInt64(record.count))
            records.append(contentsOf: record)
            facets.add(event)
        }
    }
}
