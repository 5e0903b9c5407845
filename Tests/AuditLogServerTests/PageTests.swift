import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

/// What the server does for the audit-log page: its files with their security headers, and single-use export
/// links. The page itself is tested in a browser (Tests/PageTests, scripts/check-page.sh).
@Suite("HTTP audit-log page and export links")
struct PageTests {
    @Test("the page and its modules are served without a key, with a strict CSP; unknown files are 404")
    func pageFiles() async throws {
        let directory = try TemporaryDirectory()
        let server = try await ServerProcess.start(directory: directory.file("log"))
        let anonymous = Client(server)
        for (path, type) in [
            ("/", "text/html"), ("/ui/app.js", "text/javascript"), ("/ui/table.js", "text/javascript"),
            ("/ui/style.css", "text/css"),
        ] {
            let reply = try await anonymous.get(path)
            #expect(reply.status == 200, "\(path)")
            #expect(reply.headers["content-type"]?.hasPrefix(type) == true, "\(path)")
            let policy = reply.headers["content-security-policy"] ?? ""
            #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self';"), "\(path)")
            #expect(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"), "\(path)")
            #expect(reply.headers["x-content-type-options"] == "nosniff")
            #expect(reply.headers["referrer-policy"] == "no-referrer")
        }
        let page = try await anonymous.get("/").text
        #expect(page.contains(#"<script type="module" src="/ui/app.js">"#))
        #expect(!page.contains("<script>"), "no inline script")
        for path in ["/ui/missing.js", "/ui/..%2Fopenapi.json", "/ui/%2e%2e/openapi.json", "/ui/"] {
            #expect(try await anonymous.get(path).status == 404, "\(path)")
        }
        try await server.stop()
    }

    @Test("an export link downloads the export of its filters once, without a key, recorded as the key's export")
    func exportLinks() async throws {
        let directory = try TemporaryDirectory()
        let (server, client) = try await ReadTests.serverWithEvents(directory, count: 300)
        let action = sampleEvents(1)[0].action
        let created = try await client.post("/v1/export/links?format=csv&action=\(action)", "")
        #expect(created.status == 201, "\(created.text)")
        let url = try #require(try created.json()["url"] as? String)
        #expect(url.hasPrefix("/v1/export/links/") && url.count > "/v1/export/links/".count + 40)
        let expires = try #require(try created.json()["expiresAt"] as? String)
        #expect(Timestamp(rfc3339: expires) != nil)

        let anonymous = Client(server)
        let download = try await anonymous.get(url)
        #expect(download.status == 200)
        #expect(download.headers["content-type"]?.hasPrefix("text/csv") == true)
        #expect(download.headers["content-disposition"]?.hasPrefix("attachment") == true)
        let direct = try await client.get("/v1/export?format=csv&action=\(action)")
        #expect(download.body == direct.body && download.body.count > 100)
        #expect(try await anonymous.get(url).status == 404, "a link works once")
        #expect(try await anonymous.get("/v1/export/links/not-a-token").status == 404)

        // Recorded like any export: by the key that asked for the link, with its filters.
        let exports = try await client.allEvents("action=auditLogs.export")
        #expect(exports.count == 2)
        let filters = (exports.first?["metadata"] as? [String: Any])?["filters"] as? [String: Any]
        #expect(filters?["action"] as? String == action)
        #expect((exports.first?["actor"] as? [String: Any])?["name"] as? String == "reader")

        // Filters are checked when the link is made; a key revoked before the download gets nothing.
        #expect(try await client.post("/v1/export/links?format=xml", "").status == 400)
        let pending = try await client.post("/v1/export/links?format=jsonl", "")
        let pendingURL = try #require(try pending.json()["url"] as? String)
        #expect(try runAuditlog(["keys", "revoke", "--dir", server.directory, "reader"]).status == 0)
        let refused = try await anonymous.get(pendingURL)
        #expect(refused.status == 403, "\(refused.text)")
        #expect(refused.body.count < 300, "no events in the refusal")
        try await server.stop()
    }
}
