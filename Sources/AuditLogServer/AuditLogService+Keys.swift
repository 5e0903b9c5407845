import AuditLog
import AuditLogKeys
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

struct CreatedKey: Encodable {
    var key: APIKeyView
    var token: String
}

struct KeyResult: Encodable { var key: APIKeyView }

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
        let body = try await JSONBody(
            request, fields: ["name", "permissions", "org"],
            example: #"{"name": "...", "permissions": ["auditLogs:read", ...], "org": "..."}"#)
        let name = try body.required("name", body.string)
        let permissions = try Self.permissions(try body.required("permissions", body.strings))
        let org = try body.string("org")
        if let scope = admin.org, org != scope {
            throw APIError.forbidden(
                "the key \"\(admin.name)\" creates keys for org \(scope) only; pass \"org\": \"\(scope)\"")
        }
        let (store, actor) = (keys, admin.actor)
        let created = try await blocking { () throws(AuditLogError) in
            try store.create(name: name, permissions: permissions, org: org, by: actor)
        }
        try await keys.recordChanges(in: log)
        return try JSONResponse.encode(.created, CreatedKey(key: APIKeyView(created.key), token: created.token))
    }

    /// `{"name": "...", "permissions": [...]}` (either or both) → the key after the change; its token stays.
    func updateKey(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let admin = try authorize(request, .admin)
        let name = context.parameters.get("key") ?? ""
        let body = try await JSONBody(
            request, fields: ["name", "permissions"],
            example: #"{"name": "...", "permissions": ["auditLogs:read", ...]} (either or both)"#)
        let newName = try body.string("name")
        let permissions = try body.strings("permissions").map(Self.permissions)
        let (store, actor, scope) = (keys, admin.actor, admin.org)
        let updated = try await blocking { () throws(AuditLogError) in
            try store.update(name, name: newName, permissions: permissions, scope: scope, by: actor)
        }
        try await keys.recordChanges(in: log)
        return try JSONResponse.encode(.ok, KeyResult(key: APIKeyView(updated)))
    }

    func revokeKey(_ request: Request, _ context: some AuditLogRequestContextProtocol) async throws -> Response {
        let admin = try authorize(request, .admin)
        let name = context.parameters.get("key") ?? ""
        let (store, actor, scope) = (keys, admin.actor, admin.org)
        let revoked = try await blocking { () throws(AuditLogError) in
            try store.revoke(name, scope: scope, by: actor)
        }
        try await keys.recordChanges(in: log)
        return try JSONResponse.encode(.ok, KeyResult(key: APIKeyView(revoked)))
    }

    /// Permission names as the API takes them.
    static func permissions(_ names: [String]) throws -> [Permission] {
        try names.map { name in
            guard let permission = Permission(rawValue: name) else {
                throw APIError(
                    .badRequest, code: "invalid_body",
                    "\(name) is not a permission; they are \(Permission.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "permissions")
            }
            return permission
        }
    }
}
