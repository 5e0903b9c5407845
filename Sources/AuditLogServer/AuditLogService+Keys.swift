import AuditLog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An API key as the API shows it: never its secret or its hash.
struct APIKeyView: Encodable {
    var id: String
    var name: String
    var permissions: [String]
    var org: String?
    var createdAt: Timestamp
    var createdBy: String
    var revokedAt: Timestamp?

    init(_ key: APIKey) {
        id = key.id
        name = key.name
        permissions = key.permissions.map(\.rawValue)
        org = key.org
        createdAt = key.createdAt
        createdBy = key.createdBy.name.map { "\($0) (\(key.createdBy.id))" } ?? key.createdBy.id
        revokedAt = key.revokedAt
    }
}

/// The bodies of `/v1/keys`.
struct NewKey: Decodable {
    var name: String
    var permissions: [String]
    var org: String?
}

struct CreatedKey: Encodable {
    var key: APIKeyView
    var token: String
}

struct RevokedKey: Encodable { var key: APIKeyView }

struct KeyList: Encodable { var keys: [APIKeyView] }

extension AuditLogService {
    // MARK: /v1/keys (auditLogs:admin)

    func listKeys(_ request: Request) async throws -> Response {
        let admin = try authorize(request, .admin)
        let keys = try keys.keys().filter { admin.org == nil || $0.org == admin.org }
        return try JSONResponse.encode(.ok, KeyList(keys: keys.map(APIKeyView.init)))
    }

    /// `{"name": "...", "permissions": ["auditLogs:read", ...], "org": "..."}` → 201 with the token, shown once.
    func createKey(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let admin = try authorize(request, .admin)
        let body = try await request.body.collect(upTo: 64 << 10)
        let input: NewKey
        do {
            input = try JSONDecoder().decode(NewKey.self, from: Data(Array(buffer: body)))
        } catch {
            throw APIError(
                .badRequest, code: "invalid_body",
                #"expected {"name": "...", "permissions": ["auditLogs:read", ...], "org": "..."}"#)
        }
        var permissions: [Permission] = []
        for name in input.permissions {
            guard let permission = Permission(rawValue: name) else {
                throw APIError(
                    .badRequest, code: "invalid_body",
                    "\(name) is not a permission; they are \(Permission.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "permissions")
            }
            permissions.append(permission)
        }
        if let org = admin.org, input.org != org {
            throw APIError.forbidden("the key \"\(admin.name)\" creates keys for org \(org) only; pass \"org\": \"\(org)\"")
        }
        let store = keys
        let actor = admin.actor
        let granted = permissions
        let created = try await blocking { () throws(AuditLogError) in
            try store.create(name: input.name, permissions: granted, org: input.org, by: actor)
        }
        try await keys.recordChanges(in: log)
        return try JSONResponse.encode(.created, CreatedKey(key: APIKeyView(created.key), token: created.token))
    }

    func revokeKey(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let admin = try authorize(request, .admin)
        let name = context.parameters.get("key") ?? ""
        if let org = admin.org {
            guard try keys.keys().contains(where: { ($0.name == name || $0.id == name) && $0.org == org }) else {
                throw APIError.notFound("no active key is named \"\(name)\" in org \(org)")
            }
        }
        let store = keys
        let actor = admin.actor
        let revoked = try await blocking { () throws(AuditLogError) in try store.revoke(name, by: actor) }
        try await keys.recordChanges(in: log)
        return try JSONResponse.encode(.ok, RevokedKey(key: APIKeyView(revoked)))
    }
}
