import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

/// API keys, permissions and org scopes on every route, through a real server process.
@Suite("HTTP keys and permissions")
struct AuthorizationTests {
    /// Every authenticated route, a request that would succeed with the permission, and the permission.
    static let routes: [(method: String, path: String, body: String?, permission: String)] = [
        ("POST", "/v1/events", eventJSON(), "write"),
        ("GET", "/v1/events", nil, "read"),
        ("GET", "/v1/events/0", nil, "read"),
        ("GET", "/v1/facets?field=action", nil, "read"),
        ("GET", "/v1/checkpoint", nil, "read"),
        ("GET", "/v1/verifier-key", nil, "read"),
        ("GET", "/v1/proofs/inclusion?seq=0", nil, "read"),
        ("GET", "/v1/proofs/consistency?from=1", nil, "read"),
        ("GET", "/v1/export", nil, "export"),
        ("POST", "/v1/export/links?format=csv", nil, "export"),
        ("GET", "/v1/keys", nil, "admin"),
        ("POST", "/v1/keys", #"{"name":"k","permissions":["auditLogs:read"]}"#, "admin"),
        ("PATCH", "/v1/keys/nobody", #"{"name":"x"}"#, "admin"),
        ("DELETE", "/v1/keys/nobody", nil, "admin"),
        ("POST", "/v1/redactions", #"{"seqs":[999999],"reason":"test"}"#, "admin"),
        ("POST", "/v1/retention", #"{"maxAge":"400d","dryRun":true}"#, "admin"),
    ]

    @Test("every route: 401 without a valid key, 403 without its permission, not refused with it")
    func everyRouteChecksItsPermission() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let permissions = ["write", "read", "export", "admin"]
        var tokens: [String: String] = [:]
        for permission in permissions {
            // A key with every permission but this one.
            tokens[permission] = try createKey(log, "all-but-\(permission)", permissions.filter { $0 != permission })
        }
        let revoked = try createKey(log, "revoked", permissions)
        #expect(try runAuditlog(["keys", "revoke", "--dir", log, "revoked"]).status == 0)
        let keygen = try runAuditlog(["keygen", "--name", "test.example/log", "--out", directory.file("sign")])
        #expect(keygen.status == 0)
        let server = try await ServerProcess.start(directory: log, arguments: ["--key", directory.file("sign.key")])
        #expect(try await Client(server, token: tokens["read"]!).post("/v1/events", eventJSON()).status == 201)
        #expect(try await server.stop().status == 0)  // signs a checkpoint at close
        let restarted = try await ServerProcess.start(
            directory: log, arguments: ["--key", directory.file("sign.key")])
        let anonymous = Client(restarted)

        for route in Self.routes {
            let body = route.body.map { Data($0.utf8) }
            let headers = ["Content-Type": "application/json"]
            let none = try await Client(restarted).send(route.method, route.path, body: body, headers: headers)
            #expect(none.status == 401, "\(route.method) \(route.path) without a key")
            #expect(none.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            let bad = try await Client(restarted, token: "alk_0123456789ab_" + String(repeating: "A", count: 43))
                .send(route.method, route.path, body: body, headers: headers)
            #expect(bad.status == 401, "\(route.method) \(route.path) with an unknown key")
            let old = try await Client(restarted, token: revoked).send(
                route.method, route.path, body: body, headers: headers)
            #expect(old.status == 401, "\(route.method) \(route.path) with a revoked key")
            let lacking = try await Client(restarted, token: tokens[route.permission]!)
                .send(route.method, route.path, body: body, headers: headers)
            #expect(lacking.status == 403, "\(route.method) \(route.path) without \(route.permission)")
            #expect(lacking.error["code"] as? String == "forbidden")
            let other = permissions.first { $0 != route.permission }!
            let allowed = try await Client(restarted, token: tokens[other]!)
                .send(route.method, route.path, body: body, headers: headers)
            #expect(
                ![401, 403].contains(allowed.status) && allowed.status < 500,
                "\(route.method) \(route.path) with \(route.permission): \(allowed.status) \(allowed.text)")
        }
        for open in ["/healthz", "/metrics", "/v1/openapi.json"] {
            #expect(try await anonymous.get(open).status == 200, "\(open)")
        }
        let wrongScheme = try await Client(restarted).get("/v1/events", headers: ["Authorization": "Basic dXNlcjpwdw=="])
        #expect(wrongScheme.status == 401)
        try await restarted.stop()
    }

    @Test("a key limited to an org sees, exports, counts and appends only that org's events")
    func orgScope() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let admin = try createKey(log, "admin", ["write", "read", "export"])
        let acme = try createKey(log, "acme", ["write", "read", "export"], org: "org_acme")
        let server = try await ServerProcess.start(directory: log)
        let all = Client(server, token: admin)
        let scoped = Client(server, token: acme)

        let posted = try await all.post(
            "/v1/events",
            "[" + eventJSON(actor: "u1", resource: "a1", org: "org_acme") + ","
                + eventJSON(actor: "u2", resource: "g1", org: "org_globex") + ","
                + eventJSON(actor: "u3", resource: "a2", org: "org_acme") + "]")
        #expect(posted.status == 201)
        let first = try #require(try posted.json()["firstSeq"] as? Int)

        let seen = try await scoped.allEvents("action=project.update")
        #expect(seen.map { ($0["resource"] as? [String: Any])?["id"] as? String } == ["a1", "a2"])
        #expect(try await scoped.get("/v1/events?org=org_globex").status == 403)
        #expect(try await scoped.get("/v1/events/\(first + 1)").status == 404)
        #expect(try await scoped.get("/v1/events/\(first)").status == 200)
        #expect(try await scoped.get("/v1/proofs/inclusion?seq=\(first + 1)").status == 404)
        #expect(try await scoped.get("/v1/facets?field=org&org=org_globex").status == 403)

        let facets = try await scoped.get("/v1/facets?field=resourceType").json()
        let counts = (facets["values"] as? [[String: Any]] ?? []).map { ($0["value"] as? String, $0["count"] as? Int) }
        #expect(counts.contains { $0.0 == "project" && $0.1 == 2 })

        let export = try await scoped.get("/v1/export?action=project.update")
        #expect(export.status == 200)
        let exported = export.text.split(separator: "\n")
        #expect(exported.count == 2)
        #expect(exported.allSatisfy { $0.contains(#""org":{"id":"org_acme"}"#) })

        // An event without org gets the key's org; one of another org refuses the whole batch.
        let filled = try await scoped.post("/v1/events", eventJSON(resource: "a3"))
        #expect(filled.status == 201)
        let seq = try #require(try filled.json()["firstSeq"] as? Int)
        let detail = try await all.get("/v1/events/\(seq)").json()
        #expect(((detail["event"] as? [String: Any])?["org"] as? [String: Any])?["id"] as? String == "org_acme")
        let size = try await all.treeSize()
        let mixed = try await scoped.post(
            "/v1/events", "[" + eventJSON(org: "org_acme") + "," + eventJSON(org: "org_globex") + "]")
        #expect(mixed.status == 403)
        #expect(try await all.treeSize() == size)
        try await server.stop()
    }

    @Test("keys through the API: created keys work at once, secrets are never shown again, revoking is immediate")
    func keyAdministration() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let root = try createKey(log, "root", ["admin", "read"])
        let server = try await ServerProcess.start(directory: log)
        let admin = Client(server, token: root)

        let created = try await admin.post(
            "/v1/keys", #"{"name":"ci-reader","permissions":["auditLogs:read"],"org":"org_acme"}"#)
        #expect(created.status == 201)
        let token = try #require(try created.json()["token"] as? String)
        #expect(token.hasPrefix("alk_"))
        let reader = Client(server, token: token)
        #expect(try await reader.get("/v1/events").status == 200)
        #expect(try await reader.post("/v1/events", eventJSON()).status == 403)

        let duplicate = try await admin.post("/v1/keys", #"{"name":"ci-reader","permissions":["auditLogs:read"]}"#)
        #expect(duplicate.status == 409)
        let badPermission = try await admin.post("/v1/keys", #"{"name":"x","permissions":["auditLogs:everything"]}"#)
        #expect(badPermission.status == 400)
        #expect(badPermission.error["field"] as? String == "permissions")

        let secret = String(token.split(separator: "_", maxSplits: 2).last!)  // alk_<id>_<secret>; base64url has _ too
        let listed = try await admin.get("/v1/keys")
        #expect(listed.status == 200)
        #expect(listed.text.contains("ci-reader"))
        #expect(!listed.text.contains(secret))
        let file = try String(contentsOfFile: log + "/api-keys.json", encoding: .utf8)
        #expect(!file.contains(secret))
        let mode = try FileManager.default.attributesOfItem(atPath: log + "/api-keys.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // An update renames the key and replaces its permissions at once; the token stays.
        let updated = try await admin.send(
            "PATCH", "/v1/keys/ci-reader", body: Data(#"{"name":"ci-writer","permissions":["auditLogs:write"]}"#.utf8),
            headers: ["Content-Type": "application/json"])
        #expect(updated.status == 200)
        #expect(try await reader.get("/v1/events").status == 403)
        #expect(try await reader.post("/v1/events", eventJSON()).status == 201)
        let unknownField = try await admin.send(
            "PATCH", "/v1/keys/ci-writer", body: Data(#"{"colour":"red"}"#.utf8),
            headers: ["Content-Type": "application/json"])
        #expect(unknownField.status == 400)
        #expect(unknownField.error["field"] as? String == "colour")
        let change = try #require(try await admin.allEvents("action=apiKey.update").first)
        #expect((change["before"] as? [String: Any])?["name"] as? String == "ci-reader")
        #expect((change["after"] as? [String: Any])?["name"] as? String == "ci-writer")
        #expect((change["after"] as? [String: Any])?["permissions"] as? [String] == ["auditLogs:write"])

        let revoked = try await admin.send("DELETE", "/v1/keys/ci-writer")
        #expect(revoked.status == 200)
        #expect(try await reader.get("/v1/events").status == 401)
        #expect(try await admin.send("DELETE", "/v1/keys/ci-writer").status == 404)

        let creations = try await admin.allEvents("action=apiKey.create")
        #expect(creations.contains { ($0["resource"] as? [String: Any])?["name"] as? String == "ci-reader" })
        #expect(creations.contains { ($0["metadata"] as? [String: Any])?["scope"] as? String == "org_acme" })
        let revocations = try await admin.allEvents("action=apiKey.revoke")
        #expect(revocations.count == 1)
        #expect((revocations.first?["actor"] as? [String: Any])?["name"] as? String == "root")
        try await server.stop()
    }

    @Test("a key made with `auditlog keys create` while the server runs works at once and is recorded")
    func keysFromTheCommandLineWhileServing() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let root = try createKey(log, "root", ["read"])
        let server = try await ServerProcess.start(directory: log)
        let token = try createKey(log, "late", ["read"])
        #expect(try await Client(server, token: token).get("/v1/events").status == 200)
        let admin = Client(server, token: root)
        var recorded = false
        for _ in 0..<100 where !recorded {
            recorded = try await admin.allEvents("action=apiKey.create").contains {
                ($0["resource"] as? [String: Any])?["name"] as? String == "late"
            }
            if !recorded { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recorded)
        let update = try runAuditlog(["keys", "update", "--dir", log, "late", "--permission", "auditLogs:export"])
        #expect(update.status == 0, "\(update.stderr)")
        #expect(try await Client(server, token: token).get("/v1/events").status == 403)
        #expect(try await Client(server, token: token).get("/v1/export").status == 200)
        #expect(try runAuditlog(["keys", "revoke", "--dir", log, "late"]).status == 0)
        #expect(try await Client(server, token: token).get("/v1/events").status == 401)
        var changes: [String] = []
        for _ in 0..<100 where changes.count < 3 {
            changes = try await admin.allEvents("resourceType=api_key").filter {
                ($0["resource"] as? [String: Any])?["name"] as? String == "late"
            }.compactMap { $0["action"] as? String }
            if changes.count < 3 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(changes == ["apiKey.create", "apiKey.update", "apiKey.revoke"])
        try await server.stop()
    }

    @Test("no token reaches the server's output or the metrics, also when requests fail")
    func noSecretsInOutput() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let token = try createKey(log, "writer", ["write"])
        let server = try await ServerProcess.start(directory: log)
        let client = Client(server, token: token)
        #expect(try await client.post("/v1/events", eventJSON()).status == 201)
        #expect(try await client.post("/v1/events", "{").status == 400)
        let forged = "alk_0123456789ab_forgedSecretForgedSecretForgedSecretForged1"
        #expect(try await Client(server, token: forged).get("/v1/events").status == 401)
        #expect(try await client.get("/v1/events/999999").status == 403)  // write-only key
        let metrics = try await Client(server).get("/metrics")
        #expect(metrics.status == 200)
        for name in [
            "auditlog_events_appended_total 1", "auditlog_commit_duration_seconds_count", "auditlog_fsync_duration_seconds",
            "auditlog_tree_size", "auditlog_bytes_on_disk",
            #"hb_requests{http_route="/v1/events",http_request_method="POST",http_response_status_code="201"} 1"#,
            #"http_response_status_code="400"} 1"#, #"http_route="/v1/events/{seq}""#,
        ] {
            #expect(metrics.text.contains(name), "\(name) missing from /metrics")
        }
        try await server.stop()
        let secret = String(token.split(separator: "_", maxSplits: 2).last!)  // alk_<id>_<secret>; base64url has _ too
        for text in [server.output, metrics.text] {
            #expect(!text.contains(secret))
            #expect(!text.contains("forgedSecret"))
        }
    }
}
