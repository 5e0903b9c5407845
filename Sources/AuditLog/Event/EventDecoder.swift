/// Decodes one event from a JSON object (one line of JSON Lines), with errors that name the field and reason:
/// `field "actor.type": expected one of user, api_key, service, system`.
///
/// Unknown fields are refused rather than dropped, so nothing is silently lost. `seq` and `leafHash`, which
/// exports add, are accepted and ignored: the log assigns its own. `null` for an optional field means absent,
/// except in `before` and `after`, where it is a value.
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
        guard bytes.count <= limits.maxEventBytes else {
            throw AuditLogError(
                .invalidEvent, "event is \(bytes.count) bytes, over the limit of \(limits.maxEventBytes) bytes")
        }
        var parser = Parser(scanner: JSONScanner(bytes, maxDepth: limits.maxNestingDepth), limits: limits)
        let event = try parser.parseEvent()
        try event.validate(limits: limits)
        return event
    }
}

private struct Parser {
    var scanner: JSONScanner
    let limits: EventLimits

    typealias SyntaxError = JSONScanner.SyntaxError

    /// An error about `field` (nil or empty: about the event as a whole).
    private func invalid(_ field: String?, _ message: String) -> AuditLogError {
        AuditLogError(.invalidEvent, message, field: field?.isEmpty == false ? field : nil)
    }

    /// Runs `body`, turning a JSON syntax error into an error that names `field`.
    private mutating func within<T>(_ field: String?, _ body: (inout JSONScanner) throws(SyntaxError) -> T)
        throws(AuditLogError) -> T
    {
        do {
            return try body(&scanner)
        } catch {
            throw invalid(field, "invalid JSON at byte \(error.offset): \(error.reason)")
        }
    }

    private mutating func typeMismatch(_ field: String, _ expected: String) -> AuditLogError {
        invalid(field, "expected \(expected), found \(scanner.found())")
    }

    mutating func string(_ field: String) throws(AuditLogError) -> String {
        guard scanner.peek() == UInt8(ascii: "\"") else { throw typeMismatch(field, "a string") }
        return try within(field) { (s) throws(SyntaxError) in try s.readString() }
    }

    mutating func optionalString(_ field: String) throws(AuditLogError) -> String? {
        if try within(field, { (s) throws(SyntaxError) in try s.consumeNull() }) { return nil }
        return try string(field)
    }

    /// Iterates the members of an object, calling `body` with each key; `body` must consume the value.
    mutating func object(_ field: String, _ body: (inout Parser, String, String) throws(AuditLogError) -> Void)
        throws(AuditLogError)
    {
        guard scanner.peek() == UInt8(ascii: "{") else { throw typeMismatch(field, "an object") }
        scanner.position += 1
        if scanner.consume(UInt8(ascii: "}")) { return }
        var seen: [String] = []
        while true {
            guard scanner.peek() == UInt8(ascii: "\"") else {
                throw invalid(field, "invalid JSON at byte \(scanner.position): expected a key, found \(scanner.found())")
            }
            let key = try within(field) { (s) throws(SyntaxError) in try s.readString() }
            let path = field.isEmpty ? key : "\(field).\(key)"
            if seen.contains(key) { throw invalid(path, "appears twice") }
            seen.append(key)
            try within(path) { (s) throws(SyntaxError) in try s.expect(UInt8(ascii: ":"), "':'") }
            try body(&self, key, path)
            if scanner.consume(UInt8(ascii: ",")) { continue }
            try within(field.isEmpty ? nil : field) { (s) throws(SyntaxError) in
                try s.expect(UInt8(ascii: "}"), "',' or '}'")
            }
            return
        }
    }

    mutating func canonical(_ field: String) throws(AuditLogError) -> JSONText {
        var out: [UInt8] = []
        try within(field) { (s) throws(SyntaxError) in try s.copyCanonicalValue(into: &out) }
        return JSONText(canonical: String(decoding: out, as: UTF8.self))
    }

    mutating func reference(_ field: String) throws(AuditLogError) -> AuditEvent.Reference? {
        if try within(field, { (s) throws(SyntaxError) in try s.consumeNull() }) { return nil }
        var id: String?
        var name: String?
        try object(field) { (p, key, path) throws(AuditLogError) in
            switch key {
            case "id": id = try p.string(path)
            case "name": name = try p.optionalString(path)
            default: throw p.invalid(path, "unknown field (an \(field) has id and name)")
            }
        }
        guard let id else { throw invalid("\(field).id", "missing (required)") }
        return AuditEvent.Reference(id: id, name: name)
    }

