/// OCSF 1.5 events and Elastic Common Schema documents of stored events, one JSON object each (FORMAT.md, "SIEM
/// formats"): what `--format ocsf` and `--format ecs` write, a line per event.
enum SIEMEncoder {
    static let product = "swift-audit-log"
    /// The version in OCSF `metadata.product.version`.
    static let productVersion = "1.0.0"
    static let ocsfVersion = "1.5.0"
    static let ecsVersion = "9.4.0"

    // MARK: OCSF

    static func appendOCSF(
        _ stored: StoredEvent, mapping: SIEMMapping, cache: inout [String: SIEMMapping.Classification],
        to out: inout [UInt8]
    ) {
        let e = stored.event
        let http = SIEMMapping.HTTPFacts(e.metadata)
        let c = mapping.classify(e, http: http, cache: &cache)
        let k = c.ocsfClass
        var o = ObjectWriter(&out)
        o.number("activity_id", Int64(c.activityID))
        o.string("activity_name", c.activityName)
        o.number("category_uid", Int64(k.categoryUID))
        o.string("category_name", k.categoryName)
        o.number("class_uid", Int64(k.uid))
        o.string("class_name", k.name)
        o.number("type_uid", Int64(k.uid * 100 + c.activityID))
        o.string("type_name", "\(k.name): \(c.activityName)")
        o.number("severity_id", 1)
        o.string("severity", "Informational")
        o.number("status_id", Int64(c.statusID))
        o.string("status", ["Unknown", "Success", "Failure"][c.statusID])
        o.number("time", e.timestamp.millisecondsSinceEpoch)
        o.string("message", e.action)
        o.object("metadata") { m in
            m.string("version", ocsfVersion)
            m.object("product") { p in
                p.string("name", product)
                p.string("vendor_name", product)
                p.string("version", productVersion)
            }
            m.string("uid", e.id)
            m.unsigned("sequence", stored.seq)
            m.string("log_provider", product)
            m.string("event_code", e.action)
            m.string("tenant_uid", e.org?.id)
        }
        o.object("actor") { a in a.object("user") { appendOCSFActor(e, to: &$0) } }
        if let ip = e.ip {
            o.object("src_endpoint") { $0.string("ip", ip) }
        } else if k == .apiActivity {
            // Required by the class: the endpoint as far as the event knows it.
            o.object("src_endpoint") { $0.string("name", e.source ?? "unknown") }
        }
        if e.userAgent != nil || http.method != nil {
            o.object("http_request") { r in
                r.string("http_method", http.method)
                r.string("user_agent", e.userAgent)
            }
        }
        switch k {
        case .entityManagement:
            o.object("entity") { appendOCSFEntity(e.resource, data: e.before, to: &$0) }
            o.object("entity_result") { appendOCSFEntity(e.resource, data: e.after, to: &$0) }
        case .accountChange:
            o.object("user") { u in
                u.string("uid", e.resource.id)
                u.string("name", e.resource.name)
                if credentialTypes.contains(SIEMMapping.normalized(e.resource.type)) {
                    u.string("credential_uid", e.resource.id)
                    u.number("type_id", 99)
                    u.string("type", e.resource.type)
                } else {
                    u.number("type_id", 1)
                    u.string("type", "User")
                }
            }
        case .authentication:
            o.object("user") { appendOCSFActor(e, to: &$0) }
        case .apiActivity:
            o.object("api") { a in
                a.string("operation", e.action)
                a.object("request") { $0.string("uid", e.id) }
                if let status = http.status { a.object("response") { $0.number("code", status) } }
            }
            o.array("resources") { list in
                list.object { r in
                    r.string("uid", e.resource.id)
                    r.string("name", e.resource.name)
                    r.string("type", e.resource.type)
                }
            }
        }
        o.object("unmapped") { u in
            u.string("leafHash", stored.leafHash.hex)
            u.string("action", e.action)
            u.object("actor") { a in
                a.string("type", e.actor.type.rawValue)
                a.string("authMethod", e.actor.authMethod)
            }
            if k != .entityManagement {
                u.object("resource") { r in
                    r.string("type", e.resource.type)
                    r.string("id", e.resource.id)
                    r.string("name", e.resource.name)
                }
                u.json("before", e.before)
                u.json("after", e.after)
            }
            if let org = e.org { u.object("org") { appendReference(org, to: &$0) } }
            if let project = e.project { u.object("project") { appendReference(project, to: &$0) } }
            u.string("source", e.source)
            u.json("metadata", e.metadata)
            if let redaction = stored.redaction { u.raw("redacted") { redaction.appendJSON(to: &$0) } }
        }
        o.finish(into: &out)
    }

    static let credentialTypes: Set<String> = ["apikey", "token", "accesstoken", "credential", "password"]

    private static func appendOCSFActor(_ e: AuditEvent, to u: inout ObjectWriter) {
        u.string("uid", e.actor.id)
        u.string("name", e.actor.name)
        switch e.actor.type {
        case .user:
            u.number("type_id", 1)
            u.string("type", "User")
        case .system:
            u.number("type_id", 3)
            u.string("type", "System")
        case .apiKey:
            u.number("type_id", 99)
            u.string("type", "API key")
            u.string("credential_uid", e.actor.id)
        case .service:
            u.number("type_id", 99)
            u.string("type", "Service")
        }
        if let roles = e.actor.roles, !roles.isEmpty {
            u.array("groups") { list in for role in roles { list.object { $0.string("name", role) } } }
        }
        if let org = e.org { u.object("org") { appendReference(org, uidKey: true, to: &$0) } }
    }

    private static func appendOCSFEntity(_ resource: AuditEvent.Resource, data: JSONText?, to m: inout ObjectWriter) {
        m.string("uid", resource.id)
        m.string("name", resource.name)
        m.string("type", resource.type)
        m.json("data", data)
    }

