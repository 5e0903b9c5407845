import AuditLog
import AuditLogKeys
import HTTPTypes
import Hummingbird
import NIOCore

extension AuditLogService {
    // MARK: POST /v1/redactions (auditLogs:admin)

    /// Erases personal data from stored events (the library's ``AuditLog/redact(_:fields:reason:)``): the log
    /// records the redaction as its own event, and the key that asked as an `auditLogs.redact` event. A key limited
    /// to an org redacts only events of that org, by seq.
    func redact(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .admin)
        let body = try await JSONBody(
            request, fields: ["actor", "seqs", "fields", "reason"],
            example: #"{"actor": "user_42", "reason": "GDPR request 1234"} or {"seqs": [1, 2], "reason": "..."}"#)
        let reason = try body.required("reason", body.string)
        let target: RedactionTarget
        switch (try body.string("actor"), try body.sequenceNumbers("seqs")) {
        case (let actor?, nil): target = .actor(actor)
        case (nil, let seqs?): target = .events(seqs)
        default:
            throw APIError(
                .badRequest, code: "invalid_body", "give either actor (every event of that actor) or seqs",
                field: "actor")
        }
        var fields = RedactableField.personalData
        if let names = try body.strings("fields") {
            fields = try names.map { name in
                guard let field = RedactableField(rawValue: name) else {
                    throw APIError(
                        .badRequest, code: "invalid_body",
                        "\(name) cannot be redacted; the fields are "
                            + RedactableField.allCases.map(\.rawValue).joined(separator: ", "), field: "fields")
                }
                return field
            }
        }
        if let org = key.org {
            guard case .events(let seqs) = target else {
                throw APIError.forbidden(
                    "the key \"\(key.name)\" administers org \(org) only: redact that org's events by seq")
            }
            for seq in seqs { _ = try await visibleEvent(seq, to: key) }
        }
        let log = self.log
        let chosen = fields
        let result = try await blocking { () throws(AuditLogError) in
            try log.redact(target, fields: chosen, reason: reason)
        }
        var metadata: [(key: String, value: JSONValue)] = [
            ("redactionSeq", .number(String(result.eventSeq))),
            ("fields", .array(result.fields.map { .string($0.rawValue) })),
            ("records", .number(String(result.recordsRedacted))),
        ]
        switch target {
        case .actor(let id): metadata.append(("actor", .string(id)))
        case .events(let seqs): metadata.append(("seqs", .array(seqs.map { .number(String($0)) })))
        }
        try await log.append(
            selfAuditEvent("auditLogs.redact", key: key, request: request, context: context, metadata: .object(metadata)))
        return try JSONResponse.encode(.ok, result)
    }

    // MARK: POST /v1/retention (auditLogs:admin)

    /// Applies a retention policy now, or with `"dryRun": true` says what it would remove. Whole sealed segments
    /// go, for every org at once: keys limited to an org cannot. An applied policy is recorded by the log, and the
    /// key that asked as an `auditLogs.retention` event.
    func applyRetention(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .admin)
        if let org = key.org {
            throw APIError.forbidden(
                "the key \"\(key.name)\" administers org \(org) only; retention removes events of every org")
        }
        let body = try await JSONBody(
            request, fields: ["maxAge", "maxBytes", "dryRun"],
            example: #"{"maxAge": "400d", "maxBytes": 10737418240, "dryRun": true} (either limit or both)"#)
        let maxAge = try body.string("maxAge")
        let maxBytes = try body.integer("maxBytes")
        guard maxAge != nil || maxBytes != nil else {
            throw APIError(
                .badRequest, code: "invalid_body", "give maxAge, maxBytes or both (a policy needs a limit)",
                field: "maxAge")
        }
        var policy = RetentionPolicy()
        if let text = maxAge {
            guard let age = Duration(parsing: text) else {
                throw APIError(
                    .badRequest, code: "invalid_body", "maxAge takes a number and a unit: 90d, 400d, 12h (got \(text))",
                    field: "maxAge")
            }
            policy.maxAge = age
        }
        if let bytes = maxBytes {
            guard bytes >= 0 else {
                throw APIError(.badRequest, code: "invalid_body", "maxBytes must not be negative", field: "maxBytes")
            }
            policy.maxBytes = bytes
        }
        let dryRun = try body.bool("dryRun") ?? false
        let log = self.log
        let chosen = policy
        let result = try await blocking { () throws(AuditLogError) in
            try log.applyRetention(chosen, dryRun: dryRun)
        }
        if !dryRun {
            let metadata = JSONValue.object([
                ("retentionSeq", result.eventSeq.map { .number(String($0)) } ?? .null),
                ("maxAge", maxAge.map(JSONValue.string) ?? .null),
                ("maxBytes", maxBytes.map { .number(String($0)) } ?? .null),
                ("segmentsRemoved", .number(String(result.segmentsRemoved.count))),
                ("prunedBelow", .number(String(result.prunedBelow))),
            ])
            try await log.append(
                selfAuditEvent("auditLogs.retention", key: key, request: request, context: context, metadata: metadata))
        }
        return try JSONResponse.encode(.ok, result)
    }
}
