extension StoredEvent {
    /// Appends the event as one JSON object: the input fields plus `seq` and `leafHash`, in the order of
    /// FORMAT.md ("Exports"). Absent optional fields are left out; the timestamp is RFC 3339 UTC with
    /// milliseconds. Decoding the output gives back the same event.
    public func appendJSON(to out: inout [UInt8]) {
        event.appendJSON(to: &out, seq: seq, leafHash: leafHash, redaction: redaction)
    }

    /// The event as one line of JSON (without the newline).
    public var jsonString: String {
        var out: [UInt8] = []
        appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

extension AuditEvent {
    /// Appends the event as one JSON object in the input format (README, "The event").
    public func appendJSON(to out: inout [UInt8]) {
        appendJSON(to: &out, seq: nil, leafHash: nil, redaction: nil)
    }

    /// The event as one line of JSON (without the newline).
    public var jsonString: String {
        var out: [UInt8] = []
        appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func appendJSON(to out: inout [UInt8], seq: UInt64?, leafHash: SHA256Hash?, redaction: Redaction?) {
        let event = self
        func key(_ name: StaticString) { JSONWriter.appendKey(name, to: &out) }
        func string(_ name: StaticString, _ value: String?, comma: Bool = true) {
            JSONWriter.appendMember(name, value, comma: comma, to: &out)
        }
        func reference(_ name: StaticString, _ value: AuditEvent.Reference?) {
            guard let value else { return }
            out.append(UInt8(ascii: ","))
            key(name)
            out.append(UInt8(ascii: "{"))
            string("id", value.id, comma: false)
            string("name", value.name)
            out.append(UInt8(ascii: "}"))
        }
        func json(_ name: StaticString, _ value: JSONText?) {
            guard let value else { return }
            out.append(UInt8(ascii: ","))
            key(name)
            out.append(contentsOf: value.text.utf8)
        }
        out.append(UInt8(ascii: "{"))
        string("id", event.id, comma: false)
        if let seq {
            out.append(UInt8(ascii: ","))
            key("seq")
            JSONWriter.appendDecimal(seq, to: &out)
        }
        if let leafHash {
            out.append(UInt8(ascii: ","))
            key("leafHash")
            JSONWriter.appendHash(leafHash, to: &out)
        }
        out.append(UInt8(ascii: ","))
        key("timestamp")
        JSONWriter.appendTimestamp(milliseconds: event.timestamp.millisecondsSinceEpoch, to: &out)
        out.append(UInt8(ascii: ","))
        key("actor")
        out.append(UInt8(ascii: "{"))
        string("type", event.actor.type.rawValue, comma: false)
        string("id", event.actor.id)
        string("name", event.actor.name)
        if let roles = event.actor.roles {
            out.append(UInt8(ascii: ","))
            key("roles")
            out.append(UInt8(ascii: "["))
            for (i, role) in roles.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(role, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        string("authMethod", event.actor.authMethod)
        out.append(UInt8(ascii: "}"))
        string("action", event.action)
        out.append(UInt8(ascii: ","))
        key("resource")
        out.append(UInt8(ascii: "{"))
        string("type", event.resource.type, comma: false)
        string("id", event.resource.id)
        string("name", event.resource.name)
        out.append(UInt8(ascii: "}"))
        reference("org", event.org)
        reference("project", event.project)
        string("source", event.source)
        string("ip", event.ip)
        string("userAgent", event.userAgent)
        json("before", event.before)
        json("after", event.after)
        json("metadata", event.metadata)
        if let redaction {
            out.append(UInt8(ascii: ","))
            key("redacted")
            redaction.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

extension Redaction {
    /// `{"by":<seq of the redaction event>,"fields":["actor.name",…]}`
    func appendJSON(to out: inout some ByteOutput) {
        out.append(#"{"by":"#)
        JSONWriter.appendDecimal(redactedBy, to: &out)
        out.append(#","fields":["#)
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(field.rawValue, to: &out)
        }
        out.append("]}")
    }
}
