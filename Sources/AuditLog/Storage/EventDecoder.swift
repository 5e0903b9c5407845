/// Decodes one event from a JSON object (one line of JSON Lines), with errors that name the field and reason:
/// `field "actor.type": expected one of user, api_key, service, system`.
///
/// Unknown fields are refused rather than dropped, so nothing is silently lost. `seq` and `leafHash`, which
/// exports add, are accepted and ignored: the log assigns its own. `null` for an optional field means absent,
/// except in `before` and `after`, where it is a value.
///
/// JSON goes straight to the canonical record the log stores (``JSONRecordEncoder``), which is validated once; an
/// ``AuditEvent`` is made from the record, as when one is read from disk. ``encodeBatch(_:format:defaultOrg:)``
/// skips the ``AuditEvent`` altogether.
public struct EventDecoder: Sendable {
    public var limits: EventLimits

    public init(limits: EventLimits = EventLimits()) {
        self.limits = limits
    }

    /// Decodes and validates one event.
    public func decode(_ json: String) throws(AuditLogError) -> AuditEvent {
        var copy = json
        return try copy.withUTF8 { utf8 in
            Result { () throws(AuditLogError) in try decode(UnsafeRawBufferPointer(utf8)) }
        }.get()
    }

    /// Decodes and validates one event from UTF-8 bytes.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(AuditLogError) -> AuditEvent {
        var encoder = JSONRecordEncoder(limits: limits)
        try encoder.encode(bytes)
        let fields = try RecordFields(trusted: encoder.record)
        try fields.validate(limits: limits, allowReserved: false)
        return fields.event
    }
}

/// Parses JSON events into their canonical records (FORMAT.md, "Record"): seq zero and an all-zero salt, which
/// ``PendingBatch`` fills in; the record is not yet validated against the limits (``RecordFields/validate``).
/// Keeps its buffers from one event to the next.
struct JSONRecordEncoder {
    let limits: EventLimits
    /// The org given to events that have none (an API key scoped to one org).
    var defaultOrg: String?
    private var recordBuffer = ByteBuffer()
    private var parsed = ParsedEvent()

    /// The last event's record, valid until the next call and while the encoder lives.
    var record: UnsafeRawBufferPointer { recordBuffer.bytes(0..<recordBuffer.count) }

    init(limits: EventLimits, defaultOrg: String? = nil) {
        self.limits = limits
        self.defaultOrg = defaultOrg
    }

    /// Parses one event object into ``record``.
    mutating func encode(_ bytes: UnsafeRawBufferPointer) throws(AuditLogError) {
        guard bytes.count <= limits.maxEventBytes else {
            throw AuditLogError(
                .invalidEvent, "event is \(bytes.count) bytes, over the limit of \(limits.maxEventBytes) bytes")
        }
        try EventParser.parse(bytes, limits: limits, into: &parsed)
        if parsed.orgID == nil, let defaultOrg {
            parsed.orgID = parsed.append(defaultOrg)
        }
        recordBuffer.removeAll()
        RecordCodec.encode(parsed, into: &recordBuffer)
    }
}