    mutating func parseEvent() throws(AuditLogError) -> AuditEvent {
        var id: String?
        var timestamp: Int64?
        var actor: AuditEvent.Actor?
        var action: String?
        var resource: AuditEvent.Resource?
        var org: AuditEvent.Reference?
        var project: AuditEvent.Reference?
        var source: String?
        var ip: String?
        var userAgent: String?
        var before: JSONText?
        var after: JSONText?
        var metadata: JSONText?

        guard scanner.peek() == UInt8(ascii: "{") else {
            throw invalid(nil, "expected a JSON object, found \(scanner.found())")
        }
        try object("") { (p, key, path) throws(AuditLogError) in
            switch key {
            case "id": id = try p.string(path)
            case "timestamp": timestamp = try p.timestamp(path)
            case "actor": actor = try p.actor(path)
            case "action": action = try p.string(path)
            case "resource": resource = try p.resource(path)
            case "org": org = try p.reference(path)
            case "project": project = try p.reference(path)
            case "source": source = try p.optionalString(path)
            case "ip": ip = try p.optionalString(path)
            case "userAgent": userAgent = try p.optionalString(path)
            case "before": before = try p.canonical(path)
            case "after": after = try p.canonical(path)
            case "metadata":
                if try p.within(path, { (s) throws(SyntaxError) in try s.consumeNull() }) { break }
                guard p.scanner.peek() == UInt8(ascii: "{") else { throw p.typeMismatch(path, "an object") }
                metadata = try p.canonical(path)
            case "seq", "leafHash":
                // Written by `export`; the log assigns its own.
                _ = try p.canonical(path)
            default:
                throw p.invalid(path, "unknown field; put custom data in \"metadata\"")
            }
        }
        if scanner.peek() != nil {
            throw invalid(nil, "unexpected data after the event object at byte \(scanner.position)")
        }
        guard let actor else { throw invalid("actor", "missing (required)") }
        guard let action else { throw invalid("action", "missing (required)") }
        guard let resource else { throw invalid("resource", "missing (required)") }
        return AuditEvent(
            id: id, timestamp: timestamp, actor: actor, action: action, resource: resource, org: org,
            project: project, source: source, ip: ip, userAgent: userAgent, before: before, after: after,
            metadata: metadata)
    }

    mutating func timestamp(_ field: String) throws(AuditLogError) -> Int64? {
        switch scanner.peek() ?? 0 {
        case UInt8(ascii: "n"):
            _ = try within(field) { (s) throws(SyntaxError) in try s.consumeNull() }
            return nil
        case UInt8(ascii: "\""):
            let text = try string(field)
            guard let ms = Timestamp.parse(text) else {
                throw invalid(field, "\"\(text)\" is not an RFC 3339 date-time such as 2026-11-22T03:13:33.123Z")
            }
            return ms
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard let ms = try within(field, { (s) throws(SyntaxError) in try s.readInteger() }) else {
                throw invalid(field, "expected whole milliseconds since the epoch")
            }
            return ms
        default:
            throw typeMismatch(field, "an RFC 3339 string or integer milliseconds")
        }
    }

    mutating func actor(_ field: String) throws(AuditLogError) -> AuditEvent.Actor {
        var type: AuditEvent.Actor.Kind?
        var id: String?
        var name: String?
        var roles: [String]?
        var authMethod: String?
        try object(field) { (p, key, path) throws(AuditLogError) in
            switch key {
            case "type":
                let text = try p.string(path)
                guard let kind = AuditEvent.Actor.Kind(rawValue: text) else {
                    throw p.invalid(path, "expected one of user, api_key, service, system")
                }
                type = kind
            case "id": id = try p.string(path)
            case "name": name = try p.optionalString(path)
            case "authMethod": authMethod = try p.optionalString(path)
            case "roles":
                if try p.within(path, { (s) throws(SyntaxError) in try s.consumeNull() }) { break }
                guard p.scanner.peek() == UInt8(ascii: "[") else { throw p.typeMismatch(path, "an array of strings") }
                p.scanner.position += 1
                var list: [String] = []
                if !p.scanner.consume(UInt8(ascii: "]")) {
                    repeat {
                        guard list.count < p.limits.maxRoles else {
                            throw p.invalid(path, "more than \(p.limits.maxRoles) roles")
                        }
                        list.append(try p.string("\(path)[\(list.count)]"))
                    } while p.scanner.consume(UInt8(ascii: ","))
                    try p.within(path) { (s) throws(SyntaxError) in try s.expect(UInt8(ascii: "]"), "',' or ']'") }
                }
                roles = list
            default:
                throw p.invalid(path, "unknown field (an actor has type, id, name, roles, authMethod)")
            }
        }
        guard let type else { throw invalid("\(field).type", "missing (required)") }
        guard let id else { throw invalid("\(field).id", "missing (required)") }
        return AuditEvent.Actor(type: type, id: id, name: name, roles: roles, authMethod: authMethod)
    }

    mutating func resource(_ field: String) throws(AuditLogError) -> AuditEvent.Resource {
        var type: String?
        var id: String?
        var name: String?
        try object(field) { (p, key, path) throws(AuditLogError) in
            switch key {
            case "type": type = try p.string(path)
            case "id": id = try p.string(path)
            case "name": name = try p.optionalString(path)
            default: throw p.invalid(path, "unknown field (a resource has type, id, name)")
            }
        }
        guard let type else { throw invalid("\(field).type", "missing (required)") }
        guard let id else { throw invalid("\(field).id", "missing (required)") }
        return AuditEvent.Resource(type: type, id: id, name: name)
    }
}