    private static func appendReference(
        _ reference: AuditEvent.Reference, uidKey: Bool = false, to r: inout ObjectWriter
    ) {
        if uidKey { r.string("uid", reference.id) } else { r.string("id", reference.id) }
        r.string("name", reference.name)
    }

    // MARK: ECS

    static func appendECS(
        _ stored: StoredEvent, mapping: SIEMMapping, cache: inout [String: SIEMMapping.Classification],
        to out: inout [UInt8]
    ) {
        let e = stored.event
        let http = SIEMMapping.HTTPFacts(e.metadata)
        let c = mapping.classify(e, http: http, cache: &cache)
        var o = ObjectWriter(&out)
        o.raw("@timestamp") { out in
            out.append(UInt8(ascii: "\""))
            RFC3339.append(milliseconds: e.timestamp.millisecondsSinceEpoch, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        o.object("ecs") { $0.string("version", ecsVersion) }
        o.object("event") { v in
            v.string("kind", "event")
            v.array("category") { $0.string(c.ecsCategory) }
            v.array("type") { list in for type in c.ecsTypes { list.string(type) } }
            v.string("action", e.action)
            v.string("outcome", ["unknown", "success", "failure"][c.statusID])
            v.string("id", e.id)
            v.unsigned("sequence", stored.seq)
            v.string("hash", stored.leafHash.hex)
            v.string("provider", product)
            v.string("dataset", "swift_audit_log.events")
        }
        o.object("user") { u in
            u.string("id", e.actor.id)
            u.string("name", e.actor.name)
            if let roles = e.actor.roles, !roles.isEmpty { u.array("roles") { l in for r in roles { l.string(r) } } }
        }
        if let ip = e.ip { o.object("source") { $0.string("ip", ip) } }
        if let agent = e.userAgent { o.object("user_agent") { $0.string("original", agent) } }
        if let org = e.org { o.object("organization") { appendReference(org, to: &$0) } }
        if http.method != nil || http.status != nil {
            o.object("http") { h in
                if let method = http.method { h.object("request") { $0.string("method", method) } }
                if let status = http.status { h.object("response") { $0.number("status_code", status) } }
            }
        }
        o.object("related") { r in
            r.array("user") { list in
                list.string(e.actor.id)
                if let name = e.actor.name, name != e.actor.id { list.string(name) }
            }
            if let ip = e.ip { r.array("ip") { $0.string(ip) } }
        }
        if e.project != nil || e.source != nil {
            o.object("labels") { l in
                l.string("project_id", e.project?.id)
                l.string("source", e.source)
            }
        }
        o.object("audit_log") { a in
            a.object("actor") { x in
                x.string("type", e.actor.type.rawValue)
                x.string("auth_method", e.actor.authMethod)
            }
            a.object("resource") { r in
                r.string("type", e.resource.type)
                r.string("id", e.resource.id)
                r.string("name", e.resource.name)
            }
            if let project = e.project { a.object("project") { appendReference(project, to: &$0) } }
            a.string("source", e.source)
            a.json("before", e.before)
            a.json("after", e.after)
            a.json("metadata", e.metadata)
            if let redaction = stored.redaction { a.raw("redacted") { redaction.appendJSON(to: &$0) } }
        }
        o.finish(into: &out)
    }
}

/// Writes one JSON object member by member into a byte buffer, skipping absent values, with nested objects and
/// arrays written in place (no intermediate buffers).
struct ObjectWriter {
    var out: [UInt8] = []
    /// Whether the object or array being written has no member yet.
    private var first = true

    /// Starts an object at the end of `buffer`, which it takes over until ``finish(into:)``.
    init(_ buffer: inout [UInt8]) {
        swap(&out, &buffer)
        out.append(UInt8(ascii: "{"))
    }

    /// Closes the object and gives the buffer back.
    mutating func finish(into buffer: inout [UInt8]) {
        out.append(UInt8(ascii: "}"))
        swap(&out, &buffer)
    }

    private mutating func key(_ name: StaticString) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        JSONWriter.appendKey(name, to: &out)
    }

    private mutating func separate() {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        JSONWriter.appendString(value, to: &out)
    }

    mutating func number(_ name: StaticString, _ value: Int64) {
        key(name)
        JSONWriter.appendDecimal(value, to: &out)
    }

    mutating func unsigned(_ name: StaticString, _ value: UInt64) {
        key(name)
        JSONWriter.appendDecimal(value, to: &out)
    }

    /// Canonical JSON text as it is stored.
    mutating func json(_ name: StaticString, _ value: JSONText?) {
        guard let value else { return }
        key(name)
        out.append(contentsOf: value.text.utf8)
    }

    mutating func raw(_ name: StaticString, _ write: (inout [UInt8]) -> Void) {
        key(name)
        write(&out)
    }

    mutating func object(_ name: StaticString, _ body: (inout ObjectWriter) -> Void) {
        key(name)
        nested("{", "}", body)
    }

    mutating func array(_ name: StaticString, _ body: (inout ObjectWriter) -> Void) {
        key(name)
        nested("[", "]", body)
    }

    /// An array element.
    mutating func string(_ value: String) {
        separate()
        JSONWriter.appendString(value, to: &out)
    }

    /// An array element.
    mutating func object(_ body: (inout ObjectWriter) -> Void) {
        separate()
        nested("{", "}", body)
    }

    private mutating func nested(_ open: Unicode.Scalar, _ close: Unicode.Scalar, _ body: (inout ObjectWriter) -> Void)
    {
        out.append(UInt8(ascii: open))
        first = true
        body(&self)
        out.append(UInt8(ascii: close))
        first = false
    }
}
