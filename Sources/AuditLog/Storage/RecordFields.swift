/// The fields of a stored record as ranges of its bytes, read and checked once, without building strings: the one
/// walker of a record's variable-length part. ``RecordCodec/decode(_:)`` makes an ``AuditEvent`` of it (``event``); the export
/// transcoders (``RecordJSON``, the SIEM encoders) write straight from it. Every text field is checked to be valid
/// UTF-8, and every byte of the record must be used.
///
/// The ranges point into the record: use a `RecordFields` only while the record's memory lives.
struct RecordFields {
    var fixed: RecordCodec.FixedPart
    var id: UnsafeRawBufferPointer
    var actorID: UnsafeRawBufferPointer
    var actorName: UnsafeRawBufferPointer?
    /// The encoded roles (`count` length-prefixed strings, already checked), nil when the actor has none.
    private var rolesBytes: UnsafeRawBufferPointer?
    private(set) var roleCount = 0
    var authMethod: UnsafeRawBufferPointer?
    var action: UnsafeRawBufferPointer
    var resourceType: UnsafeRawBufferPointer
    var resourceID: UnsafeRawBufferPointer
    var resourceName: UnsafeRawBufferPointer?
    var orgID: UnsafeRawBufferPointer?
    var orgName: UnsafeRawBufferPointer?
    var projectID: UnsafeRawBufferPointer?
    var projectName: UnsafeRawBufferPointer?
    var source: UnsafeRawBufferPointer?
    var ip: UnsafeRawBufferPointer?
    var userAgent: UnsafeRawBufferPointer?
    /// Canonical JSON text, as stored.
    var before: UnsafeRawBufferPointer?
    var after: UnsafeRawBufferPointer?
    var metadata: UnsafeRawBufferPointer?

    var seq: UInt64 { fixed.seq }
    var timestamp: Int64 { fixed.timestamp }
    var actorType: AuditEvent.Actor.Kind { fixed.actorType }
    var redaction: Redaction? { fixed.redaction }
    /// Whether the actor has a list of roles (possibly empty).
    var hasRoles: Bool { rolesBytes != nil }

    /// - Parameter checked: false only for a record this process has just encoded (see
    ///   ``RecordCodec/readFixedPart(_:checked:)``): its text is not checked to be UTF-8 again.
    init(_ record: UnsafeRawBufferPointer, checked: Bool = true) throws(DecodeFailure) {
        typealias Presence = RecordCodec.Presence
        var r = ByteReader(record)
        fixed = try RecordCodec.readFixedPart(&r, checked: checked)
        let presence = fixed.presence
        // Straight-line reads (local closures here were not inlined and cost a third of a rare-value query).
        id = try Self.readText(&r, "id", checked: checked)
        actorID = try Self.readText(&r, "actor.id", checked: checked)
        actorName = try Self.readText(&r, presence, Presence.actorName, "actor.name", checked: checked)
        if presence & Presence.actorRoles != 0 {
            let at = r.position
            let count = try r.readVarint("role count")
            guard count <= UInt64(r.remaining) else { throw DecodeFailure(reason: "role count too large", offset: at) }
            let start = r.position
            for _ in 0..<count { _ = try Self.readText(&r, "role", checked: checked) }
            rolesBytes = UnsafeRawBufferPointer(rebasing: record[start..<r.position])
            roleCount = Int(count)
        }
        authMethod = try Self.readText(&r, presence, Presence.actorAuthMethod, "actor.authMethod", checked: checked)
        action = try Self.readText(&r, "action", checked: checked)
        resourceType = try Self.readText(&r, "resource.type", checked: checked)
        resourceID = try Self.readText(&r, "resource.id", checked: checked)
        resourceName = try Self.readText(&r, presence, Presence.resourceName, "resource.name", checked: checked)
        orgID = try Self.readText(&r, presence, Presence.org, "org.id", checked: checked)
        orgName = try Self.readText(&r, presence, Presence.orgName, "org.name", checked: checked)
        projectID = try Self.readText(&r, presence, Presence.project, "project.id", checked: checked)
        projectName = try Self.readText(&r, presence, Presence.projectName, "project.name", checked: checked)
        source = try Self.readText(&r, presence, Presence.source, "source", checked: checked)
        ip = try Self.readText(&r, presence, Presence.ip, "ip", checked: checked)
        userAgent = try Self.readText(&r, presence, Presence.userAgent, "userAgent", checked: checked)
        before = try Self.readText(&r, presence, Presence.before, "before", checked: checked)
        after = try Self.readText(&r, presence, Presence.after, "after", checked: checked)
        metadata = try Self.readText(&r, presence, Presence.metadata, "metadata", checked: checked)
        guard r.isAtEnd else { throw DecodeFailure(reason: "trailing bytes after record", offset: r.position) }
    }

