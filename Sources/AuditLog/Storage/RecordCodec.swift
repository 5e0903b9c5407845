/// The canonical binary record of one event: the bytes that are a Merkle leaf (FORMAT.md, "Record").
///
/// Canonical: an event has exactly one encoding. Fields are in a fixed order, optional fields are flagged in a
/// presence bitmap, varints are minimal, JSON values are in canonical text; the decoder refuses anything else.
enum RecordCodec {
    static let version: UInt8 = 1
    /// Byte offset of the little-endian u64 `seq` inside a record; the writer fills it in at commit.
    static let seqOffset = 5
    /// Byte offset of the little-endian i64 timestamp.
    static let timestampOffset = 13
    static let saltSize = 16
    static let fixedSize = 37
    /// A redacted record's fixed part: the salt is replaced by leaf hash (32), redacted-by seq (8), fields (2).
    static let redactedFixedSize = 63

    enum Flags {
        static let redacted: UInt8 = 1 << 0
    }

    enum Presence {
        static let actorName: UInt16 = 1 << 0
        static let actorRoles: UInt16 = 1 << 1
        static let actorAuthMethod: UInt16 = 1 << 2
        static let resourceName: UInt16 = 1 << 3
        static let org: UInt16 = 1 << 4
        static let orgName: UInt16 = 1 << 5
        static let project: UInt16 = 1 << 6
        static let projectName: UInt16 = 1 << 7
        static let source: UInt16 = 1 << 8
        static let ip: UInt16 = 1 << 9
        static let userAgent: UInt16 = 1 << 10
        static let before: UInt16 = 1 << 11
        static let after: UInt16 = 1 << 12
        static let metadata: UInt16 = 1 << 13
        static let all: UInt16 = (1 << 14) - 1
    }

    private static let actorTypes: [AuditEvent.Actor.Kind] = [.user, .apiKey, .service, .system]

    static func code(of kind: AuditEvent.Actor.Kind) -> UInt8 {
        switch kind {
        case .user: 0
        case .apiKey: 1
        case .service: 2
        case .system: 3
        }
    }

    /// Appends the record of `event` to `out`.
    static func encode(_ event: AuditEvent, seq: UInt64, salt: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        encode(event, seq: seq, flags: 0, into: &out) { $0.append(contentsOf: salt) }
    }

    /// Appends the record of `event` with an all-zero salt: to be salted before it is stored (``PendingBatch``),
    /// or only read back.
    static func encode(_ event: AuditEvent, seq: UInt64, into out: inout [UInt8]) {
        encode(event, seq: seq, flags: 0, into: &out) { $0.append(contentsOf: repeatElement(0, count: saltSize)) }
    }

    /// Appends the redacted record of `event` (whose `fields` were already removed): the salt gives way to the
    /// original leaf hash, the seq of the redaction event and the removed fields (FORMAT.md, "Redacted record").
    static func encodeRedacted(
        _ event: AuditEvent, seq: UInt64, leafHash: SHA256Hash, redactedBy: UInt64, fields: UInt16,
        into out: inout [UInt8]
    ) {
        encode(event, seq: seq, flags: Flags.redacted, into: &out) { out in
            leafHash.withUnsafeBytes { out.append(contentsOf: $0) }
            out.appendLittleEndian(redactedBy)
            out.appendLittleEndian(fields)
        }
    }

