/// The events a log writes about itself, by actor `system`/`auditlog` (FORMAT.md, "Retention and redaction"):
/// every retention and every redaction is recorded in the log it changes, so it is covered by the Merkle tree,
/// by later checkpoints, and by verification. Clients cannot append events as this actor.
enum SystemEvents {
    static let actorID = "auditlog"
    static let retentionAction = "auditlog.retention"
    static let redactionAction = "auditlog.redaction"
    static let archiveRetentionAction = "auditlog.archive.retention"

    static func isReserved(_ actor: AuditEvent.Actor) -> Bool {
        actor.type == .system && actor.id == actorID
    }

    private static var actor: AuditEvent.Actor { AuditEvent.Actor(type: .system, id: actorID) }

    // MARK: Retention

    /// What one application of retention removed.
    struct Retention: Equatable {
        /// Every record below this seq was removed: the first seq of the oldest segment kept.
        var prunedBelow: UInt64
        /// The Merkle root of the tree of `prunedBelow` records, from the frontier kept in the next segment.
        var rootAtBoundary: SHA256Hash
        var segmentsRemoved: Int
        var bytesRemoved: Int64
        /// Why: `max-age 400d`, `max-bytes 10G`, or both.
        var reason: String
    }

    static func event(_ retention: Retention) -> AuditEvent {
        let metadata = JSONValue.object([
            ("prunedBelowSeq", .number(String(retention.prunedBelow))),
            ("rootAtBoundary", .string(retention.rootAtBoundary.hex)),
            ("segmentsRemoved", .number(String(retention.segmentsRemoved))),
            ("bytesRemoved", .number(String(retention.bytesRemoved))),
            ("reason", .string(retention.reason)),
        ])
        return AuditEvent(
            actor: actor, action: retentionAction,
            resource: AuditEvent.Resource(type: "auditlog.segments", id: "0..<\(retention.prunedBelow)"),
            metadata: JSONText(canonical: metadata.text))
    }

    static func retention(_ event: AuditEvent) -> Retention? {
        guard isReserved(event.actor), event.action == retentionAction, let fields = members(event),
            let below = fields.number("prunedBelowSeq"),
            let root = fields.string("rootAtBoundary").flatMap(
                SHA256Hash.init(hex:))
        else { return nil }
        return Retention(
            prunedBelow: below, rootAtBoundary: root, segmentsRemoved: Int(fields.number("segmentsRemoved") ?? 0),
            bytesRemoved: Int64(fields.number("bytesRemoved") ?? 0), reason: fields.string("reason") ?? "")
    }

    /// Retention on the archive: which segments' objects were removed from the store, and which the store keeps
    /// locked.
    static func event(_ result: ArchiveRetentionResult) -> AuditEvent {
        var members: [(key: String, value: JSONValue)] = [
            ("archive", .string(result.archive)), ("bytesRemoved", .number(String(result.bytesRemoved))),
        ]
        if let until = result.keptUntil { members.append(("lockedUntil", .string(until))) }
        members += [
            ("prunedBelowSeq", .number(String(result.prunedBelow))),
            ("segmentsKeptLocked", .number(String(result.segmentsKept.count))),
            ("segmentsRemoved", .number(String(result.segmentsRemoved.count))),
        ]
        return AuditEvent(
            actor: actor, action: archiveRetentionAction,
            resource: AuditEvent.Resource(type: "auditlog.archive", id: result.archive),
            metadata: JSONText(canonical: JSONValue.object(members).text))
    }

    // MARK: Redaction

    /// A redaction: which records (an actor's, or chosen seqs) lost which fields, and why.
    struct RedactionRule: Equatable {
        /// Seq of the redaction event; an actor rule covers that actor's records before it.
        var seq: UInt64 = 0
        var target: RedactionTarget
        /// The fields removed, in field order.
        var fields: [RedactableField]
        var reason: String

        func covers(seq recordSeq: UInt64, actorID: String) -> Bool {
            guard recordSeq < seq else { return false }
            switch target {
            case .actor(let id): return id == actorID
            case .events(let seqs): return seqs.contains(recordSeq)
            }
        }
    }

    static func event(_ rule: RedactionRule) -> AuditEvent {
        var members: [(key: String, value: JSONValue)] = []
        let resource: AuditEvent.Resource
        switch rule.target {
        case .actor(let id):
            members.append(("actorId", .string(id)))
            resource = AuditEvent.Resource(type: "actor", id: id)
        case .events(let seqs):
            members.append(("seqs", .array(seqs.map { .number(String($0)) })))
            resource = AuditEvent.Resource(type: "auditlog.events", id: "\(seqs.count) events")
        }
        members.append(("fields", .array(rule.fields.map { .string($0.rawValue) })))
        members.append(("reason", .string(rule.reason)))
        return AuditEvent(
            actor: actor, action: redactionAction, resource: resource,
            metadata: JSONText(canonical: JSONValue.object(members).text))
    }

    static func redactionRule(_ stored: StoredEvent) -> RedactionRule? {
        let event = stored.event
        guard isReserved(event.actor), event.action == redactionAction, let fields = members(event),
            case .array(let names)? = fields["fields"]
        else { return nil }
        var removed: Set<RedactableField> = []
        for case .string(let name) in names {
            guard let field = RedactableField(rawValue: name) else { return nil }
            removed.insert(field)
        }
        let target: RedactionTarget
        if let id = fields.string("actorId") {
            target = .actor(id)
        } else if case .array(let list)? = fields["seqs"] {
            var seqs: [UInt64] = []
            for case .number(let text) in list {
                guard let seq = UInt64(text) else { return nil }
                seqs.append(seq)
            }
            target = .events(seqs)
        } else {
            return nil
        }
        return RedactionRule(
            seq: stored.seq, target: target, fields: removed.sorted(), reason: fields.string("reason") ?? "")
    }

    // MARK: Metadata

    private static func members(_ event: AuditEvent) -> [String: JSONValue]? {
        guard let metadata = event.metadata, case .object(let list)? = try? JSONValue(metadata) else { return nil }
        return Dictionary(list.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    fileprivate func number(_ key: String) -> UInt64? {
        if case .number(let text)? = self[key] { return UInt64(text) }
        return nil
    }

    fileprivate func string(_ key: String) -> String? {
        if case .string(let text)? = self[key] { return text }
        return nil
    }
}

/// Which events a redaction applies to.
public enum RedactionTarget: Sendable, Equatable {
    /// Every event of this actor id stored before the redaction.
    case actor(String)
    /// These events, by seq.
    case events([UInt64])
}
