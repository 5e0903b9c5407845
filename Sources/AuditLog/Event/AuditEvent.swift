/// One audit event: who did what to which resource, when, from where, with the state before and after.
///
/// This is the input contract (README, "The event"). Every stored event also has a sequence number and a
/// leaf hash, see ``StoredEvent``.
public struct AuditEvent: Sendable, Equatable {
    /// Client-supplied unique id (at most ``EventLimits/maxIdBytes`` bytes); a UUIDv7 when not supplied.
    public var id: String
    /// When it happened, to the millisecond.
    public var timestamp: Timestamp
    public var actor: Actor
    /// A verb or dotted event type: `create`, `update`, `setLabel`, `pipeline.run.triggered`.
    public var action: String
    public var resource: Resource
    public var org: Reference?
    public var project: Reference?
    /// Where the event came from: `web`, `api`, `mcp`, `cli`, …
    public var source: String?
    /// An IPv4 or IPv6 address, as text.
    public var ip: String?
    public var userAgent: String?
    /// The full state before the change: any JSON value.
    public var before: JSONText?
    /// The full state after the change: any JSON value.
    public var after: JSONText?
    /// Anything else (endpoint, method, request parameters): a JSON object.
    public var metadata: JSONText?

    /// Creates an event. A nil `id` becomes a new UUIDv7; a nil `timestamp` becomes the current time.
    public init(
        id: String? = nil, timestamp: Timestamp? = nil, actor: Actor, action: String, resource: Resource,
        org: Reference? = nil, project: Reference? = nil, source: String? = nil, ip: String? = nil,
        userAgent: String? = nil, before: JSONText? = nil, after: JSONText? = nil, metadata: JSONText? = nil
    ) {
        let now = Timestamp.now
        self.id = id ?? UUIDv7.generate(milliseconds: now.millisecondsSinceEpoch)
        self.timestamp = timestamp ?? now
        self.actor = actor
        self.action = action
        self.resource = resource
        self.org = org
        self.project = project
        self.source = source
        self.ip = ip
        self.userAgent = userAgent
        self.before = before
        self.after = after
        self.metadata = metadata
    }

    /// Who performed the action.
    public struct Actor: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, CaseIterable, Codable {
            case user
            case apiKey = "api_key"
            case service
            case system
        }

        public var type: Kind
        public var id: String
        public var name: String?
        public var roles: [String]?
        public var authMethod: String?

        public init(type: Kind, id: String, name: String? = nil, roles: [String]? = nil, authMethod: String? = nil) {
            self.type = type
            self.id = id
            self.name = name
            self.roles = roles
            self.authMethod = authMethod
        }
    }

    /// What the action was performed on.
    public struct Resource: Sendable, Equatable, Codable {
        public var type: String
        public var id: String
        public var name: String?

        public init(type: String, id: String, name: String? = nil) {
            self.type = type
            self.id = id
            self.name = name
        }
    }

    /// An organization or project the event belongs to.
    public struct Reference: Sendable, Equatable, Codable {
        public var id: String
        public var name: String?

        public init(id: String, name: String? = nil) {
            self.id = id
            self.name = name
        }
    }
}

/// An event as stored: its sequence number (its Merkle leaf index), its leaf hash and its content.
public struct StoredEvent: Sendable, Equatable {
    /// Dense sequence number assigned by the log; also the event's leaf index in the Merkle tree.
    public var seq: UInt64
    /// `SHA-256(0x00 || record bytes)`, RFC 6962 leaf hash of the canonical record.
    public var leafHash: SHA256Hash
    /// The event as stored: without its redacted fields if it was redacted.
    public var event: AuditEvent
    /// Set when personal data was erased from the event (``AuditLog/redact(_:fields:reason:)``).
    public var redaction: Redaction? = nil

    public init(seq: UInt64, leafHash: SHA256Hash, event: AuditEvent, redaction: Redaction? = nil) {
        self.seq = seq
        self.leafHash = leafHash
        self.event = event
        self.redaction = redaction
    }
}
