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

/// The members an object may have, matched as raw bytes, with their dotted paths for error messages.
private struct ObjectKeys: Sendable {
    let names: [[UInt8]]
    let paths: [String]
    /// Said after "unknown field" to list what is allowed.
    let hint: String
    let prefix: String

    init(_ prefix: String, _ names: [String], hint: String) {
        self.prefix = prefix
        self.names = names.map { Array($0.utf8) }
        paths = names.map { prefix.isEmpty ? $0 : "\(prefix).\($0)" }
        self.hint = hint
    }

    @inline(__always)
    func index(of key: UnsafeRawBufferPointer) -> Int? {
        for (i, name) in names.enumerated() where name.count == key.count {
            if name.withUnsafeBytes({ memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }) { return i }
        }
        return nil
    }

    static let event = ObjectKeys(
        "",
        [
            "id", "timestamp", "actor", "action", "resource", "org", "project", "source", "ip", "userAgent", "before",
            "after", "metadata", "seq", "leafHash", "redacted",
        ],
        hint: "; put custom data in \"metadata\"")
    static let actor = ObjectKeys(
        "actor", ["type", "id", "name", "roles", "authMethod"],
        hint: " (an actor has type, id, name, roles, authMethod)")
    static let resource = ObjectKeys("resource", ["type", "id", "name"], hint: " (a resource has type, id, name)")
    static let org = ObjectKeys("org", ["id", "name"], hint: " (an org has id and name)")
    static let project = ObjectKeys("project", ["id", "name"], hint: " (a project has id and name)")
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
    @inline(__always)
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

    @inline(__always)
    mutating func string(_ field: String) throws(AuditLogError) -> String {
        guard scanner.peek() == UInt8(ascii: "\"") else { throw typeMismatch(field, "a string") }
        return try within(field) { (s) throws(SyntaxError) in try s.readString() }
    }

    @inline(__always)
    mutating func isNull(_ field: String) throws(AuditLogError) -> Bool {
        try within(field) { (s) throws(SyntaxError) in try s.consumeNull() }
    }

    mutating func optionalString(_ field: String) throws(AuditLogError) -> String? {
        if try isNull(field) { return nil }
        return try string(field)
    }

    /// Iterates the members of an object, calling `body` with the index of each key in `keys`; `body` must
    /// consume the value. Unknown and repeated keys are refused.
    @inline(__always)
    mutating func object(_ field: String, _ keys: ObjectKeys, _ body: (inout Parser, Int) throws(AuditLogError) -> Void)
        throws(AuditLogError)
    {
        guard scanner.peek() == UInt8(ascii: "{") else { throw typeMismatch(field, "an object") }
        scanner.position += 1
        if scanner.consume(UInt8(ascii: "}")) { return }
        var seen: UInt32 = 0
        while true {
            guard scanner.peek() == UInt8(ascii: "\"") else {
                throw invalid(
                    field, "invalid JSON at byte \(scanner.position): expected a key, found \(scanner.found())")
            }
            let match = try within(field) { (s) throws(SyntaxError) in
                try s.readKey { raw in (keys.index(of: raw), raw.count <= 256 ? UTF8Validator.string(raw) : nil) }
            }
            guard let index = match.0 else {
                let name = match.1 ?? "?"
                throw invalid(keys.prefix.isEmpty ? name : "\(keys.prefix).\(name)", "unknown field\(keys.hint)")
            }
            if seen & (1 << index) != 0 { throw invalid(keys.paths[index], "appears twice") }
            seen |= 1 << index
            try within(keys.paths[index]) { (s) throws(SyntaxError) in try s.expect(UInt8(ascii: ":"), "':'") }
            try body(&self, index)
            if scanner.consume(UInt8(ascii: ",")) { continue }
            try within(field) { (s) throws(SyntaxError) in try s.expect(UInt8(ascii: "}"), "',' or '}'") }
            return
        }
    }

    mutating func canonical(_ field: String) throws(AuditLogError) -> JSONText {
        var out: [UInt8] = []
        try within(field) { (s) throws(SyntaxError) in try s.copyCanonicalValue(into: &out) }
        return JSONText(canonical: String(decoding: out, as: UTF8.self))
    }

    mutating func reference(_ keys: ObjectKeys) throws(AuditLogError) -> AuditEvent.Reference? {
        if try isNull(keys.prefix) { return nil }
        var id: String?
        var name: String?
        try object(keys.prefix, keys) { (p, key) throws(AuditLogError) in
            if key == 0 { id = try p.string(keys.paths[0]) } else { name = try p.optionalString(keys.paths[1]) }
        }
        guard let id else { throw invalid(keys.paths[0], "missing (required)") }
        return AuditEvent.Reference(id: id, name: name)
    }

