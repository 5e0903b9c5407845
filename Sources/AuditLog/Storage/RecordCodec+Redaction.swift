extension RedactableField {
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
}

extension SystemEvents {
    private static let systemTypeCode = RecordCodec.code(of: .system)

    /// Whether a record is a candidate system event, from its actor type byte alone (no decoding).
    static func mayBeSystemEvent(_ record: UnsafeRawBufferPointer) -> Bool {
        record.count > 2 && record[2] == systemTypeCode
    }
}
