/// OCSF 1.5 events and Elastic Common Schema documents of stored events, one JSON object each (FORMAT.md, "SIEM
/// formats"): what `--format ocsf` and `--format ecs` write, a line per event. They write straight from a record's
/// fields (no ``AuditEvent`` is built), like the JSON export's fast path.
enum SIEMEncoder {
    static let product = "swift-audit-log"
    /// The version in OCSF `metadata.product.version`.
    static let productVersion = "1.0.0"
    static let ocsfVersion = "1.5.0"
    static let ecsVersion = "9.4.0"

    /// What the encoders write about an event beyond its fields, decided by its action, resource type and HTTP
    /// method: its classification and the parts of both documents that follow from it, escaped and laid out once.
    /// An export meets the same few combinations again and again, so it is worked out once for each.
    final class Profile: Sendable {
        let classification: SIEMMapping.Classification
        /// Whether the resource is a credential (an API key, a token, a password).
        let credential: Bool
        /// The OCSF document's first members, `"activity_id"` to `"severity"`.
        let ocsfHead: [UInt8]
        /// ECS `event.kind`, `event.category` and `event.type`.
        let ecsCategorization: [UInt8]
        /// The action, the resource type and the HTTP method (upper case) as JSON strings.
        let action: [UInt8]
        let resourceType: [UInt8]
        let method: [UInt8]?

        init(_ c: SIEMMapping.Classification, credential: Bool, action: String, resourceType: String, method: String?) {
            classification = c
            self.credential = credential
            let k = c.ocsfClass
            ocsfHead = ObjectWriter.members { o in
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
            }
            ecsCategorization = ObjectWriter.members { v in
                v.string("kind", "event")
                v.array("category") { $0.string(c.ecsCategory) }
                v.array("type") { list in for type in c.ecsTypes { list.string(type) } }
            }
            self.action = ObjectWriter.json(action)
            self.resourceType = ObjectWriter.json(resourceType)
            self.method = method.map(ObjectWriter.json)
        }
    }

    /// OCSF `metadata.version` and `metadata.product`.
    static let ocsfProduct = ObjectWriter.members { m in
        m.string("version", ocsfVersion)
        m.object("product") { p in
            p.string("name", product)
            p.string("vendor_name", product)
            p.string("version", productVersion)
        }
    }
    /// OCSF `status_id` and `status` by status id.
    static let ocsfStatus = ["Unknown", "Success", "Failure"].enumerated().map { id, name in
        ObjectWriter.members { o in
            o.number("status_id", Int64(id))
            o.string("status", name)
        }
    }
    /// ECS `event.outcome` by status id.
    static let ecsOutcome = ["unknown", "success", "failure"].map { name in
        ObjectWriter.members { $0.string("outcome", name) }
    }
    /// ECS `event.provider` and `event.dataset`.
    static let ecsSource = ObjectWriter.members { v in
        v.string("provider", product)
        v.string("dataset", "swift_audit_log.events")
    }
    /// ECS `ecs`.
    static let ecsHeader = ObjectWriter.members { $0.object("ecs") { $0.string("version", ecsVersion) } }

    /// Profiles by action, resource type and HTTP method, at most 4,096, found by a hash of the three.
    struct ProfileCache: Sendable {
        private var profiles: [UInt64: (key: [UInt8], profile: Profile)] = [:]
        private var key: [UInt8] = []

        mutating func profile(_ f: RecordFields, http: SIEMMapping.HTTPFacts, mapping: SIEMMapping) -> Profile {
            key.removeAll(keepingCapacity: true)
            key.append(bytes: f.action)
            key.append(0x1F)
            key.append(bytes: f.resourceType)
            key.append(0x1F)
            if let method = http.method { key.append(contentsOf: method.utf8) }
            let hash = key.withUnsafeBytes { FNV1a.hash($0) }
            if let cached = profiles[hash], cached.key == key { return cached.profile }
            let action = UTF8Validator.string(trusted: f.action)
            let resourceType = UTF8Validator.string(trusted: f.resourceType)
            let c = mapping.classify(action: action, resourceType: resourceType, http: http)
            let profile = Profile(
                c, credential: credentialTypes.contains(SIEMMapping.normalized(resourceType)), action: action,
                resourceType: resourceType, method: http.method)
            if profiles.count >= 4096 { profiles.removeAll(keepingCapacity: true) }
            profiles[hash] = (key, profile)
            return profile
        }
    }

