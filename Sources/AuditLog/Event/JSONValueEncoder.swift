/// An `Encoder` that builds a ``JSONValue``: how ``JSONText/init(encoding:)`` turns any `Encodable` into JSON
/// without Foundation. Keys keep the order in which they were encoded; integers keep every digit; a
/// ``JSONText`` inside the value is spliced in as it is.
struct JSONValueEncoder {
    static func encode(_ value: some Encodable) throws(AuditLogError) -> JSONValue {
        let root = Node()
        do {
            try value.encode(to: Encoder(node: root, codingPath: []))
        } catch let error as AuditLogError {
            throw error
        } catch {
            throw AuditLogError(.invalidArgument, "cannot encode the value as JSON: \(error)")
        }
        return root.value ?? .null
    }

    /// A value under construction: containers are filled in after they are handed out.
    final class Node {
        enum Content {
            case value(JSONValue)
            case object([(String, Node)])
            case array([Node])
        }
        var content: Content?

        var value: JSONValue? {
            switch content {
            case nil: nil
            case .value(let value): value
            case .object(let members): .object(members.map { ($0.0, $0.1.value ?? .null) })
            case .array(let items): .array(items.map { $0.value ?? .null })
            }
        }

        func member(_ key: String) -> Node {
            if case .object(var members) = content {
                if let existing = members.first(where: { $0.0 == key }) { return existing.1 }
                let node = Node()
                members.append((key, node))
                content = .object(members)
                return node
            }
            let node = Node()
            content = .object([(key, node)])
            return node
        }

        func appendItem() -> Node {
            let node = Node()
            if case .array(var items) = content {
                items.append(node)
                content = .array(items)
            } else {
                content = .array([node])
            }
            return node
        }
    }

    struct Encoder: Swift.Encoder {
        let node: Node
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if case .object = node.content {} else { node.content = .object([]) }
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if case .array = node.content {} else { node.content = .array([]) }
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            Single(node: node, codingPath: codingPath)
        }
    }

    /// Encodes one value into `node`: scalars directly, anything else through its `encode(to:)`.
    static func encode(_ value: some Encodable, into node: Node, codingPath: [any CodingKey]) throws {
        if let text = value as? JSONText {
            node.content = .value(try JSONValue(text))
        } else {
            try value.encode(to: Encoder(node: node, codingPath: codingPath))
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).content = .value(.null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws {
            node.member(key.stringValue).content = .value(.bool(value))
        }
        mutating func encode(_ value: String, forKey key: Key) throws {
            node.member(key.stringValue).content = .value(.string(value))
        }
        mutating func encode(_ value: Double, forKey key: Key) throws {
            node.member(key.stringValue).content = .value(try JSONValueEncoder.number(value, codingPath + [key]))
        }
        mutating func encode(_ value: Int64, forKey key: Key) throws {
            node.member(key.stringValue).content = .value(.number(String(value)))
        }
        mutating func encode(_ value: UInt64, forKey key: Key) throws {
            node.member(key.stringValue).content = .value(.number(String(value)))
        }
        mutating func encode(_ value: Int, forKey key: Key) throws {
            node.member(key.stringValue).content = .value(.number(String(value)))
        }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try JSONValueEncoder.encode(value, into: node.member(key.stringValue), codingPath: codingPath + [key])
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            let child = node.member(key.stringValue)
            child.content = .object([])
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = node.member(key.stringValue)
            child.content = .array([])
            return Unkeyed(node: child, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> any Swift.Encoder {
            Encoder(node: node.member("super"), codingPath: codingPath)
        }
        mutating func superEncoder(forKey key: Key) -> any Swift.Encoder {
            Encoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        var count: Int {
            if case .array(let items) = node.content { return items.count }
            return 0
        }

        mutating func encodeNil() throws { node.appendItem().content = .value(.null) }
        mutating func encode(_ value: Bool) throws { node.appendItem().content = .value(.bool(value)) }
        mutating func encode(_ value: String) throws { node.appendItem().content = .value(.string(value)) }
        mutating func encode(_ value: Double) throws {
            node.appendItem().content = .value(try JSONValueEncoder.number(value, codingPath))
        }
        mutating func encode(_ value: Int64) throws { node.appendItem().content = .value(.number(String(value))) }
        mutating func encode(_ value: UInt64) throws { node.appendItem().content = .value(.number(String(value))) }
        mutating func encode(_ value: Int) throws { node.appendItem().content = .value(.number(String(value))) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try JSONValueEncoder.encode(value, into: node.appendItem(), codingPath: codingPath)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
            -> KeyedEncodingContainer<NestedKey>
        {
            let child = node.appendItem()
            child.content = .object([])
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = node.appendItem()
            child.content = .array([])
            return Unkeyed(node: child, codingPath: codingPath)
        }
        mutating func superEncoder() -> any Swift.Encoder { Encoder(node: node.appendItem(), codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil() throws { node.content = .value(.null) }
        mutating func encode(_ value: Bool) throws { node.content = .value(.bool(value)) }
        mutating func encode(_ value: String) throws { node.content = .value(.string(value)) }
        mutating func encode(_ value: Double) throws {
            node.content = .value(try JSONValueEncoder.number(value, codingPath))
        }
        mutating func encode(_ value: Int64) throws { node.content = .value(.number(String(value))) }
        mutating func encode(_ value: UInt64) throws { node.content = .value(.number(String(value))) }
        mutating func encode(_ value: Int) throws { node.content = .value(.number(String(value))) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try JSONValueEncoder.encode(value, into: node, codingPath: codingPath)
        }
    }

    /// JSON has no NaN or infinity.
    static func number(_ value: Double, _ codingPath: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw AuditLogError(
                .invalidArgument, "\(value) cannot be written as JSON",
                field: codingPath.map(\.stringValue).joined(separator: "."))
        }
        if value == value.rounded(.towardZero), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number(String(value))
    }
}

extension JSONText {
    /// The canonical JSON text of an `Encodable` value (objects keep the order of their keys).
    ///
    /// ```swift
    /// struct Config: Encodable { var temperature: Double; var labels: [String] }
    /// let after = try JSONText(encoding: Config(temperature: 0.2, labels: ["production"]))
    /// ```
    /// - Throws: ``AuditLogError/Code/invalidArgument`` if the value cannot be written as JSON (NaN, infinity).
    public init(encoding value: some Encodable) throws(AuditLogError) {
        self.init(canonical: try JSONValueEncoder.encode(value).text)
    }
}
