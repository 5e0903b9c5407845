import AuditLog
import AuditLogKeys
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension AuditLogService {
    // MARK: GET /v1/export

    /// The events matching the filters (oldest first unless `order=newest`), streamed in constant memory as JSON
    /// Lines, a JSON array or CSV: the same bytes as `auditlog export` with the same filters. With `afterSeq=N`
    /// only events after seq N: an hourly pull that passes the last seq it received gets every event exactly once.
    /// The last seq sent is in the trailer `Audit-Log-Last-Seq` (and in the last line). The export is recorded in
    /// the log as an `auditLogs.export` event by the key, with the filters and the number of rows.
    func export(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .export)
        let (query, format) = try exportQuery(request, key: key)
        return streamExport(
            query: query, format: format, filters: Self.filters(request, except: ["format"]), key: key,
            request: request, context: context)
    }

    /// The export a request's parameters describe, scoped to the key's org.
    private func exportQuery(_ request: Request, key: APIKey) throws -> (Query, ExportEncoder.Format) {
        let formatName = request.uri.queryParameters["format"].map(String.init) ?? "jsonl"
        guard let format = ExportEncoder.Format(rawValue: formatName) else {
            throw APIError.badParameter("format", "is jsonl, json, csv, ocsf or ecs (got \(formatName))")
        }
        let query = try query(
            request, key: key,
            allowed: [
                "format", "from", "to", "since", "actor", "action", "resourceType", "resourceId", "org", "project",
                "source", "afterSeq", "order",
            ], defaultOrder: .oldestFirst)
        return (query, format)
    }

    // MARK: Download links (for browsers)

    /// `POST /v1/export/links?format=csv&FILTERS` → `{"url": "/v1/export/links/<token>", "expiresAt": "..."}`: a
    /// link a browser can download without the API key in a URL or a header. It works once, within a minute, for
    /// the filters given (checked now), and only while the key may still export.
    func createExportLink(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .export)
        let (query, format) = try exportQuery(request, key: key)
        let link = try exportLinks.issue(
            ExportLinks.Link(
                keyID: key.id, query: query, format: format, filters: Self.filters(request, except: ["format"]),
                expires: Timestamp.now.millisecondsSinceEpoch + ExportLinks.lifetimeMilliseconds))
        return try JSONResponse.encode(
            .created,
            ["url": "/v1/export/links/\(link.token)", "expiresAt": Timestamp(millisecondsSinceEpoch: link.expires).rfc3339])
    }

    /// `GET /v1/export/links/{token}`: the export of a link, streamed; the link is used up.
    func downloadExportLink(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws
        -> Response
    {
        let token = context.parameters.get("token") ?? ""
        guard let link = exportLinks.redeem(token, now: Timestamp.now.millisecondsSinceEpoch) else {
            throw APIError.notFound("this download link is unknown, used or expired: export again from the page")
        }
        guard let key = try keys.key(id: link.keyID), !key.isRevoked, key.permissions.contains(.export) else {
            throw APIError.forbidden("the key that asked for this link was revoked or lost auditLogs:export")
        }
        return streamExport(
            query: link.query, format: link.format, filters: link.filters, key: key, request: request, context: context)
    }

    /// The events of `query` (oldest first unless it says otherwise), streamed in constant memory in `format`, with
    /// the last seq in the trailer, and the export recorded in the log when it ends.
    private func streamExport(
        query: Query, format: ExportEncoder.Format, filters: JSONValue, key: APIKey, request: Request,
        context: some AuditLogRequestContextProtocol
    ) -> Response {
        let (contentType, fileExtension) =
            switch format {
            case .jsonLines: ("application/x-ndjson", "jsonl")
            case .jsonArray: ("application/json", "json")
            case .csv: ("text/csv; charset=utf-8", "csv")
            case .ocsf: ("application/x-ndjson", "ocsf.jsonl")
            case .ecs: ("application/x-ndjson", "ecs.ndjson")
            }
        let stamp = Timestamp.now.rfc3339.filter { $0.isNumber || $0 == "T" }.prefix(15)
        let headers: HTTPFields = [
            .contentType: contentType,
            .contentDisposition: "attachment; filename=\"audit-log-\(stamp)Z.\(fileExtension)\"",
            .cacheControl: "no-store",
        ]
        let reader = log.reader
        let record = { @Sendable (rows: Int, completed: Bool) async in
            try? await self.recordExport(
                key: key, request: request, context: context, format: format, filters: filters, rows: rows,
                completed: completed)
        }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // The export starts when the body is written, so a response never sent leaves no thread behind.
                let stream = ExportStream()
                stream.start(reader: reader, query: query, format: format, mapping: configuration.siemMapping)
                var rows = 0
                do {
                    while true {
                        let (chunk, end) = await stream.next()
                        if let chunk {
                            try await writer.write(chunk)
                            continue
                        }
                        switch end {
                        case .success(let summary)?:
                            rows = summary.events
                            await record(rows, true)
                            var trailers = HTTPFields()
                            if let last = summary.lastSeq { trailers[.lastSeq] = String(last) }
                            try await writer.finish(trailers)
                        case .failure(let error)?:
                            await record(rows, false)
                            throw error
                        case nil:
                            throw APIError(.internalServerError, code: "server_error", "the export ended early")
                        }
                        return
                    }
                } catch {
                    // The client is gone, or the export failed: stop the producer.
                    stream.cancel()
                    throw error
                }
            })
    }

    /// Records a bulk export in the log (the audit log audits its own readers).
    func recordExport(
        key: APIKey, request: Request, context: some AuditLogRequestContextProtocol, format: ExportEncoder.Format,
        filters: JSONValue, rows: Int, completed: Bool
    ) async throws {
        let metadata = JSONValue.object([
            ("format", .string(format.rawValue)),
            ("filters", filters),
            ("rows", .number(String(rows))),
            ("completed", .bool(completed)),
        ])
        try await log.append(
            selfAuditEvent("auditLogs.export", key: key, request: request, context: context, metadata: metadata))
    }

    // MARK: Proofs and checkpoints

    func checkpoint(_ request: Request) async throws -> Response {
        _ = try authorize(request, .read)
        let reader = log.reader
        guard let text = try await blocking({ () throws(AuditLogError) in try reader.latestCheckpoint() }) else {
            throw APIError(
                .notFound, code: "no_checkpoint",
                "this log has no signed checkpoint yet: start the server with --key to have it sign them")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func verifierKey(_ request: Request) throws -> Response {
        _ = try authorize(request, .read)
        guard let key = configuration.verifierKey else {
            throw APIError(
                .notFound, code: "no_verifier_key", "this server does not sign checkpoints (start it with --key)")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: key.description + "\n")))
    }

    func inclusionProof(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let key = try authorize(request, .read)
        let parameters = try numbers(request, required: ["seq"], optional: ["treeSize"])
        let seq = parameters["seq"]!
        _ = try await visibleEvent(seq, to: key)  // the proof carries the record: only for events the key may see
        let reader = log.reader
        let treeSize = parameters["treeSize"]
        let proof: InclusionProof
        do {
            proof = try await blocking { () throws(AuditLogError) in
                try reader.inclusionProof(seq: seq, treeSize: treeSize)
            }
        } catch let error as AuditLogError {
            throw APIError(error, parameter: error.code == .invalidArgument ? "treeSize" : nil)
        }
        try await recordRead(
            "auditLogs.view", key: key, request: request, context: context, filters: "proof \(seq)",
            metadata: [("route", .string("/v1/proofs/inclusion")), ("seq", .number(String(seq)))])
        return JSONResponse.make(.ok, Array(proof.jsonString.utf8) + [0x0A])
    }

    func consistencyProof(_ request: Request) async throws -> Response {
        _ = try authorize(request, .read)
        let parameters = try numbers(request, required: ["from"], optional: ["to"])
        let reader = log.reader
        let (from, to) = (parameters["from"]!, parameters["to"])
        let proof: ConsistencyProof
        do {
            proof = try await blocking { () throws(AuditLogError) in try reader.consistencyProof(from: from, to: to) }
        } catch let error as AuditLogError {
            throw APIError(error, parameter: error.code == .invalidArgument ? "from" : nil)
        }
        return JSONResponse.make(.ok, Array(proof.jsonString.utf8) + [0x0A])
    }

    /// Whole-number query parameters, exactly the ones named.
    private func numbers(_ request: Request, required: [String], optional: [String]) throws -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard required.contains(name) || optional.contains(name) else {
                throw APIError.badParameter(
                    name, "is not a parameter of this route; it takes \((required + optional).joined(separator: ", "))")
            }
            guard let number = UInt64(value) else { throw APIError.badParameter(name, "is a whole number (got \(value))") }
            values[name] = number
        }
        for name in required where values[name] == nil { throw APIError.badParameter(name, "is required") }
        return values
    }
}

extension HTTPField.Name {
    static let contentDisposition = HTTPField.Name("Content-Disposition")!
}