    // MARK: OCSF

    static func appendOCSF(
        _ f: RecordFields, leafHash: SHA256Hash, mapping: SIEMMapping, cache: inout ProfileCache,
        to out: inout ByteBuffer
    ) {
        let http = SIEMMapping.HTTPFacts(f.metadata)
        let profile = cache.profile(f, http: http, mapping: mapping)
        let k = profile.classification.ocsfClass
        var o = ObjectWriter(&out)
        o.members(profile.ocsfHead)
        o.members(ocsfStatus[http.statusID])
        o.number("time", f.timestamp)
        o.json("message", profile.action)
        o.object("metadata") { m in
            m.members(ocsfProduct)
            m.string("uid", f.id)
            m.unsigned("sequence", f.seq)
            m.string("log_provider", product)
            m.json("event_code", profile.action)
            m.string("tenant_uid", f.orgID)
        }
        o.object("actor") { a in a.object("user") { appendOCSFActor(f, to: &$0) } }
        if let ip = f.ip {
            o.object("src_endpoint") { $0.string("ip", ip) }
        } else if k == .apiActivity {
            // Required by the class: the endpoint as far as the event knows it.
            o.object("src_endpoint") { e in
                if let source = f.source { e.string("name", source) } else { e.string("name", "unknown") }
            }
        }
        if f.userAgent != nil || profile.method != nil {
            o.object("http_request") { r in
                r.json("http_method", profile.method)
                r.string("user_agent", f.userAgent)
            }
        }
        switch k {
        case .entityManagement:
            o.object("entity") { appendOCSFEntity(f, profile, data: f.before, to: &$0) }
            o.object("entity_result") { appendOCSFEntity(f, profile, data: f.after, to: &$0) }
        case .accountChange:
            o.object("user") { u in
                u.string("uid", f.resourceID)
                u.string("name", f.resourceName)
                if profile.credential {
                    u.string("credential_uid", f.resourceID)
                    u.number("type_id", 99)
                    u.json("type", profile.resourceType)
                } else {
                    u.number("type_id", 1)
                    u.string("type", "User")
                }
            }
        case .authentication:
            o.object("user") { appendOCSFActor(f, to: &$0) }
        case .apiActivity:
            o.object("api") { a in
                a.json("operation", profile.action)
                a.object("request") { $0.string("uid", f.id) }
                if let status = http.status { a.object("response") { $0.number("code", status) } }
            }
            o.array("resources") { list in
                list.object { r in
                    r.string("uid", f.resourceID)
                    r.string("name", f.resourceName)
                    r.json("type", profile.resourceType)
                }
            }
        }
        o.object("unmapped") { u in
            u.raw("leafHash") { JSONWriter.appendHash(leafHash, to: &$0) }
            u.json("action", profile.action)
            u.object("actor") { a in
                a.string("type", f.actorType.rawValue)
                a.string("authMethod", f.authMethod)
            }
            if k != .entityManagement {
                u.object("resource") { r in
                    r.json("type", profile.resourceType)
                    r.string("id", f.resourceID)
                    r.string("name", f.resourceName)
                }
                u.json("before", f.before)
                u.json("after", f.after)
            }
            if let org = f.orgID { u.object("org") { appendReference(org, f.orgName, to: &$0) } }
            if let project = f.projectID { u.object("project") { appendReference(project, f.projectName, to: &$0) } }
            u.string("source", f.source)
            u.json("metadata", f.metadata)
            if let redaction = f.redaction { u.raw("redacted") { redaction.appendJSON(to: &$0) } }
        }
        o.finish(into: &out)
    }

    static let credentialTypes: Set<String> = ["apikey", "token", "accesstoken", "credential", "password"]

