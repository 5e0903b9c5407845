/// A JSON value as a tree, for diffs. Numbers keep their text, object members their order.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    /// Parses canonical JSON text (as held by ``JSONText``).
    public init(_ json: JSONText) throws(AuditLogError) {
        var copy = json.text
        let result = copy.withUTF8 { utf8 -> Result<JSONValue, JSONScanner.SyntaxError> in
            var scanner = JSONScanner(UnsafeRawBufferPointer(utf8), maxDepth: 1000)
            return Result { () throws(JSONScanner.SyntaxError) in try JSONValue.parse(&scanner) }
        }
        switch result {
        case .success(let value): self = value
        case .failure(let e): throw AuditLogError(.corrupt, "stored JSON is not valid at byte \(e.offset): \(e.reason)")
        }
    }

    private static func parse(_ s: inout JSONScanner) throws(JSONScanner.SyntaxError) -> JSONValue {
        switch s.peek() {
        case UInt8(ascii: "{"):
            s.position += 1
            var members: [(key: String, value: JSONValue)] = []
            if s.consume(UInt8(ascii: "}")) { return .object(members) }
            repeat {
                guard s.peek() == UInt8(ascii: "\"") else { throw s.error("expected a key") }
                let key = try s.readString()
                try s.expect(UInt8(ascii: ":"), "':'")
                members.append((key, try parse(&s)))
            } while s.consume(UInt8(ascii: ","))
            try s.expect(UInt8(ascii: "}"), "'}'")
            return .object(members)
        case UInt8(ascii: "["):
            s.position += 1
            var items: [JSONValue] = []
            if s.consume(UInt8(ascii: "]")) { return .array(items) }
            repeat { items.append(try parse(&s)) } while s.consume(UInt8(ascii: ","))
            try s.expect(UInt8(ascii: "]"), "']'")
            return .array(items)
        case UInt8(ascii: "\""):
            return .string(try s.readString())
        case UInt8(ascii: "t"):
            try s.literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try s.literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try s.literal("null")
            return .null
        default:
            let range = try s.readNumber()
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: s.bytes[range]), as: UTF8.self))
        }
    }

    /// Canonical JSON text of the value.
    public var text: String {
        var out: [UInt8] = []
        append(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func append(to out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let n): out += Array(n.utf8)
        case .string(let s): JSONWriter.appendString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.append(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                member.value.append(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }
}
