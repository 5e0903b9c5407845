/// Writes a stored record straight to its export JSON, without building an ``AuditEvent``: the export fast path.
///
/// The output is byte for byte what ``StoredEvent/appendJSON(to:)`` writes for the decoded record (the tests hold
/// the two to that), and the record is checked by the same ``RecordFields`` as ``RecordCodec/decode(_:)``: a
/// record that would not decode throws instead of producing JSON. `perf record` of `auditlog export` put decoding into
/// Swift strings and re-encoding them at 64% of the time (retain/release, UTF-8 validation into `String`,
/// copies); this reads each field once, validates it and escapes it into the output.
enum RecordJSON {
    /// Appends the JSON object of `record` (no newline) to `out`. On failure `out` is left as it was.
    static func append(_ record: UnsafeRawBufferPointer, using hasher: MerkleHasher, to out: inout [UInt8])
        throws(DecodeFailure)
    {
        let fields = try RecordFields(record)
        append(fields, leafHash: RecordCodec.leafHash(of: record, using: hasher), to: &out)
    }

    /// Appends the JSON object of a record's fields (no newline) to `out`: key literals copied whole, numbers,
    /// dates and hex from tables, strings escaped in runs.
    static func append(_ f: RecordFields, leafHash: SHA256Hash, to out: inout some ByteOutput) {
        func string(_ name: StaticString, _ bytes: UnsafeRawBufferPointer, comma: Bool = true) {
            JSONWriter.appendKey(name, comma: comma, to: &out)
            JSONWriter.appendString(bytes, to: &out)
        }
        func optional(_ name: StaticString, _ bytes: UnsafeRawBufferPointer?) {
            if let bytes { string(name, bytes) }
        }
        func json(_ name: StaticString, _ bytes: UnsafeRawBufferPointer?) {
            guard let bytes else { return }
            JSONWriter.appendKey(name, comma: true, to: &out)
            out.append(bytes: bytes)  // stored in canonical JSON text
        }

        out.append(UInt8(ascii: "{"))
        string("id", f.id, comma: false)
        out.append(#","seq":"#)
        JSONWriter.appendDecimal(f.seq, to: &out)
        out.append(#","leafHash":"#)
        JSONWriter.appendHash(leafHash, to: &out)
        out.append(#","timestamp":"#)
        JSONWriter.appendTimestamp(milliseconds: f.timestamp, to: &out)
        out.append(#","actor":{"type":"#)
        out.append(f.actorType.jsonLiteral)
        string("id", f.actorID)
        optional("name", f.actorName)
        if f.hasRoles {
            out.append(#","roles":["#)
            var first = true
            f.forEachRole { role in
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONWriter.appendString(role, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        optional("authMethod", f.authMethod)
        out.append(UInt8(ascii: "}"))
        string("action", f.action)
        out.append(#","resource":{"type":"#)
        JSONWriter.appendString(f.resourceType, to: &out)
        string("id", f.resourceID)
        optional("name", f.resourceName)
        out.append(UInt8(ascii: "}"))
        func reference(_ name: StaticString, _ id: UnsafeRawBufferPointer?, _ referenceName: UnsafeRawBufferPointer?) {
            guard let id else { return }
            JSONWriter.appendKey(name, comma: true, to: &out)
            out.append(UInt8(ascii: "{"))
            string("id", id, comma: false)
            optional("name", referenceName)
            out.append(UInt8(ascii: "}"))
        }
        reference("org", f.orgID, f.orgName)
        reference("project", f.projectID, f.projectName)
        optional("source", f.source)
        optional("ip", f.ip)
        optional("userAgent", f.userAgent)
        json("before", f.before)
        json("after", f.after)
        json("metadata", f.metadata)
        if let redaction = f.redaction {
            out.append(#","redacted":"#)
            redaction.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

extension AuditEvent.Actor.Kind {
    /// The raw value as a JSON string literal, quotes included.
    var jsonLiteral: StaticString {
        switch self {
        case .user: #""user""#
        case .apiKey: #""api_key""#
        case .service: #""service""#
        case .system: #""system""#
        }
    }
}