    private static func appendOCSFActor(_ f: RecordFields, to u: inout ObjectWriter) {
        u.string("uid", f.actorID)
        u.string("name", f.actorName)
        switch f.actorType {
        case .user:
            u.number("type_id", 1)
            u.string("type", "User")
        case .system:
            u.number("type_id", 3)
            u.string("type", "System")
        case .apiKey:
            u.number("type_id", 99)
            u.string("type", "API key")
            u.string("credential_uid", f.actorID)
        case .service:
            u.number("type_id", 99)
            u.string("type", "Service")
        }
        if f.roleCount > 0 {
            u.array("groups") { list in f.forEachRole { role in list.object { $0.string("name", role) } } }
        }
        if let org = f.orgID { u.object("org") { appendReference(org, f.orgName, uidKey: true, to: &$0) } }
    }

    private static func appendOCSFEntity(
        _ f: RecordFields, _ profile: Profile, data: UnsafeRawBufferPointer?, to m: inout ObjectWriter
    ) {
        m.string("uid", f.resourceID)
        m.string("name", f.resourceName)
        m.json("type", profile.resourceType)
        m.json("data", data)
    }

    private static func appendReference(
        _ id: UnsafeRawBufferPointer, _ name: UnsafeRawBufferPointer?, uidKey: Bool = false, to r: inout ObjectWriter
    ) {
        if uidKey { r.string("uid", id) } else { r.string("id", id) }
        r.string("name", name)
    }

    // MARK: ECS

    static func appendECS(
        _ f: RecordFields, leafHash: SHA256Hash, mapping: SIEMMapping, cache: inout ProfileCache,
        to out: inout ByteBuffer
    ) {
        let http = SIEMMapping.HTTPFacts(f.metadata)
        let profile = cache.profile(f, http: http, mapping: mapping)
        var o = ObjectWriter(&out)
        o.raw("@timestamp") { JSONWriter.appendTimestamp(milliseconds: f.timestamp, to: &$0) }
        o.members(ecsHeader)
        o.object("event") { v in
            v.members(profile.ecsCategorization)
            v.json("action", profile.action)
            v.members(ecsOutcome[http.statusID])
            v.string("id", f.id)
            v.unsigned("sequence", f.seq)
            v.raw("hash") { JSONWriter.appendHash(leafHash, to: &$0) }
            v.members(ecsSource)
        }
        o.object("user") { u in
            u.string("id", f.actorID)
            u.string("name", f.actorName)
            if f.roleCount > 0 { u.array("roles") { list in f.forEachRole { list.string($0) } } }
        }
        if let ip = f.ip { o.object("source") { $0.string("ip", ip) } }
        if let agent = f.userAgent { o.object("user_agent") { $0.string("original", agent) } }
        if let org = f.orgID { o.object("organization") { appendReference(org, f.orgName, to: &$0) } }
        if profile.method != nil || http.status != nil {
            o.object("http") { h in
                if let method = profile.method { h.object("request") { $0.json("method", method) } }
                if let status = http.status { h.object("response") { $0.number("status_code", status) } }
            }
        }
        o.object("related") { r in
            r.array("user") { list in
                list.string(f.actorID)
                if let name = f.actorName, !name.equals(f.actorID) { list.string(name) }
            }
            if let ip = f.ip { r.array("ip") { $0.string(ip) } }
        }
        if f.projectID != nil || f.source != nil {
            o.object("labels") { l in
                l.string("project_id", f.projectID)
                l.string("source", f.source)
            }
        }
        o.object("audit_log") { a in
            a.object("actor") { x in
                x.string("type", f.actorType.rawValue)
                x.string("auth_method", f.authMethod)
            }
            a.object("resource") { r in
                r.json("type", profile.resourceType)
                r.string("id", f.resourceID)
                r.string("name", f.resourceName)
            }
            if let project = f.projectID { a.object("project") { appendReference(project, f.projectName, to: &$0) } }
            a.string("source", f.source)
            a.json("before", f.before)
            a.json("after", f.after)
            a.json("metadata", f.metadata)
            if let redaction = f.redaction { a.raw("redacted") { redaction.appendJSON(to: &$0) } }
        }
        o.finish(into: &out)
    }
}

