import AuditLog
import AuditLogKeys
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension AuditLogService {
    // MARK: POST /v1/events

    /// One event, a JSON array, or JSON Lines; all or nothing; 201 once durable.
    func appendEvents(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .write)
        let format: EventDecoder.BatchFormat
        switch request.headers[.contentType]?.split(separator: ";").first.map(trimmingSpaces) {
        case nil, "application/json": format = .json
        case "application/x-ndjson", "application/jsonl", "application/json-lines": format = .jsonLines
        case let other?:
            throw APIError(
                .unsupportedMediaType, code: "unsupported_media_type",
                "send application/json (an event or an array) or application/x-ndjson (JSON Lines), not \(other)")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw tooLarge()
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw tooLarge()
        }
        // Straight from JSON to the records the log stores; events without an org get the key's.
        let events = try body.withUnsafeReadableBytes { bytes throws(AuditLogError) in
            try EventDecoder(limits: log.options.limits).encodeBatch(bytes, format: format, defaultOrg: key.org)
        }
        guard events.count > 0 else {
            throw APIError(.badRequest, code: "invalid_event", "the request holds no event")
        }
        if let org = key.org {
            for i in 0..<events.count {
                guard let other = events.orgID(at: i), other != org else { continue }
                throw APIError.forbidden(
                    "event \(i + 1) belongs to org \(other); the key \"\(key.name)\" appends only events "
                        + "of org \(org). Nothing was appended")
            }
        }

        guard let idempotencyKey = request.headers[.idempotencyKey] else {
            return try appended(try await log.append(events))
        }
        guard (1...255).contains(idempotencyKey.utf8.count) else {
            throw APIError(.badRequest, code: "invalid_header", "Idempotency-Key must be 1 to 255 bytes")
        }
        let scoped = try IdempotencyStore.scopedKey(apiKeyID: key.id, key: idempotencyKey)
        let bodyHash = try SHA256Hash.digest(of: Array(buffer: body)).hex
        switch idempotency.decide(scoped, body: bodyHash) {
        case .replay(let result):
            var response = try JSONResponse.encode(.created, result)
            response.headers[.idempotentReplayed] = "true"
            return response
        case .inProgress:
            throw APIError(
                .conflict, code: "idempotency_in_progress",
                "a request with this Idempotency-Key is being served; retry when it has answered")
        case .mismatch:
            throw APIError(
                .unprocessableContent, code: "idempotency_key_reused",
                "this Idempotency-Key was used with another request body; use a new key for a new request")
        case .proceed:
            let first = events.eventID(at: 0)
            let count = events.count
            let treeSize = log.state.treeSize
            let idempotency = self.idempotency
            guard
                try await blocking({ () throws(AuditLogError) in
                    try idempotency.begin(scoped, body: bodyHash, firstEventID: first, count: count, treeSize: treeSize)
                })
            else {
                throw APIError(
                    .conflict, code: "idempotency_in_progress",
                    "a request with this Idempotency-Key is being served; retry when it has answered")
            }
            do {
                let range = try await log.append(events)
                let result = AppendResult(firstSeq: range.lowerBound, count: count, treeSize: log.state.treeSize)
                idempotency.complete(scoped, with: result)
                return try JSONResponse.encode(.created, result)
            } catch let error as AuditLogError {
                // Refused for its content: nothing was appended, and a corrected retry may use the key again.
                if error.code == .invalidEvent { idempotency.abandon(scoped) }
                throw error
            }
        }
    }

    private func appended(_ range: Range<UInt64>) throws -> Response {
        try JSONResponse.encode(
            .created,
            AppendResult(firstSeq: range.lowerBound, count: range.count, treeSize: log.state.treeSize))
    }

    private func tooLarge() -> APIError {
        APIError(
            .contentTooLarge, code: "payload_too_large",
            "the request body is over \(configuration.maxBodyBytes) bytes; send fewer events per request")
    }

    // MARK: GET /v1/events

    /// The query a request's parameters describe, scoped to the key's org. `allowed` are the parameter names the
    /// route takes; the cursor is left for the engine to check against the scoped query.
    func query(
        _ request: Request, key: APIKey, allowed: Set<String>, defaultOrder: Query.Order = .newestFirst
    ) throws -> Query {
        var parameters: [(name: String, value: String)] = []
        var cursor: String?
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                throw APIError.badParameter(
                    name, "is not a parameter of this route; it takes: \(allowed.sorted().joined(separator: ", "))")
            }
            if name == "cursor" {
                cursor = String(value)
            } else if name != "format" {
                parameters.append((name, String(value)))
            }
        }
        if let limit = parameters.first(where: { $0.name == "limit" })?.value,
            let number = Int(limit), number > configuration.maxPageSize
        {
            throw APIError.badParameter("limit", "is at most \(configuration.maxPageSize) (got \(limit))")
        }
        var query: Query
        do {
            query = try Query(parameters: parameters, defaultOrder: defaultOrder)
        } catch {
            throw APIError(error)
        }
        if let org = key.org {
            if let other = query.orgIDs.first(where: { $0 != org }) {
                throw APIError.forbidden("the key \"\(key.name)\" sees only org \(org), not \(other)")
            }
            query.orgIDs = [org]
        }
        query.cursor = cursor
        return query
    }

    func eventsPage(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .read)
        var query = try query(
            request, key: key,
            allowed: [
                "from", "to", "since", "actor", "action", "resourceType", "resourceId", "org", "project", "source",
                "afterSeq", "order", "limit", "cursor",
            ])
        if !request.uri.queryParameters.contains(where: { $0.key == "limit" }) { query.limit = 50 }
        let reader = log.reader
        let scoped = query
        // The events are written straight from their records, as a JSON array's elements.
        let (out, rows): ([UInt8], Int)
        do {
            (out, rows) = try await blocking { () throws(AuditLogError) in
                var out: [UInt8] = Array(#"{"events":["#.utf8)
                var encoder = ExportEncoder(format: .jsonArray)
                let page = try reader.appendPage(matching: scoped, encoder: &encoder, to: &out)
                out.append(contentsOf: #"],"nextCursor":"#.utf8)
                if let next = page.nextCursor {
                    JSONWriter.appendString(next, to: &out)
                } else {
                    out += Array("null".utf8)
                }
                out.append(contentsOf: "}\n".utf8)
                return (out, page.events)
            }
        } catch let error as AuditLogError {
            throw APIError(error, parameter: error.code == .invalidArgument ? "cursor" : nil)
        }
        try await recordRead(
            "auditLogs.list", key: key, request: request, context: context, filters: request.uri.query ?? "",
            metadata: [("route", .string("/v1/events")), ("rows", .number(String(rows)))])
        return JSONResponse.make(.ok, out)
    }

    // MARK: GET /v1/events/{seq}

    /// The event, its field-level changes from `before` to `after`, and when and why it was redacted.
    func eventDetails(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .read)
        let text = context.parameters.get("seq") ?? ""
        guard let seq = UInt64(text) else { throw APIError.badParameter("seq", "is a sequence number (got \(text))") }
        let stored = try await visibleEvent(seq, to: key)
        let reader = log.reader
        let redaction = try await blocking { () throws(AuditLogError) in try reader.redactionDetails(of: stored) }
        let changes = (try? EventDiff.changes(of: stored.event)) ?? []
        var out: [UInt8] = Array(#"{"event":"#.utf8)
        stored.appendJSON(to: &out)
        out.append(contentsOf: #","changes":["#.utf8)
        for (i, change) in changes.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"path":"#.utf8)
            JSONWriter.appendString(change.path, to: &out)
            out.append(contentsOf: #","kind":""#.utf8)
            out.append(contentsOf: change.kind.rawValue.utf8)
            out.append(contentsOf: #"","old":"#.utf8)
            out.append(contentsOf: (change.old ?? "null").utf8)  // canonical JSON of the value
            out.append(contentsOf: #","new":"#.utf8)
            out.append(contentsOf: (change.new ?? "null").utf8)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"redacted":"#.utf8)
        if let redaction {
            out.append(contentsOf: #"{"by":\#(redaction.eventSeq),"at":"#.utf8)
            JSONWriter.appendString(redaction.timestamp.rfc3339, to: &out)
            out.append(contentsOf: #","reason":"#.utf8)
            JSONWriter.appendString(redaction.reason, to: &out)
            out.append(contentsOf: #","fields":["#.utf8)
            out.append(contentsOf: redaction.fields.map { "\"\($0.rawValue)\"" }.joined(separator: ",").utf8)
            out.append(contentsOf: "]}".utf8)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: "}\n".utf8)
        try await recordRead(
            "auditLogs.view", key: key, request: request, context: context, filters: "event \(seq)",
            metadata: [("route", .string("/v1/events/{seq}")), ("seq", .number(String(seq)))])
        return JSONResponse.make(.ok, out)
    }

    /// The event at `seq` if the key may see it; 404 otherwise (another org's event looks absent).
    func visibleEvent(_ seq: UInt64, to key: APIKey) async throws -> StoredEvent {
        let reader = log.reader
        let stored: StoredEvent
        do {
            stored = try await blocking { () throws(AuditLogError) in try reader.event(seq: seq) }
        } catch let error as AuditLogError where error.code == .invalidArgument {
            throw APIError.notFound("no event \(seq) in this log")
        }
        if let org = key.org, stored.event.org?.id != org { throw APIError.notFound("no event \(seq) in this log") }
        return stored
    }

    // MARK: GET /v1/facets

    /// Distinct values of a field with counts, from the facet summaries (no event is read).
    func facets(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .read)
        var field: FacetField?
        var orgs: [String] = []
        var limit = 1000
        for (name, value) in request.uri.queryParameters {
            switch name {
            case "field":
                guard let parsed = FacetField(rawValue: String(value)) else {
                    throw APIError.badParameter(
                        "field", "is one of \(FacetField.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                field = parsed
            case "org":
                guard !value.isEmpty else { throw APIError.badParameter("org", "is empty") }
                orgs.append(String(value))
            case "limit":
                guard let number = Int(value), (1...10_000).contains(number) else {
                    throw APIError.badParameter("limit", "is a number from 1 to 10000 (got \(value))")
                }
                limit = number
            default:
                throw APIError.badParameter(
                    String(name),
                    "is not a parameter of /v1/facets; it takes field, org and limit (facets count "
                        + "the whole log, per org)")
            }
        }
        guard let field else { throw APIError.badParameter("field", "is required") }
        if let org = key.org {
            if let other = orgs.first(where: { $0 != org }) {
                throw APIError.forbidden("the key \"\(key.name)\" sees only org \(org), not \(other)")
            }
            orgs = [org]
        }
        let reader = log.reader
        let scope = orgs.isEmpty ? nil : orgs
        let most = limit
        let result = try await blocking { () throws(AuditLogError) in
            try reader.facets(field, orgIDs: scope, limit: most)
        }
        try await recordRead(
            "auditLogs.list", key: key, request: request, context: context, filters: request.uri.query ?? "",
            metadata: [("route", .string("/v1/facets")), ("field", .string(field.rawValue))])
        return try JSONResponse.encode(.ok, result)
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let lastSeq = HTTPField.Name("Audit-Log-Last-Seq")!
}
