/// The strict JSON event parser: one event object into a ``ParsedEvent``, with errors that name the field and
/// reason. What ``EventDecoder`` turns into records.
enum EventParser {
    /// Parses one event object into `event` (emptied first, its buffers kept); an absent id and timestamp get a new
    /// UUIDv7 and the current time.
    static func parse(_ bytes: UnsafeRawBufferPointer, limits: EventLimits, into event: inout ParsedEvent)
        throws(AuditLogError)
    {
        event.reset()
        var parser = Parser(scanner: JSONScanner(bytes, maxDepth: limits.maxNestingDepth), limits: limits, event: event)
        swap(&parser.scanner.keyRanges, &parser.event.keyRanges)
        defer {
            swap(&parser.scanner.keyRanges, &parser.event.keyRanges)
            event = parser.event
        }
        try parser.parseEvent()
    }
}

/// An event as parsed from JSON: its text fields as ranges of ``text`` (unescaped, valid UTF-8), `before`, `after`
/// and `metadata` in canonical text. What ``RecordCodec/encode(_:into:)`` writes as a record.
struct ParsedEvent {
    var text = ByteBuffer()
    var id: Range<Int>?
    var timestamp: Int64?
    var actorType = AuditEvent.Actor.Kind.user
    var actorID = 0..<0
    var actorName: Range<Int>?
    /// Whether the actor has a list of roles (possibly empty), and the list.
    var hasRoles = false
    var roles: [Range<Int>] = []
    var authMethod: Range<Int>?
    var action = 0..<0
    var resourceType = 0..<0
    var resourceID = 0..<0
    var resourceName: Range<Int>?
    var orgID: Range<Int>?
    var orgName: Range<Int>?
    var projectID: Range<Int>?
    var projectName: Range<Int>?
    var source: Range<Int>?
    var ip: Range<Int>?
    var userAgent: Range<Int>?
    var before: Range<Int>?
    var after: Range<Int>?
    var metadata: Range<Int>?
    /// The scanner's scratch space for object keys, kept from one event to the next.
    var keyRanges: [Range<Int>] = []

    /// Empties it for the next event, keeping the buffers.
    mutating func reset() {
        var text = self.text
        var roles = self.roles
        let keyRanges = self.keyRanges
        self.roles = []
        text.removeAll()
        roles.removeAll(keepingCapacity: true)
        self = ParsedEvent(text: text, roles: roles, keyRanges: keyRanges)
    }

    /// Appends `string` to ``text`` and returns its range.
    mutating func append(_ string: String) -> Range<Int> {
        let start = text.count
        var copy = string
        copy.withUTF8 { text.append(bytes: UnsafeRawBufferPointer($0)) }
        return start..<text.count
    }
}

/// The members an object may have, matched as raw bytes, with their dotted paths for error messages (static
/// strings: the hot path touches no reference count).
private final class ObjectKeys: Sendable {
    /// Each name's UTF-8 packed into two little-endian words (names are at most 16 bytes) and its length.
    let packed: [(UInt64, UInt64, Int)]
    let paths: [StaticString]
    /// Said after "unknown field" to list what is allowed.
    let hint: StaticString
    let prefix: StaticString

    init(_ prefix: StaticString, _ names: [StaticString], paths: [StaticString], hint: StaticString) {
        self.prefix = prefix
        packed = names.map { name in
            precondition(name.utf8CodeUnitCount <= 16)
            return Self.pack(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        }
        self.paths = paths
        self.hint = hint
    }

    @inline(__always)
    private static func pack(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64, Int) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for i in 0..<bytes.count {
            if i < 8 { low |= UInt64(bytes[i]) << (8 * UInt64(i)) } else { high |= UInt64(bytes[i]) << (8 * UInt64(i - 8)) }
        }
        return (low, high, bytes.count)
    }

    @inline(__always)
    func index(of key: UnsafeRawBufferPointer) -> Int? {
        guard key.count <= 16 else { return nil }
        return index(ofPacked: Self.pack(key))
    }

    @inline(__always)
    func index(ofPacked k: (UInt64, UInt64, Int)) -> Int? {
        packed.withUnsafeBufferPointer { names in
            for i in 0..<names.count where names[i].2 == k.2 && names[i].0 == k.0 && names[i].1 == k.1 {
                return i
            }
            return nil
        }
    }

    static let event = ObjectKeys(
        "",
        [
            "id", "timestamp", "actor", "action", "resource", "org", "project", "source", "ip", "userAgent", "before",
            "after", "metadata", "seq", "leafHash", "redacted",
        ],
        paths: [
            "id", "timestamp", "actor", "action", "resource", "org", "project", "source", "ip", "userAgent", "before",
            "after", "metadata", "seq", "leafHash", "redacted",
        ],
        hint: "; put custom data in \"metadata\"")
    static let actor = ObjectKeys(
        "actor", ["type", "id", "name", "roles", "authMethod"],
        paths: ["actor.type", "actor.id", "actor.name", "actor.roles", "actor.authMethod"],
        hint: " (an actor has type, id, name, roles, authMethod)")
    static let resource = ObjectKeys(
        "resource", ["type", "id", "name"], paths: ["resource.type", "resource.id", "resource.name"],
        hint: " (a resource has type, id, name)")
    static let org = ObjectKeys(
        "org", ["id", "name"], paths: ["org.id", "org.name"], hint: " (an org has id and name)")
    static let project = ObjectKeys(
        "project", ["id", "name"], paths: ["project.id", "project.name"], hint: " (a project has id and name)")
}