    private static func encode(
        _ event: AuditEvent, seq: UInt64, flags: UInt8, into out: inout [UInt8], fixedTail: (inout [UInt8]) -> Void
    ) {
        var presence: UInt16 = 0
        if event.actor.name != nil { presence |= Presence.actorName }
        if event.actor.roles != nil { presence |= Presence.actorRoles }
        if event.actor.authMethod != nil { presence |= Presence.actorAuthMethod }
        if event.resource.name != nil { presence |= Presence.resourceName }
        if let org = event.org {
            presence |= Presence.org
            if org.name != nil { presence |= Presence.orgName }
        }
        if let project = event.project {
            presence |= Presence.project
            if project.name != nil { presence |= Presence.projectName }
        }
        if event.source != nil { presence |= Presence.source }
        if event.ip != nil { presence |= Presence.ip }
        if event.userAgent != nil { presence |= Presence.userAgent }
        if event.before != nil { presence |= Presence.before }
        if event.after != nil { presence |= Presence.after }
        if event.metadata != nil { presence |= Presence.metadata }

        out.append(version)
        out.append(flags)
        out.append(code(of: event.actor.type))
        out.appendLittleEndian(presence)
        out.appendLittleEndian(seq)
        out.appendLittleEndian(event.timestamp.millisecondsSinceEpoch)
        fixedTail(&out)

        func optional(_ value: String?) {
            if let value { out.appendLengthPrefixed(value) }
        }
        out.appendLengthPrefixed(event.id)
        out.appendLengthPrefixed(event.actor.id)
        optional(event.actor.name)
        if let roles = event.actor.roles {
            out.appendVarint(UInt64(roles.count))
            for role in roles { out.appendLengthPrefixed(role) }
        }
        optional(event.actor.authMethod)
        out.appendLengthPrefixed(event.action)
        out.appendLengthPrefixed(event.resource.type)
        out.appendLengthPrefixed(event.resource.id)
        optional(event.resource.name)
        optional(event.org?.id)
        optional(event.org?.name)
        optional(event.project?.id)
        optional(event.project?.name)
        optional(event.source)
        optional(event.ip)
        optional(event.userAgent)
        optional(event.before?.text)
        optional(event.after?.text)
        optional(event.metadata?.text)
    }

    /// Appends the record of a parsed event with seq zero and an all-zero salt (``PendingBatch`` fills both in):
    /// the same bytes as ``encode(_:seq:salt:into:)`` of the same event.
    static func encode(_ e: ParsedEvent, into out: inout some ByteOutput) {
        var presence: UInt16 = 0
        if e.actorName != nil { presence |= Presence.actorName }
        if e.hasRoles { presence |= Presence.actorRoles }
        if e.authMethod != nil { presence |= Presence.actorAuthMethod }
        if e.resourceName != nil { presence |= Presence.resourceName }
        if e.orgID != nil {
            presence |= Presence.org
            if e.orgName != nil { presence |= Presence.orgName }
        }
        if e.projectID != nil {
            presence |= Presence.project
            if e.projectName != nil { presence |= Presence.projectName }
        }
        if e.source != nil { presence |= Presence.source }
        if e.ip != nil { presence |= Presence.ip }
        if e.userAgent != nil { presence |= Presence.userAgent }
        if e.before != nil { presence |= Presence.before }
        if e.after != nil { presence |= Presence.after }
        if e.metadata != nil { presence |= Presence.metadata }

        out.append(version)
        out.append(0)
        out.append(code(of: e.actorType))
        out.appendLittleEndian(presence)
        out.appendLittleEndian(UInt64(0))
        out.appendLittleEndian(e.timestamp ?? 0)
        withUnsafeBytes(of: (UInt64(0), UInt64(0))) { out.append(bytes: $0) }
        do {
            func field(_ range: Range<Int>?) {
                guard let range else { return }
                out.appendVarint(UInt64(range.count))
                out.append(bytes: e.text.bytes(range))
            }
            field(e.id)
            field(e.actorID)
            field(e.actorName)
            if e.hasRoles {
                out.appendVarint(UInt64(e.roles.count))
                for role in e.roles { field(role) }
            }
            field(e.authMethod)
            field(e.action)
            field(e.resourceType)
            field(e.resourceID)
            field(e.resourceName)
            field(e.orgID)
            field(e.orgName)
            field(e.projectID)
            field(e.projectName)
            field(e.source)
            field(e.ip)
            field(e.userAgent)
            field(e.before)
            field(e.after)
            field(e.metadata)
        }
    }

    /// Whether a record is a redacted record (flags bit 0).
    static func isRedacted(_ record: UnsafeRawBufferPointer) -> Bool {
        record.count > 1 && record[1] & Flags.redacted != 0
    }

    /// Where the variable part of a record starts: after the salt, or after a redacted record's longer fixed part.
    static func variablePartOffset(_ record: UnsafeRawBufferPointer) -> Int {
        isRedacted(record) ? redactedFixedSize : fixedSize
    }

