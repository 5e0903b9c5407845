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

    /// The record presence bit of the field (FORMAT.md, "Record"); a redacted record lists its removed fields
    /// with the same bits.
    var presenceBit: UInt16 {
        typealias P = RecordCodec.Presence
        return switch self {
        case .actorName: P.actorName
        case .actorRoles: P.actorRoles
        case .actorAuthMethod: P.actorAuthMethod
        case .resourceName: P.resourceName
        case .orgName: P.orgName
        case .projectName: P.projectName
        case .source: P.source
        case .ip: P.ip
        case .userAgent: P.userAgent
        case .before: P.before
        case .after: P.after
        case .metadata: P.metadata
        }
    }

    static let allMask: UInt16 = allCases.reduce(0) { $0 | $1.presenceBit }

    static func mask(of fields: some Sequence<RedactableField>) -> UInt16 {
        fields.reduce(0) { $0 | $1.presenceBit }
    }

    static func fields(in mask: UInt16) -> [RedactableField] {
        allCases.filter { mask & $0.presenceBit != 0 }
    }

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

    public static func < (a: RedactableField, b: RedactableField) -> Bool {
        a.presenceBit < b.presenceBit
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
