/// A field that erasure can remove from a stored event: the personal data. Ids, seq, timestamp, action, actor
/// type and resource type stay, so redacted events can still be counted, found by actor and resource id, and
/// placed in time.
public enum RedactableField: String, CaseIterable, Sendable, Comparable, Codable {
    case actorName = "actor.name"
    case actorRoles = "actor.roles"
    case actorAuthMethod = "actor.authMethod"
    case resourceName = "resource.name"
    case orgName = "org.name"
    case projectName = "project.name"
    case source
    case ip
    case userAgent
    case before
    case after
    case metadata

    /// What ``AuditLog/redact(_:fields:reason:)`` removes unless told otherwise: every field that can hold
    /// personal data (all but `source`, which names a channel such as `web` or `api`).
    public static let personalData: [RedactableField] = allCases.filter { $0 != .source }

    func remove(from event: inout AuditEvent) {
        switch self {
        case .actorName: event.actor.name = nil
        case .actorRoles: event.actor.roles = nil
        case .actorAuthMethod: event.actor.authMethod = nil
        case .resourceName: event.resource.name = nil
        case .orgName: event.org?.name = nil
        case .projectName: event.project?.name = nil
        case .source: event.source = nil
        case .ip: event.ip = nil
        case .userAgent: event.userAgent = nil
        case .before: event.before = nil
        case .after: event.after = nil
        case .metadata: event.metadata = nil
        }
    }

    /// In the order of the event's fields (the order of the cases).
    public static func < (a: RedactableField, b: RedactableField) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// How a stored event was redacted: which fields are gone and which redaction event (in the same log) did it.
public struct Redaction: Sendable, Equatable, Codable {
    /// Seq of the `auditlog.redaction` event that last redacted this one; it says when, why and by what rule.
    public var redactedBy: UInt64
    /// The fields removed (by this and any earlier redaction).
    public var fields: [RedactableField]

    public init(redactedBy: UInt64, fields: [RedactableField]) {
        self.redactedBy = redactedBy
        self.fields = fields
    }

    /// As in exports: `{"by": SEQ, "fields": [...]}`.
    enum CodingKeys: String, CodingKey {
        case redactedBy = "by"
        case fields
    }
}