    /// The record's Merkle leaf hash: `SHA-256(0x00 || record)`, or for a redacted record the hash of the
    /// original record, which it keeps (so the tree, checkpoints and proofs are unchanged by redaction).
    @inline(__always)
    static func leafHash(of record: UnsafeRawBufferPointer, using hasher: MerkleHasher) -> SHA256Hash {
        guard isRedacted(record), record.count >= redactedFixedSize else { return hasher.leafHash(record) }
        return SHA256Hash(UnsafeRawBufferPointer(rebasing: record[fixedSize - saltSize..<fixedSize - saltSize + 32]))
    }

    /// The redacted form of `record` without `fields` (presence bits), marked as redacted by event `redactedBy`;
    /// nil when the record already lacks all of them and says so.
    static func redacting(
        _ record: UnsafeRawBufferPointer, fields: UInt16, redactedBy: UInt64, hasher: MerkleHasher
    ) throws(DecodeFailure) -> [UInt8]? {
        let decoded = try decode(record)
        let previous = decoded.redaction.map { RedactableField.mask(of: $0.fields) } ?? 0
        let removed = previous | (fields & RedactableField.allMask)
        if removed == previous && decoded.redaction != nil { return nil }
        var event = decoded.event
        for field in RedactableField.fields(in: removed) { field.remove(from: &event) }
        var out: [UInt8] = []
        encodeRedacted(
            event, seq: decoded.seq, leafHash: leafHash(of: record, using: hasher), redactedBy: redactedBy,
            fields: removed, into: &out)
        return out
    }

    /// The leaf hashes of two records, the SHA-256 of both computed together when neither is redacted.
    @inline(__always)
    static func leafHashes(
        of first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, using hasher: MerkleHasher
    ) -> (SHA256Hash, SHA256Hash) {
        guard !isRedacted(first) && !isRedacted(second) else {
            return (leafHash(of: first, using: hasher), leafHash(of: second, using: hasher))
        }
        return hasher.leafHashes(first, second)
    }

    /// Reads the seq of a record without decoding it.
    static func seq(of record: UnsafeRawBufferPointer) -> UInt64 {
        UInt64(littleEndian: record.loadUnaligned(fromByteOffset: seqOffset, as: UInt64.self))
    }

    static func timestamp(of record: UnsafeRawBufferPointer) -> Int64 {
        Int64(littleEndian: record.loadUnaligned(fromByteOffset: timestampOffset, as: Int64.self))
    }

    /// A decoded record: its seq, its event and, for a redacted record, what was redacted and by which event.
    struct Decoded {
        var seq: UInt64
        var event: AuditEvent
        var redaction: Redaction?
    }

    /// Decodes a whole record into a ``StoredEvent`` with its leaf hash.
    static func decode(_ record: UnsafeRawBufferPointer, into: StoredEvent.Type, using hasher: MerkleHasher)
        throws(DecodeFailure) -> StoredEvent
    {
        let decoded = try decode(record)
        return StoredEvent(
            seq: decoded.seq, leafHash: leafHash(of: record, using: hasher), event: decoded.event,
            redaction: decoded.redaction)
    }

    /// The fixed part of a record, checked: what precedes the variable-length fields.
    /// Plain values only, so that ``RecordFields`` is copied as bytes (a `Redaction`, with its array, here made
    /// every copy of the fields in the export encoders a retain and release).
    struct FixedPart {
        var actorType: AuditEvent.Actor.Kind
        var presence: UInt16
        var seq: UInt64
        var timestamp: Int64
        var redacted = false
        /// The seq of the redaction event and the fields it removed, when `redacted`.
        var redactedBy: UInt64 = 0
        var redactedFields: UInt16 = 0

        var redaction: Redaction? {
            redacted ? Redaction(redactedBy: redactedBy, fields: RedactableField.fields(in: redactedFields)) : nil
        }
    }

