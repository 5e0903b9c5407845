extension EventDecoder {
    /// Parses every event of a batch straight into the records the log stores, validated, all or nothing (errors
    /// as ``decodeBatch(_:format:)``): what an HTTP request body holds, appended with
    /// ``AuditLog/append(_:)-(EncodedEvents)`` without building an ``AuditEvent``.
    /// - Parameter defaultOrg: The `org.id` given to events that have no org.
    public func encodeBatch(_ bytes: UnsafeRawBufferPointer, format: BatchFormat, defaultOrg: String? = nil)
        throws(AuditLogError) -> EncodedEvents
    {
        var encoder = JSONRecordEncoder(limits: limits, defaultOrg: defaultOrg)
        var batch = PendingBatch()
        batch.records.reserveCapacity(bytes.count)
        try forEachEvent(in: bytes, format: format) { (json) throws(AuditLogError) in
            try encoder.encode(json)
            try batch.add(encoder.record, limits: limits, allowReserved: false)
        }
        try batch.finish()
        return EncodedEvents(batch: batch, limits: limits)
    }
}

/// Events parsed from JSON straight into the records the log stores and validated
/// (``EventDecoder/encodeBatch(_:format:defaultOrg:)``), ready to append with ``AuditLog/append(_:)-(EncodedEvents)``.
public struct EncodedEvents: Sendable {
    let batch: PendingBatch
    /// The limits the events were checked against; the log appends them only if its limits are the same.
    let limits: EventLimits

    /// How many events.
    public var count: Int { batch.count }

    /// The `id` of event `index`.
    public func eventID(at index: Int) -> String {
        field(index) { $0.id } ?? ""
    }

    /// The `org.id` of event `index`, nil when it has no org.
    public func orgID(at index: Int) -> String? {
        field(index) { $0.orgID }
    }

    private func field(_ index: Int, _ pick: (RecordFields) -> UnsafeRawBufferPointer?) -> String? {
        batch.records.withUnsafeBytes { raw in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[batch.offsets[index]...]))
            guard let length = try? r.readVarint("record length"), let record = try? r.readBytes(Int(length), "record"),
                let fields = try? RecordFields(record, checked: false), let bytes = pick(fields)
            else { return nil }
            return UTF8Validator.string(trusted: bytes)
        }
    }
}