/// Writes one JSON object member by member into a byte buffer, skipping absent values, with nested objects and
/// arrays written in place (no intermediate buffers).
struct ObjectWriter {
    var out = ByteBuffer(capacity: 16)
    /// Whether the object or array being written has no member yet.
    private var first = true

    /// Starts an object at the end of `buffer`, which it takes over until ``finish(into:)``.
    init(_ buffer: inout ByteBuffer) {
        swap(&out, &buffer)
        out.append(UInt8(ascii: "{"))
    }

    /// Closes the object and gives the buffer back.
    @inline(__always)
    mutating func finish(into buffer: inout ByteBuffer) {
        out.append(UInt8(ascii: "}"))
        swap(&out, &buffer)
    }

    @inline(__always)
    private mutating func key(_ name: StaticString) {
        JSONWriter.appendKey(name, comma: !first, to: &out)
        first = false
    }

    /// The members `body` writes, without braces: a part of an object written once and copied many times.
    static func members(_ body: (inout ObjectWriter) -> Void) -> [UInt8] {
        var bytes = ByteBuffer()
        var o = ObjectWriter(&bytes)
        body(&o)
        o.finish(into: &bytes)
        return bytes.withUnsafeBytes { Array($0.dropFirst().dropLast()) }
    }

    /// Members from ``members(_:)``.
    @inline(__always)
    mutating func members(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        separate()
        bytes.withUnsafeBytes { out.append(bytes: $0) }
    }

    @inline(__always)
    private mutating func separate() {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
    }

    @inline(__always)
    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        JSONWriter.appendString(value, to: &out)
    }

    @inline(__always)
    mutating func string(_ name: StaticString, _ value: UnsafeRawBufferPointer?) {
        guard let value else { return }
        key(name)
        JSONWriter.appendString(value, to: &out)
    }

    @inline(__always)
    mutating func number(_ name: StaticString, _ value: Int64) {
        key(name)
        JSONWriter.appendDecimal(value, to: &out)
    }

    @inline(__always)
    mutating func unsigned(_ name: StaticString, _ value: UInt64) {
        key(name)
        JSONWriter.appendDecimal(value, to: &out)
    }

    /// Canonical JSON text as it is stored.
    @inline(__always)
    mutating func json(_ name: StaticString, _ value: UnsafeRawBufferPointer?) {
        guard let value else { return }
        key(name)
        out.append(bytes: value)
    }

    /// JSON text written before, e.g. by ``json(_:)``.
    @inline(__always)
    mutating func json(_ name: StaticString, _ value: [UInt8]?) {
        guard let value else { return }
        key(name)
        value.withUnsafeBytes { out.append(bytes: $0) }
    }

    /// `string` as a JSON string, to be written many times with ``json(_:_:)``.
    static func json(_ string: String) -> [UInt8] {
        var bytes: [UInt8] = []
        JSONWriter.appendString(string, to: &bytes)
        return bytes
    }

    @inline(__always)
    mutating func raw(_ name: StaticString, _ write: (inout ByteBuffer) -> Void) {
        key(name)
        write(&out)
    }

    @inline(__always)
    mutating func object(_ name: StaticString, _ body: (inout ObjectWriter) -> Void) {
        key(name)
        nested("{", "}", body)
    }

    @inline(__always)
    mutating func array(_ name: StaticString, _ body: (inout ObjectWriter) -> Void) {
        key(name)
        nested("[", "]", body)
    }

    /// An array element.
    @inline(__always)
    mutating func string(_ value: String) {
        separate()
        JSONWriter.appendString(value, to: &out)
    }

    /// An array element.
    @inline(__always)
    mutating func string(_ value: UnsafeRawBufferPointer) {
        separate()
        JSONWriter.appendString(value, to: &out)
    }

    /// An array element.
    @inline(__always)
    mutating func object(_ body: (inout ObjectWriter) -> Void) {
        separate()
        nested("{", "}", body)
    }

    @inline(__always)
    private mutating func nested(_ open: Unicode.Scalar, _ close: Unicode.Scalar, _ body: (inout ObjectWriter) -> Void)
    {
        out.append(UInt8(ascii: open))
        first = true
        body(&self)
        out.append(UInt8(ascii: close))
        first = false
    }
}