    /// Reads and checks the fixed part of a record, leaving `r` at the first variable-length field (for
    /// ``RecordFields``). With `checked` false, a timestamp out of range and an inconsistent redaction pass (only
    /// for records just encoded from a ``StoredEvent`` someone built).
    static func readFixedPart(_ r: inout ByteReader, checked: Bool = true) throws(DecodeFailure) -> FixedPart {
        let version = try r.readByte("record version")
        guard version == Self.version else {
            throw DecodeFailure(reason: "record version \(version) is not supported (this library reads 1)", offset: 0)
        }
        let flags = try r.readByte("record flags")
        guard flags & ~Flags.redacted == 0 else {
            throw DecodeFailure(reason: "unknown record flags \(flags)", offset: 1)
        }
        let typeCode = try r.readByte("actor type")
        guard Int(typeCode) < actorTypes.count else {
            throw DecodeFailure(reason: "unknown actor type code \(typeCode)", offset: 2)
        }
        let presence = try r.readLittleEndian(UInt16.self, "presence bits")
        guard presence & ~Presence.all == 0,
            presence & Presence.orgName == 0 || presence & Presence.org != 0,
            presence & Presence.projectName == 0 || presence & Presence.project != 0
        else { throw DecodeFailure(reason: "invalid presence bits \(presence)", offset: 3) }
        let seq = try r.readLittleEndian(UInt64.self, "seq")
        let timestamp = try r.readLittleEndian(Int64.self, "timestamp")
        guard RFC3339.representable.contains(timestamp) || !checked else {
            throw DecodeFailure(reason: "timestamp \(timestamp) is outside years 0000-9999", offset: 13)
        }
        var fixed = FixedPart(actorType: actorTypes[Int(typeCode)], presence: presence, seq: seq, timestamp: timestamp)
        if flags & Flags.redacted != 0 {
            _ = try r.readBytes(32, "leaf hash")
            let by = try r.readLittleEndian(UInt64.self, "redacted by")
            let fields = try r.readLittleEndian(UInt16.self, "redacted fields")
            guard !checked || fields != 0 && fields & ~RedactableField.allMask == 0 && fields & presence == 0 && by > seq
            else {
                throw DecodeFailure(reason: "invalid redaction (fields \(fields), by seq \(by))", offset: 53)
            }
            fixed.redacted = true
            fixed.redactedBy = by
            fixed.redactedFields = fields
        } else {
            _ = try r.readBytes(saltSize, "salt")
        }
        return fixed
    }

    /// Decodes a whole record; every byte must be used.
    static func decode(_ record: UnsafeRawBufferPointer) throws(DecodeFailure) -> Decoded {
        let f = try RecordFields(record)
        return Decoded(seq: f.seq, event: f.event, redaction: f.redaction)
    }
}

/// The stored record bytes of an event, for the benchmarks' physical-limit probes (LZ4 and SHA-256 speed on the
/// bytes the log really compresses and hashes). Not part of the public API.
@_spi(Benchmarks)
public enum RecordBytes {
    /// The record of `event` at `seq` with an all-zero salt: the same length and layout as the stored record.
    public static func of(_ event: AuditEvent, seq: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        RecordCodec.encode(event, seq: seq, into: &out)
        return out
    }
}

/// The fastest leaf hashing this process has, for the benchmarks' SHA-256 limit: the log's own path (the SHA
/// extensions two leaves at a time, or EVP). Not part of the public API.
@_spi(Benchmarks)
public enum LeafHashing {
    /// Which SHA-256 the log uses here: "sha-extensions" or "evp".
    public static var implementation: String { SHA256Implementation.current.rawValue }

    /// The RFC 6962 leaf hashes of `records`, two at a time where the implementation can; returns a fold of the
    /// hashes.
    public static func hashAll(_ records: [[UInt8]]) -> UInt64 {
        guard let hasher = try? MerkleHasher() else { return 0 }
        var fold: UInt64 = 0
        var i = 0
        while i + 1 < records.count {
            let (a, b) = records[i].withUnsafeBytes { ra in
                records[i + 1].withUnsafeBytes { rb in hasher.leafHashes(ra, rb) }
            }
            fold ^= a.storage.0 ^ b.storage.0
            i += 2
        }
        if i < records.count { fold ^= hasher.leafHash(records[i]).storage.0 }
        return fold
    }
}
