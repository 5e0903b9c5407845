import AuditLog
import AuditLogKeys
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Decides which reads are recorded in the log: at most one per key, filter set and interval, so that a live view
/// refreshing every few seconds records its reader once a minute rather than flooding the log.
final class ReadAudit: Sendable {
    private let interval: Int64
    private let recent = Mutex<[String: Int64]>([:])

    init(interval: Duration) {
        let (seconds, attoseconds) = interval.components
        self.interval = seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whether a read of `filters` by `keyID` now should be recorded (and notes it if so).
    func shouldRecord(keyID: String, action: String, filters: String) -> Bool {
        let now = Timestamp.now.millisecondsSinceEpoch
        let slot = "\(keyID)\n\(action)\n\(filters)"
        return recent.withLock { recent in
            if let last = recent[slot], now - last < interval { return false }
            if recent.count > 100_000 { recent = recent.filter { now - $0.value < interval } }
            recent[slot] = now
            return true
        }
    }
}

extension AuditLogService {
    /// The event the log records about one of its own readers or exporters: by the API key, from the caller's
    /// address and user agent, source `api`, in the key's org.
    func selfAuditEvent(
        _ action: String, key: APIKey, request: Request, context: some AuditLogRequestContextProtocol,
        metadata: JSONValue
    ) throws(AuditLogError) -> AuditEvent {
        AuditEvent(
            actor: key.actor, action: action,
            resource: AuditEvent.Resource(type: "audit_log", id: log.options.checkpointSigner?.name ?? "audit-log"),
            org: key.org.map { AuditEvent.Reference(id: $0) }, source: "api",
            ip: context.remoteAddress?.ipAddress, userAgent: request.headers[.userAgent].map { String($0.prefix(1024)) },
            metadata: try JSONText(metadata.text))
    }

    /// The query parameters as a JSON object: each name once, a repeated one with an array of its values.
    static func filters(_ request: Request, except excluded: Set<String> = []) -> JSONValue {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in request.uri.queryParameters where !excluded.contains(String(name)) {
            let name = String(name)
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(String(value))
        }
        return .object(
            order.map { name in
                let list = values[name]!
                return (name, list.count == 1 ? .string(list[0]) : .array(list.map { .string($0) }))
            })
    }

    /// Records a read (a page, facets, a detail view, a proof), at most once per key, filter set and interval.
    func recordRead(
        _ action: String, key: APIKey, request: Request, context: some AuditLogRequestContextProtocol, filters: String,
        metadata: [(key: String, value: JSONValue)]
    ) async throws {
        guard readAudit.shouldRecord(keyID: key.id, action: action, filters: filters) else { return }
        let event = try selfAuditEvent(
            action, key: key, request: request, context: context,
            metadata: .object(metadata + [("filters", Self.filters(request))]))
        try await log.append(event)
    }
}