    /// The event the fields hold, in Swift strings.
    var event: AuditEvent {
        func string(_ bytes: UnsafeRawBufferPointer) -> String { UTF8Validator.string(trusted: bytes) }
        var roles: [String]?
        if hasRoles {
            var list: [String] = []
            list.reserveCapacity(roleCount)
            forEachRole { list.append(string($0)) }
            roles = list
        }
        return AuditEvent(
            id: string(id), timestamp: Timestamp(millisecondsSinceEpoch: timestamp),
            actor: AuditEvent.Actor(
                type: actorType, id: string(actorID), name: actorName.map(string), roles: roles,
                authMethod: authMethod.map(string)),
            action: string(action),
            resource: AuditEvent.Resource(
                type: string(resourceType), id: string(resourceID), name: resourceName.map(string)),
            org: orgID.map { AuditEvent.Reference(id: string($0), name: orgName.map(string)) },
            project: projectID.map { AuditEvent.Reference(id: string($0), name: projectName.map(string)) },
            source: source.map(string), ip: ip.map(string), userAgent: userAgent.map(string),
            before: before.map { JSONText(canonical: string($0)) },
            after: after.map { JSONText(canonical: string($0)) },
            metadata: metadata.map { JSONText(canonical: string($0)) })
    }

    /// Calls `body` with each role, in order.
    func forEachRole<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        guard let rolesBytes else { return }
        var r = ByteReader(rolesBytes)
        for _ in 0..<roleCount {
            // Checked when the fields were read.
            guard let length = try? r.readVarint("role"), let role = try? r.readBytes(Int(length), "role") else {
                return
            }
            try body(role)
        }
    }

    /// An optional field: read when its presence bit is set.
    @inline(__always)
    private static func readText(
        _ r: inout ByteReader, _ presence: UInt16, _ bit: UInt16, _ what: StaticString, checked: Bool
    ) throws(DecodeFailure) -> UnsafeRawBufferPointer? {
        presence & bit != 0 ? try readText(&r, what, checked: checked) : nil
    }

    /// A varint length and that many bytes of valid UTF-8 (not checked again when not `checked`).
    @inline(__always)
    private static func readText(_ r: inout ByteReader, _ what: StaticString, checked: Bool) throws(DecodeFailure)
        -> UnsafeRawBufferPointer
    {
        let at = r.position
        let length = try r.readVarint(what)
        guard length <= UInt64(r.remaining) else { throw DecodeFailure(reason: "truncated \(what)", offset: at) }
        let bytes = try r.readBytes(Int(length), what)
        guard !checked || UTF8Validator.isValid(bytes) else {
            throw DecodeFailure(reason: "\(what) is not valid UTF-8", offset: at)
        }
        return bytes
    }

    /// The fields of a record this process has just encoded, from an ``AuditEvent`` or from JSON whose text was
    /// checked as it was parsed.
    init(trusted record: UnsafeRawBufferPointer) throws(AuditLogError) {
        do {
            try self.init(record, checked: false)
        } catch {
            throw AuditLogError(.invalidEvent, "the event has no valid record: \(error.reason)")
        }
    }
}

extension StoredEvent {
    /// Calls `body` with the fields of the event's record (re-encoded, so that encoders written for records serve
    /// decoded events too: one writer per format), nil only for an event no record can hold. The salt of a
    /// record that is not redacted is zeros, which no encoder reads.
    func withRecordFields<R>(_ body: (RecordFields) -> R) -> R? {
        var record: [UInt8] = []
        if let redaction, !redaction.fields.isEmpty {
            RecordCodec.encodeRedacted(
                event, seq: seq, leafHash: leafHash, redactedBy: redaction.redactedBy,
                fields: RedactableField.mask(of: redaction.fields), into: &record)
        } else {
            RecordCodec.encode(event, seq: seq, into: &record)
        }
        return record.withUnsafeBytes { bytes in
            // The encoder's own output, read without the checks an event built by hand could fail (a redaction
            // whose fields are still present): it always reads back.
            guard let fields = try? RecordFields(bytes, checked: false) else { return nil }
            return body(fields)
        }
    }
}
