import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

/// Redaction and retention through the API (auditLogs:admin), with org scopes and self-audit.
@Suite("HTTP redaction and retention")
struct AdminTests {
    @Test("a redaction erases the fields, keeps proofs verifying, and is recorded with the key that asked")
    func redaction() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let root = try createKey(log, "root", ["admin", "write", "read"])
        let acmeAdmin = try createKey(log, "acme-admin", ["admin", "read"], org: "org_acme")
        let server = try await ServerProcess.start(directory: log)
        let client = Client(server, token: root)
        let posted = try await client.post(
            "/v1/events",
            "[" + eventJSON(actor: "user_42", org: "org_acme", extra: #""ip":"203.0.113.7","after":{"email":"a@b.c"}"#)
                + "," + eventJSON(actor: "user_42", org: "org_globex", extra: #""ip":"203.0.113.8""#) + ","
                + eventJSON(actor: "user_7", org: "org_acme", extra: #""ip":"203.0.113.9""#) + "]")
        let first = try #require(try posted.json()["firstSeq"] as? Int)
        let proofBefore = try await client.get("/v1/proofs/inclusion?seq=\(first)").json()

        // An org's admin redacts its own org's events by seq only.
        let scoped = Client(server, token: acmeAdmin)
        let byActor = try await scoped.post("/v1/redactions", #"{"actor":"user_42","reason":"GDPR-1"}"#)
        #expect(byActor.status == 403)
        let otherOrg = try await scoped.post("/v1/redactions", #"{"seqs":[\#(first + 1)],"reason":"GDPR-1"}"#)
        #expect(otherOrg.status == 404)
        let both = try await client.post("/v1/redactions", #"{"actor":"user_42","seqs":[1],"reason":"x"}"#)
        #expect(both.status == 400)
        let badField = try await client.post("/v1/redactions", #"{"actor":"user_42","fields":["id"],"reason":"x"}"#)
        #expect(badField.status == 400)
        #expect(badField.error["field"] as? String == "fields")
        let noReason = try await client.post("/v1/redactions", #"{"actor":"user_42"}"#)
        #expect(noReason.status == 400)
        #expect(noReason.error["field"] as? String == "reason")

        let redacted = try await client.post(
            "/v1/redactions", #"{"actor":"user_42","fields":["ip","after"],"reason":"GDPR request 1234"}"#)
        #expect(redacted.status == 200, "\(redacted.text)")
        #expect(try redacted.json()["recordsRedacted"] as? Int == 2)
        let detail = try await client.get("/v1/events/\(first)").json()
        let event = try #require(detail["event"] as? [String: Any])
        #expect(event["ip"] == nil && event["after"] == nil)
        #expect((detail["redacted"] as? [String: Any])?["reason"] as? String == "GDPR request 1234")
        #expect((try await client.get("/v1/events/\(first + 2)").json()["event"] as? [String: Any])?["ip"] != nil)

        // The tree is unchanged: the same proof, the same root.
        let proofAfter = try await client.get(
            "/v1/proofs/inclusion?seq=\(first)&treeSize=\(proofBefore["treeSize"] as? Int ?? 0)"
        ).json()
        #expect(proofAfter["root"] as? String == proofBefore["root"] as? String)
        #expect(proofAfter["leafHash"] as? String == proofBefore["leafHash"] as? String)

        let requests = try await client.allEvents("action=auditLogs.redact")
        #expect(requests.count == 1)
        #expect((requests.first?["actor"] as? [String: Any])?["name"] as? String == "root")
        #expect((requests.first?["metadata"] as? [String: Any])?["records"] as? Int == 2)

        let own = try await scoped.post("/v1/redactions", #"{"seqs":[\#(first + 2)],"reason":"GDPR-2"}"#)
        #expect(own.status == 200, "\(own.text)")
        try await server.stop()
        let verify = try runAuditlog(["verify", "--dir", log])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("retention: a dry run changes nothing, an org's admin cannot apply it, an applied one is recorded")
    func retention() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let root = try createKey(log, "root", ["admin", "write", "read"])
        let acmeAdmin = try createKey(log, "acme-admin", ["admin"], org: "org_acme")
        // Small segments, so that there are sealed ones to remove.
        var options = AuditLog.Options()
        options.maxSegmentBytes = 16 << 10
        let seeded = try AuditLog(directory: log, options: options)
        for batch in sampleEvents(2000).chunked(200) { try await seeded.append(batch) }
        try await seeded.close()
        let server = try await ServerProcess.start(directory: log)
        let client = Client(server, token: root)

        #expect(try await Client(server, token: acmeAdmin).post("/v1/retention", #"{"maxAge":"1d"}"#).status == 403)
        #expect(try await client.post("/v1/retention", #"{"dryRun":true}"#).status == 400)
        #expect(try await client.post("/v1/retention", #"{"maxAge":"soon"}"#).error["field"] as? String == "maxAge")

        let size = try await client.treeSize()
        let plan = try await client.post("/v1/retention", #"{"maxBytes":0,"dryRun":true}"#).json()
        #expect(plan["dryRun"] as? Bool == true)
        let planned = try #require(plan["segmentsRemoved"] as? [String])
        #expect(!planned.isEmpty)
        #expect(try await client.treeSize() == size)
        #expect(try await client.allEvents("action=auditLogs.retention").isEmpty)

        let applied = try await client.post("/v1/retention", #"{"maxBytes":0}"#).json()
        #expect(applied["segmentsRemoved"] as? [String] == planned)
        let prunedBelow = try #require(applied["prunedBelow"] as? Int)
        #expect(try await client.get("/v1/events/0").status == 404)
        let recorded = try await client.allEvents("action=auditLogs.retention")
        #expect(recorded.count == 1)
        #expect((recorded.first?["metadata"] as? [String: Any])?["prunedBelow"] as? Int == prunedBelow)
        try await server.stop()
        let verify = try runAuditlog(["verify", "--dir", log])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}