private struct Parser {
    var scanner: JSONScanner
    let limits: EventLimits
    var event: ParsedEvent

    init(scanner: JSONScanner, limits: EventLimits, event: ParsedEvent) {
        self.scanner = scanner
        self.limits = limits
        self.event = event
    }

    typealias SyntaxError = JSONScanner.SyntaxError

    /// An error about `field` (nil or empty: about the event as a whole).
    private func invalid(_ field: String?, _ message: String) -> AuditLogError {
        AuditLogError(.invalidEvent, message, field: field?.isEmpty == false ? field : nil)
    }

    private func invalid(_ field: StaticString, _ message: String) -> AuditLogError {
        invalid(field.description, message)
    }

    /// Runs `body`, turning a JSON syntax error into an error that names `field`.
    @inline(__always)
    private mutating func within<T>(_ field: StaticString, _ body: (inout JSONScanner) throws(SyntaxError) -> T)
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

    private mutating func typeMismatch(_ field: StaticString, _ expected: String) -> AuditLogError {
        typeMismatch(field.description, expected)
    }

    /// Reads a string into the event's text.
    @inline(__always)
    mutating func string(_ field: StaticString) throws(AuditLogError) -> Range<Int> {
        guard scanner.peek() == UInt8(ascii: "\"") else { throw typeMismatch(field, "a string") }
        let start = event.text.count
        do {
            try scanner.readString(into: &event.text)
        } catch {
            throw invalid(field, "invalid JSON at byte \(error.offset): \(error.reason)")
        }
        return start..<event.text.count
    }

    @inline(__always)
    mutating func isNull(_ field: StaticString) throws(AuditLogError) -> Bool {
        try within(field) { (s) throws(SyntaxError) in try s.consumeNull() }
    }

    mutating func optionalString(_ field: StaticString) throws(AuditLogError) -> Range<Int>? {
        if try isNull(field) { return nil }
        return try string(field)
    }

