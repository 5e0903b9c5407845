// Codable in the JSON shapes of FORMAT.md, "Exports": an AuditEvent as the event contract writes it, a StoredEvent
// as one line of a JSON Lines export (with `seq`, `leafHash` and `redacted`). Encoding with Foundation's
// JSONEncoder or with `JSONText(encoding:)`, and decoding with Foundation's JSONDecoder, round-trip them.
// (`EventDecoder` remains the strict reader of untrusted input: it names the line and field of every error and
// keeps numbers inside `before`/`after`/`metadata` exactly as written.)

extension Timestamp: Codable {
    /// Decodes an RFC 3339 string or integer milliseconds since the epoch.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let milliseconds = try? container.decode(Int64.self) {
            self.init(millisecondsSinceEpoch: milliseconds)
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\"\(text)\" is not an RFC 3339 date-time")
        }
        self = parsed
    }

    /// Encodes the RFC 3339 form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}

extension SHA256Hash: Codable {
    /// Decodes 64 hexadecimal digits.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let hash = SHA256Hash(hex: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not 64 hexadecimal digits")
        }
        self = hash
    }

    /// Encodes 64 lowercase hexadecimal digits.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

extension JSONValue: Codable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            self = .object(try object.allKeys.map { ($0.stringValue, try object.decode(JSONValue.self, forKey: $0)) })
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !array.isAtEnd { items.append(try array.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int64.self) {
            self = .number(String(value))
        } else if let value = try? single.decode(UInt64.self) {
            self = .number(String(value))
        } else if let value = try? single.decode(Double.self) {
            self = .number(String(value))
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    /// Encodes the value; numbers go out as integers when they are, else as `Double`.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .number(let text):
            var container = encoder.singleValueContainer()
            if let integer = Int64(text) {
                try container.encode(integer)
            } else if let integer = UInt64(text) {
                try container.encode(integer)
            } else {
                try container.encode(Double(text) ?? 0)
            }
        case .string(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .array(let items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        case .object(let members):
            var container = encoder.container(keyedBy: AnyKey.self)
            for (key, value) in members { try container.encode(value, forKey: AnyKey(stringValue: key)) }
        }
    }
}

extension JSONText: Codable {
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        self.init(canonical: value.text)
    }

    public func encode(to encoder: any Encoder) throws {
        if let ours = encoder as? JSONValueEncoder.Encoder {
            ours.node.content = .value(try JSONValue(self))  // exact: numbers keep their text
        } else {
            try JSONValue(self).encode(to: encoder)
        }
    }
}


extension AuditEvent: Codable {
    enum CodingKeys: String, CodingKey {
        case id, timestamp, actor, action, resource, org, project, source, ip, userAgent, before, after, metadata
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decodeIfPresent(String.self, forKey: .id),
            timestamp: try c.decodeIfPresent(Timestamp.self, forKey: .timestamp),
            actor: try c.decode(Actor.self, forKey: .actor), action: try c.decode(String.self, forKey: .action),
            resource: try c.decode(Resource.self, forKey: .resource),
            org: try c.decodeIfPresent(Reference.self, forKey: .org),
            project: try c.decodeIfPresent(Reference.self, forKey: .project),
            source: try c.decodeIfPresent(String.self, forKey: .source),
            ip: try c.decodeIfPresent(String.self, forKey: .ip),
            userAgent: try c.decodeIfPresent(String.self, forKey: .userAgent),
            before: try c.decodeIfPresent(JSONText.self, forKey: .before),
            after: try c.decodeIfPresent(JSONText.self, forKey: .after),
            metadata: try c.decodeIfPresent(JSONText.self, forKey: .metadata))
    }

    public func encode(to encoder: any Encoder) throws {
        try encode(to: encoder, seq: nil, leafHash: nil)
    }

    /// The event's members, in the order of FORMAT.md ("Exports"), with `seq` and `leafHash` after `id`.
    func encode(to encoder: any Encoder, seq: UInt64?, leafHash: SHA256Hash?) throws {
        var c = encoder.container(keyedBy: StoredEvent.CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encodeIfPresent(seq, forKey: .seq)
        try c.encodeIfPresent(leafHash, forKey: .leafHash)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(actor, forKey: .actor)
        try c.encode(action, forKey: .action)
        try c.encode(resource, forKey: .resource)
        try c.encodeIfPresent(org, forKey: .org)
        try c.encodeIfPresent(project, forKey: .project)
        try c.encodeIfPresent(source, forKey: .source)
        try c.encodeIfPresent(ip, forKey: .ip)
        try c.encodeIfPresent(userAgent, forKey: .userAgent)
        try c.encodeIfPresent(before, forKey: .before)
        try c.encodeIfPresent(after, forKey: .after)
        try c.encodeIfPresent(metadata, forKey: .metadata)
    }
}

extension StoredEvent: Codable {
    enum CodingKeys: String, CodingKey {
        case id, seq, leafHash, timestamp, actor, action, resource, org, project, source, ip, userAgent, before,
            after, metadata
        case redaction = "redacted"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            seq: try c.decode(UInt64.self, forKey: .seq), leafHash: try c.decode(SHA256Hash.self, forKey: .leafHash),
            event: try AuditEvent(from: decoder), redaction: try c.decodeIfPresent(Redaction.self, forKey: .redaction))
    }

    public func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder, seq: seq, leafHash: leafHash)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(redaction, forKey: .redaction)
    }
}
