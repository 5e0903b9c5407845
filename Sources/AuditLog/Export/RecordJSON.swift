/// Writes a stored record straight to its export JSON, without building an ``AuditEvent``: the export fast path.
///
/// The output is byte for byte what ``StoredEvent/appendJSON(to:)`` writes for the decoded record (the tests hold
/// the two to that), and the record is checked as strictly as ``RecordCodec/decode(_:)`` checks it: a record
/// that would not decode throws instead of producing JSON. `perf record` of `auditlog export` put decoding into
/// Swift strings and re-encoding them at 64% of the time (retain/release, UTF-8 validation into `String`,
/// copies); this reads each field once, validates it and escapes it into the output.
enum RecordJSON {
    /// Appends the JSON object of `record` (no newline) to `out`. On failure `out` is left as it was.
    static func append(_ record: UnsafeRawBufferPointer, using hasher: MerkleHasher, to out: inout [UInt8])
        throws(DecodeFailure)
    {
        let start = out.count
        do throws(DecodeFailure) {
            try write(record, using: hasher, to: &out)
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    private static func write(_ record: UnsafeRawBufferPointer, using hasher: MerkleHasher, to out: inout [UInt8])
        throws(DecodeFailure)
    {
        typealias Presence = RecordCodec.Presence
        var r = ByteReader(record)
        let fixed = try RecordCodec.readFixedPart(&r)
        let presence = fixed.presence

        func key(_ name: StaticString) { JSONWriter.appendKey(name, to: &out) }
        /// A length-prefixed UTF-8 field, checked.
        func field(_ what: StaticString) throws(DecodeFailure) -> UnsafeRawBufferPointer {
            let at = r.position
            let length = try r.readVarint(what)
            guard length <= UInt64(r.remaining) else { throw DecodeFailure(reason: "truncated \(what)", offset: at) }
            let bytes = try r.readBytes(Int(length), what)
            guard UTF8Validator.isValid(bytes) else {
                throw DecodeFailure(reason: "\(what) is not valid UTF-8", offset: at)
            }
            return bytes
        }
        func string(_ name: StaticString, _ what: StaticString, comma: Bool = true) throws(DecodeFailure) {
            let bytes = try field(what)
            if comma { out.append(UInt8(ascii: ",")) }
            key(name)
            JSONWriter.appendString(bytes, to: &out)
        }
        func optional(_ bit: UInt16, _ name: StaticString, _ what: StaticString) throws(DecodeFailure) {
            if presence & bit != 0 { try string(name, what) }
        }
        func json(_ bit: UInt16, _ name: StaticString, _ what: StaticString) throws(DecodeFailure) {
            guard presence & bit != 0 else { return }
            let bytes = try field(what)
            out.append(UInt8(ascii: ","))
            key(name)
            out.append(contentsOf: bytes)  // stored in canonical JSON text
        }

        out.append(UInt8(ascii: "{"))
        try string("id", "id", comma: false)
        out.append(UInt8(ascii: ","))
        key("seq")
        JSONWriter.appendDecimal(fixed.seq, to: &out)
        out.append(UInt8(ascii: ","))
        key("leafHash")
        JSONWriter.appendHash(RecordCodec.leafHash(of: record, using: hasher), to: &out)
        out.append(UInt8(ascii: ","))
        key("timestamp")
        JSONWriter.appendTimestamp(milliseconds: fixed.timestamp, to: &out)
        out.append(UInt8(ascii: ","))
        key("actor")
        out.append(UInt8(ascii: "{"))
        key("type")
        JSONWriter.appendString(fixed.actorType.rawValue, to: &out)
        try string("id", "actor.id")
        try optional(Presence.actorName, "name", "actor.name")
        if presence & Presence.actorRoles != 0 {
            let at = r.position
            let count = try r.readVarint("role count")
            guard count <= UInt64(r.remaining) else { throw DecodeFailure(reason: "role count too large", offset: at) }
            out.append(UInt8(ascii: ","))
            key("roles")
            out.append(UInt8(ascii: "["))
            for i in 0..<count {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(try field("role"), to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        try optional(Presence.actorAuthMethod, "authMethod", "actor.authMethod")
        out.append(UInt8(ascii: "}"))
        try string("action", "action")
        out.append(UInt8(ascii: ","))
        key("resource")
        out.append(UInt8(ascii: "{"))
        try string("type", "resource.type", comma: false)
        try string("id", "resource.id")
        try optional(Presence.resourceName, "name", "resource.name")
        out.append(UInt8(ascii: "}"))
        for (idBit, nameBit, name, idWhat, nameWhat): (UInt16, UInt16, StaticString, StaticString, StaticString) in [
            (Presence.org, Presence.orgName, "org", "org.id", "org.name"),
            (Presence.project, Presence.projectName, "project", "project.id", "project.name"),
        ] where presence & idBit != 0 {
            out.append(UInt8(ascii: ","))
            key(name)
            out.append(UInt8(ascii: "{"))
            try string("id", idWhat, comma: false)
            try optional(nameBit, "name", nameWhat)
            out.append(UInt8(ascii: "}"))
        }
        try optional(Presence.source, "source", "source")
        try optional(Presence.ip, "ip", "ip")
        try optional(Presence.userAgent, "userAgent", "userAgent")
        try json(Presence.before, "before", "before")
        try json(Presence.after, "after", "after")
        try json(Presence.metadata, "metadata", "metadata")
        guard r.isAtEnd else { throw DecodeFailure(reason: "trailing bytes after record", offset: r.position) }
        if let redaction = fixed.redaction {
            out.append(UInt8(ascii: ","))
            key("redacted")
            redaction.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}