    /// Iterates the members of an object, calling `body` with the index of each key in `keys`; `body` must
    /// consume the value. Unknown and repeated keys are refused.
    @inline(__always)
    mutating func object(_ field: StaticString, _ keys: ObjectKeys, _ body: (inout Parser, Int) throws(AuditLogError) -> Void)
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
            let index: Int
            let keyStart = scanner.position
            if let short = scanner.readShortKey(), let known = keys.index(ofPacked: short) {
                index = known
            } else {
                scanner.position = keyStart
                let match = try within(field) { (s) throws(SyntaxError) in
                    try s.readKey { raw -> (Int?, String?) in
                        if let index = keys.index(of: raw) { return (index, nil) }
                        return (nil, raw.count <= 256 ? UTF8Validator.string(raw) : nil)
                    }
                }
                guard let known = match.0 else {
                    let name = match.1 ?? "?"
                    let prefix = keys.prefix.description
                    throw invalid(prefix.isEmpty ? name : "\(prefix).\(name)", "unknown field\(keys.hint)")
                }
                index = known
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

    /// Copies a nested value into the event's text in canonical form.
    mutating func canonical(_ field: StaticString) throws(AuditLogError) -> Range<Int> {
        let start = event.text.count
        do {
            try scanner.copyCanonicalValue(into: &event.text)
        } catch {
            throw invalid(field, "invalid JSON at byte \(error.offset): \(error.reason)")
        }
        return start..<event.text.count
    }

    mutating func reference(_ keys: ObjectKeys) throws(AuditLogError) -> (id: Range<Int>, name: Range<Int>?)? {
        if try isNull(keys.prefix) { return nil }
        var id: Range<Int>?
        var name: Range<Int>?
        try object(keys.prefix, keys) { (p, key) throws(AuditLogError) in
            if key == 0 { id = try p.string(keys.paths[0]) } else { name = try p.optionalString(keys.paths[1]) }
        }
        guard let id else { throw invalid(keys.paths[0], "missing (required)") }
        return (id, name)
    }

    /// Parses the event into ``event``; an absent id and timestamp get a new UUIDv7 and the current time.
    mutating func parseEvent() throws(AuditLogError) {
        var hasActor = false
        var action: Range<Int>?
        var hasResource = false

        guard scanner.peek() == UInt8(ascii: "{") else {
            throw invalid(nil as String?, "expected a JSON object, found \(scanner.found())")
        }
        let keys = ObjectKeys.event
        try object("", keys) { (p, key) throws(AuditLogError) in
            let path = keys.paths[key]
            switch key {
            case 0: p.event.id = try p.string(path)
            case 1: p.event.timestamp = try p.timestamp(path)
            case 2:
                try p.actor()
                hasActor = true
            case 3: action = try p.string(path)
            case 4:
                try p.resource()
                hasResource = true
            case 5:
                let org = try p.reference(.org)
                p.event.orgID = org?.id
                p.event.orgName = org?.name
            case 6:
                let project = try p.reference(.project)
                p.event.projectID = project?.id
                p.event.projectName = project?.name
            case 7: p.event.source = try p.optionalString(path)
            case 8: p.event.ip = try p.optionalString(path)
            case 9: p.event.userAgent = try p.optionalString(path)
            case 10: p.event.before = try p.canonical(path)
            case 11: p.event.after = try p.canonical(path)
            case 12:
                if try p.isNull(path) { break }
                guard p.scanner.peek() == UInt8(ascii: "{") else { throw p.typeMismatch(path, "an object") }
                p.event.metadata = try p.canonical(path)
            default:
                // `seq`, `leafHash` and `redacted`, written by `export`: the log assigns its own.
                let mark = p.event.text.count
                _ = try p.canonical(path)
                p.event.text.truncate(to: mark)
            }
        }
        if scanner.peek() != nil {
            throw invalid(nil as String?, "unexpected data after the event object at byte \(scanner.position)")
        }
        guard hasActor else { throw invalid("actor", "missing (required)") }
        guard let action else { throw invalid("action", "missing (required)") }
        guard hasResource else { throw invalid("resource", "missing (required)") }
        event.action = action
        if event.id == nil || event.timestamp == nil {
            let now = Timestamp.now.millisecondsSinceEpoch
            if event.id == nil { event.id = event.append(UUIDv7.generate(milliseconds: now)) }
            if event.timestamp == nil { event.timestamp = now }
        }
    }

    mutating func timestamp(_ field: StaticString) throws(AuditLogError) -> Int64? {
        switch scanner.peek() ?? 0 {
        case UInt8(ascii: "n"):
            _ = try isNull(field)
            return nil
        case UInt8(ascii: "\""):
            let range = try string(field)
            defer { event.text.truncate(to: range.lowerBound) }
            guard let ms = RFC3339.parse(event.text.bytes(range)) else {
                let text = String(decoding: event.text.bytes(range), as: UTF8.self)
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

    mutating func actor() throws(AuditLogError) {
        let keys = ObjectKeys.actor
        var type: AuditEvent.Actor.Kind?
        var id: Range<Int>?
        try object("actor", keys) { (p, key) throws(AuditLogError) in
            let path = keys.paths[key]
            switch key {
            case 0:
                let range = try p.string(path)
                defer { p.event.text.truncate(to: range.lowerBound) }
                guard let kind = AuditEvent.Actor.Kind(utf8: p.event.text.bytes(range)) else {
                    throw p.invalid(path, "expected one of user, api_key, service, system")
                }
                type = kind
            case 1: id = try p.string(path)
            case 2: p.event.actorName = try p.optionalString(path)
            case 3: try p.roles(path)
            default: p.event.authMethod = try p.optionalString(path)
            }
        }
        guard let type else { throw invalid(keys.paths[0], "missing (required)") }
        guard let id else { throw invalid(keys.paths[1], "missing (required)") }
        event.actorType = type
        event.actorID = id
    }

    mutating func roles(_ path: StaticString) throws(AuditLogError) {
        if try isNull(path) { return }
        guard scanner.peek() == UInt8(ascii: "[") else { throw typeMismatch(path, "an array of strings") }
        scanner.position += 1
        event.hasRoles = true
        if scanner.consume(UInt8(ascii: "]")) { return }
        repeat {
            let count = event.roles.count
            guard count < limits.maxRoles else { throw invalid(path, "more than \(limits.maxRoles) roles") }
            guard scanner.peek() == UInt8(ascii: "\"") else {
                throw typeMismatch("\(path)[\(count)]" as String, "a string")
            }
            event.roles.append(try string(path))
        } while scanner.consume(UInt8(ascii: ","))
        try within(path) { (s) throws(SyntaxError) in try s.expect(UInt8(ascii: "]"), "',' or ']'") }
    }

    mutating func resource() throws(AuditLogError) {
        let keys = ObjectKeys.resource
        var type: Range<Int>?
        var id: Range<Int>?
        try object("resource", keys) { (p, key) throws(AuditLogError) in
            switch key {
            case 0: type = try p.string(keys.paths[0])
            case 1: id = try p.string(keys.paths[1])
            default: p.event.resourceName = try p.optionalString(keys.paths[2])
            }
        }
        guard let type else { throw invalid(keys.paths[0], "missing (required)") }
        guard let id else { throw invalid(keys.paths[1], "missing (required)") }
        event.resourceType = type
        event.resourceID = id
    }
}

extension AuditEvent.Actor.Kind {
    /// The kind whose raw value `bytes` spell.
    init?(utf8 bytes: UnsafeRawBufferPointer) {
        switch bytes.count {
        case 4 where bytes.elementsEqual("user".utf8): self = .user
        case 6 where bytes.elementsEqual("system".utf8): self = .system
        case 7 where bytes.elementsEqual("api_key".utf8): self = .apiKey
        case 7 where bytes.elementsEqual("service".utf8): self = .service
        default: return nil
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
