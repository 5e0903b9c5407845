import AuditLog
import AuditLogKeys
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// The HTTP API of one audit log: ingest, queries, record details, facets, exports, proofs, checkpoints, API key
/// administration, health and metrics, behind API keys with permissions and org scopes. Mount its routes in any
/// Hummingbird application with ``addRoutes(to:)``, or run ``AuditLogServer`` (what `auditlog serve` does).
///
/// Every route but `/healthz`, `/metrics` and the OpenAPI document needs `Authorization: Bearer <token>`: 401 without
/// a valid key, 403 when the key lacks the permission or the org. A key created for an org sees only events of that
/// org (another org's event is 404) and appends only events of that org (an event without an org gets it).
public struct AuditLogService: Sendable {
    public struct Configuration: Sendable {
        /// Largest request body; a larger one is refused with 413 and nothing appended. Default 16 MiB.
        public var maxBodyBytes = 16 << 20
        /// Largest page of `GET /v1/events`. Default 1000.
        public var maxPageSize = 1000
        /// Reads (pages, details, facets, proofs) are recorded in the log at most once per key, filter set and
        /// this interval. Default one minute.
        public var readAuditInterval: Duration = .seconds(60)
        /// The verifier key of the checkpoints the log signs, served at `/v1/verifier-key`.
        public var verifierKey: NoteVerifierKey?
        /// The OCSF classes and ECS categories of `format=ocsf` and `format=ecs` exports.
        public var siemMapping = SIEMMapping()

        public init() {}
    }

    public let log: AuditLog
    public let keys: APIKeyStore
    let idempotency: IdempotencyStore
    let readAudit: ReadAudit
    let exportLinks = ExportLinks()
    let configuration: Configuration
    let metrics: ServerMetrics

    /// - Throws: when the idempotency records in the log directory cannot be read.
    public init(log: AuditLog, configuration: Configuration = Configuration()) throws(AuditLogError) {
        self.log = log
        self.configuration = configuration
        keys = APIKeyStore(directory: log.directory)
        idempotency = try IdempotencyStore(directory: log.directory, log: log)
        readAudit = ReadAudit(interval: configuration.readAuditInterval)
        metrics = ServerMetrics(log: log)
    }

    /// Adds the API's routes (under `/v1`, plus `/healthz` and `/metrics`) and its error and metrics middleware.
    public func addRoutes<Context: AuditLogRequestContextProtocol>(to router: Router<Context>) {
        // Metrics outermost, so that they count every answer as sent, errors included, by route and status.
        router.add(middleware: MetricsMiddleware<Context>())
        router.add(middleware: APIErrorMiddleware<Context>(routes: Self.routes))
        router.get("/") { _, _ in try PageAssets.response("index.html") }
        router.get("ui/:file") { _, context in try PageAssets.response(context.parameters.get("file") ?? "") }
        router.get("healthz") { _, _ in try health() }
        router.get("metrics") { _, _ in try await metrics.response() }
        let api = router.group("v1")
        api.get("openapi.json") { _, _ in try OpenAPIDocument.response() }
        api.post("events") { request, context in try await appendEvents(request, context) }
        api.get("events") { request, context in try await eventsPage(request, context) }
        api.get("events/:seq") { request, context in try await eventDetails(request, context) }
        api.get("facets") { request, context in try await facets(request, context) }
        api.get("export") { request, context in try await export(request, context) }
        api.post("export/links") { request, context in try await createExportLink(request, context) }
        api.get("export/links/:token") { request, context in try await downloadExportLink(request, context) }
        api.get("checkpoint") { request, _ in try await checkpoint(request) }
        api.get("verifier-key") { request, _ in try verifierKey(request) }
        api.get("proofs/inclusion") { request, context in try await inclusionProof(request, context) }
        api.get("proofs/consistency") { request, _ in try await consistencyProof(request) }
        api.get("keys") { request, _ in try await listKeys(request) }
        api.post("keys") { request, context in try await createKey(request, context) }
        api.patch("keys/:key") { request, context in try await updateKey(request, context) }
        api.delete("keys/:key") { request, context in try await revokeKey(request, context) }
        api.post("redactions") { request, context in try await redact(request, context) }
        api.post("retention") { request, context in try await applyRetention(request, context) }
    }

    /// Every route and its methods (for 405 answers; the OpenAPI document lists the same).
    static let routes: [(path: String, methods: [String])] = [
        ("/", ["GET"]), ("/ui/:file", ["GET"]), ("/healthz", ["GET"]), ("/metrics", ["GET"]),
        ("/v1/openapi.json", ["GET"]), ("/v1/events", ["GET", "POST"]), ("/v1/events/:seq", ["GET"]),
        ("/v1/facets", ["GET"]), ("/v1/export", ["GET"]), ("/v1/export/links", ["POST"]),
        ("/v1/export/links/:token", ["GET"]), ("/v1/checkpoint", ["GET"]),
        ("/v1/verifier-key", ["GET"]), ("/v1/proofs/inclusion", ["GET"]), ("/v1/proofs/consistency", ["GET"]),
        ("/v1/keys", ["GET", "POST"]), ("/v1/keys/:key", ["PATCH", "DELETE"]), ("/v1/redactions", ["POST"]),
        ("/v1/retention", ["POST"]),
    ]

    // MARK: Authentication

    /// The key of the request's bearer token, which must hold `permission`.
    func authorize(_ request: Request, _ permission: Permission) throws -> APIKey {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("send an API key: Authorization: Bearer <token> (auditlog keys create)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.unauthorized("the Authorization header must be: Bearer <token>")
        }
        guard let key = try keys.authenticate(token: trimmingSpaces(parts[1])) else {
            throw APIError.unauthorized("this API key is not valid (unknown or revoked)")
        }
        guard key.permissions.contains(permission) else {
            throw APIError.forbidden(
                "the key \"\(key.name)\" lacks the \(permission.rawValue) permission; it has "
                    + key.permissions.map(\.rawValue).joined(separator: ", "))
        }
        return key
    }

    /// Runs blocking library work (disk reads) on NIO's thread pool, off the concurrency pool.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(AuditLogError) -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive { () throws -> T in try body() }
    }

    // MARK: Health

    func health() throws -> Response {
        let state = log.state
        let ok = log.isAcceptingAppends
        let body = #"{"status":"\#(ok ? "ok" : "failed")","treeSize":\#(state.treeSize)}"# + "\n"
        return Response(
            status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// `text` without leading and trailing spaces and tabs (Foundation's `trimmingCharacters` bridges to NSString,
/// measurably slow per request).
func trimmingSpaces(_ text: Substring) -> String {
    let isSpace = { (c: Character) in c == " " || c == "\t" }
    var (start, end) = (text.startIndex, text.endIndex)
    while start < end && isSpace(text[start]) { text.formIndex(after: &start) }
    while end > start && isSpace(text[text.index(before: end)]) { text.formIndex(before: &end) }
    return String(text[start..<end])
}

/// JSON responses.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status = .ok, _ bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func encode(_ status: HTTPResponse.Status = .ok, _ value: some Encodable) throws -> Response {
        make(status, Array(try JSONText(encoding: value).text.utf8) + [0x0A])
    }
}