    mutating func parseEvent() throws(AuditLogError) -> AuditEvent {
        var id: String?
        var timestamp: Timestamp?
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
        let keys = ObjectKeys.event
        try object("", keys) { (p, key) throws(AuditLogError) in
            let path = keys.paths[key]
            switch key {
            case 0: id = try p.string(path)
            case 1: timestamp = try p.timestamp(path)
            case 2: actor = try p.actor()
            case 3: action = try p.string(path)
            case 4: resource = try p.resource()
            case 5: org = try p.reference(.org)
            case 6: project = try p.reference(.project)
            case 7: source = try p.optionalString(path)
            case 8: ip = try p.optionalString(path)
            case 9: userAgent = try p.optionalString(path)
            case 10: before = try p.canonical(path)
            case 11: after = try p.canonical(path)
            case 12:
                if try p.isNull(path) { break }
                guard p.scanner.peek() == UInt8(ascii: "{") else { throw p.typeMismatch(path, "an object") }
                metadata = try p.canonical(path)
            default:
                // `seq`, `leafHash` and `redacted`, written by `export`: the log assigns its own.
                _ = try p.canonical(path)
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

    mutating func timestamp(_ field: String) throws(AuditLogError) -> Timestamp? {
        switch scanner.peek() ?? 0 {
        case UInt8(ascii: "n"):
            _ = try isNull(field)
            return nil
        case UInt8(ascii: "\""):
            let text = try string(field)
            guard let ms = RFC3339.parse(text) else {
                throw invalid(field, "\"\(text)\" is not an RFC 3339 date-time such as 2026-11-22T03:13:33.123Z")
            }
            return Timestamp(millisecondsSinceEpoch: ms)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard let ms = try within(field, { (s) throws(SyntaxError) in try s.readInteger() }) else {
                throw invalid(field, "expected whole milliseconds since the epoch")
            }
            return Timestamp(millisecondsSinceEpoch: ms)
        default:
            throw typeMismatch(field, "an RFC 3339 string or integer milliseconds")
        }
    }

    mutating func actor() throws(AuditLogError) -> AuditEvent.Actor {
        let keys = ObjectKeys.actor
        var type: AuditEvent.Actor.Kind?
        var id: String?
        var name: String?
        var roles: [String]?
        var authMethod: String?
        try object("actor", keys) { (p, key) throws(AuditLogError) in
            let path = keys.paths[key]
            switch key {
            case 0:
                let text = try p.string(path)
                guard let kind = AuditEvent.Actor.Kind(rawValue: text) else {
                    throw p.invalid(path, "expected one of user, api_key, service, system")
                }
                type = kind
            case 1: id = try p.string(path)
            case 2: name = try p.optionalString(path)
            case 3: roles = try p.roles(path)
            default: authMethod = try p.optionalString(path)
            }
        }
        guard let type else { throw invalid(keys.paths[0], "missing (required)") }
        guard let id else { throw invalid(keys.paths[1], "missing (required)") }
        return AuditEvent.Actor(type: type, id: id, name: name, roles: roles, authMethod: authMethod)
    }

    mutating func roles(_ path: String) throws(AuditLogError) -> [String]? {
        if try isNull(path) { return nil }
        guard scanner.peek() == UInt8(ascii: "[") else { throw typeMismatch(path, "an array of strings") }
        scanner.position += 1
        var list: [String] = []
        if scanner.consume(UInt8(ascii: "]")) { return list }
        repeat {
            guard list.count < limits.maxRoles else { throw invalid(path, "more than \(limits.maxRoles) roles") }
            guard scanner.peek() == UInt8(ascii: "\"") else { throw typeMismatch("\(path)[\(list.count)]", "a string") }
            list.append(try within(path) { (s) throws(SyntaxError) in try s.readString() })
        } while scanner.consume(UInt8(ascii: ","))
        try within(path) { (s) throws(SyntaxError) in try s.expect(UInt8(ascii: "]"), "',' or ']'") }
        return list
    }

    mutating func resource() throws(AuditLogError) -> AuditEvent.Resource {
        let keys = ObjectKeys.resource
        var type: String?
        var id: String?
        var name: String?
        try object("resource", keys) { (p, key) throws(AuditLogError) in
            switch key {
            case 0: type = try p.string(keys.paths[0])
            case 1: id = try p.string(keys.paths[1])
            default: name = try p.optionalString(keys.paths[2])
            }
        }
        guard let type else { throw invalid(keys.paths[0], "missing (required)") }
        guard let id else { throw invalid(keys.paths[1], "missing (required)") }
        return AuditEvent.Resource(type: type, id: id, name: name)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
