import AuditLog
import AuditLogKeys
import Hummingbird
import NIOCore

/// A JSON object request body (keys, redactions, retention), read field by field: an unknown field, a field of
/// the wrong type or a body that is not a JSON object is a 400 that names the field. `null` means absent.
struct JSONBody {
    private let members: [(key: String, value: JSONValue)]

    /// Reads at most 1 MiB. `fields` are the names the route takes; `example` shows the expected shape.
    init(_ request: Request, fields: [String], example: String) async throws {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let value: JSONValue
        do {
            value = try JSONValue(JSONText(String(buffer: buffer)))
        } catch {
            throw APIError(.badRequest, code: "invalid_body", "the body is not JSON (\(error.message)); expected \(example)")
        }
        guard case .object(let members) = value else {
            throw APIError(.badRequest, code: "invalid_body", "expected a JSON object: \(example)")
        }
        for (key, _) in members where !fields.contains(key) {
            throw APIError(
                .badRequest, code: "invalid_body",
                "\(key) is not a field here; the fields are \(fields.joined(separator: ", "))", field: key)
        }
        self.members = members
    }

    private func value(_ name: String) -> JSONValue? {
        guard let value = members.first(where: { $0.key == name })?.value, value != .null else { return nil }
        return value
    }

    private func wrongType(_ name: String, _ expected: String) -> APIError {
        APIError(.badRequest, code: "invalid_body", "\(name) must be \(expected)", field: name)
    }

    func string(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value else { throw wrongType(name, "a string") }
        return text
    }

    func strings(_ name: String) throws -> [String]? {
        guard let value = value(name) else { return nil }
        guard case .array(let items) = value else { throw wrongType(name, "an array of strings") }
        return try items.map { item in
            guard case .string(let text) = item else { throw wrongType(name, "an array of strings") }
            return text
        }
    }

    func integer(_ name: String) throws -> Int64? {
        guard let value = value(name) else { return nil }
        guard case .number(let text) = value, let number = Self.wholeNumber(text) else {
            throw wrongType(name, "an integer")
        }
        return number
    }

    /// A JSON number with no fractional part (`12`, `12.0`, `1.2e1`) that fits in 64 bits.
    private static func wholeNumber(_ text: String) -> Int64? {
        if let number = Int64(text) { return number }
        guard let double = Double(text), double == double.rounded(), abs(double) < 9.0e15 else { return nil }
        return Int64(double)
    }

    func sequenceNumbers(_ name: String) throws -> [UInt64]? {
        guard let value = value(name) else { return nil }
        guard case .array(let items) = value else { throw wrongType(name, "an array of sequence numbers") }
        return try items.map { item in
            guard case .number(let text) = item, let seq = UInt64(text) ?? Self.wholeNumber(text).flatMap(UInt64.init(exactly:))
            else {
                throw wrongType(name, "an array of sequence numbers")
            }
            return seq
        }
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = value(name) else { return nil }
        guard case .bool(let flag) = value else { throw wrongType(name, "true or false") }
        return flag
    }

    /// A field the route cannot do without.
    func required<T>(_ name: String, _ read: (String) throws -> T?) throws -> T {
        guard let value = try read(name) else {
            throw APIError(.badRequest, code: "invalid_body", "\(name) is required", field: name)
        }
        return value
    }
}
