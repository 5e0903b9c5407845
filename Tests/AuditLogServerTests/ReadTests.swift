import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

/// Pages, details, exports, proofs, self-audit, errors and TLS through a real server process.
@Suite("HTTP reads, exports and proofs")
struct ReadTests {
    /// A server on a fresh log with `count` sample events appended through the API, and a key with every
    /// permission but admin.
    static func serverWithEvents(_ directory: TemporaryDirectory, count: Int, arguments: [String] = []) async throws
        -> (ServerProcess, Client)
    {
        let log = directory.file("log")
        let token = try createKey(log, "reader", ["write", "read", "export"])
        let server = try await ServerProcess.start(directory: log, arguments: arguments)
        let client = Client(server, token: token)
        for batch in sampleEvents(count).chunked(500) {
            let reply = try await client.post("/v1/events", jsonLines(batch), contentType: "application/x-ndjson")
            guard reply.status == 201 else { throw TestFailure("append: \(reply.status) \(reply.text)") }
        }
        return (server, client)
    }

    @Test("pages follow their cursors through every matching event exactly once, newest first by default")
    func pagination() async throws {
        let directory = try TemporaryDirectory()
        let (server, client) = try await Self.serverWithEvents(directory, count: 230)
        let sample = sampleEvents(230)
        let actor = sample[7].actor.id
        let expected = sample.filter { $0.actor.id == actor }.map(\.id)

        var ids: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            var path = "/v1/events?actor=\(actor)&limit=3"
            if let cursor { path += "&cursor=\(cursor)" }
            let page = try await client.get(path).json()
            ids += (page["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = page["nextCursor"] as? String
            pages += 1
        } while cursor != nil && pages < 1000
        #expect(ids == expected.reversed())

        let first = try await client.get("/v1/events?limit=50").json()
        let seqs = (first["events"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
        #expect(seqs.count == 50)
        #expect(seqs == seqs.sorted(by: >))
        #expect(first["nextCursor"] is String)

        let all = try await client.allEvents("action=\(sample[0].action)")
        #expect(all.compactMap { $0["id"] as? String } == sample.filter { $0.action == sample[0].action }.map(\.id))

        // Pages asked again come from the read cache (on by default), byte for byte the same.
        let whole = "/v1/events?actor=\(actor)&limit=100"
        let (once, twice) = (try await client.get(whole), try await client.get(whole))
        #expect(once.text == twice.text)
        let twiceIDs = (try twice.json()["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(twiceIDs == expected.reversed())
        let metrics = try await Client(server).get("/metrics").text
        let hits = metrics.split(separator: "\n").first { $0.hasPrefix("auditlog_read_cache_hits_total ") }
        #expect((hits?.split(separator: " ").last).flatMap { Int($0) } ?? 0 > 0, "\(metrics)")
        #expect(metrics.contains("auditlog_read_cache_bytes "))
        try await server.stop()
    }

    @Test("bad parameters are 400 naming the parameter; unknown paths 404; known paths with another method 405")
    func parameterErrors() async throws {
        let directory = try TemporaryDirectory()
        let (server, client) = try await Self.serverWithEvents(directory, count: 10)
        let cases: [(String, String)] = [
            ("/v1/events?limit=0", "limit"), ("/v1/events?limit=100000", "limit"),
            ("/v1/events?from=yesterday", "from"),
            ("/v1/events?order=sideways", "order"), ("/v1/events?colour=red", "colour"),
            ("/v1/events?since=forever", "since"), ("/v1/events?cursor=bogus", "cursor"),
            ("/v1/events?limit=1&limit=2", "limit"), ("/v1/export?format=xml", "format"),
            ("/v1/events/abc", "seq"), ("/v1/facets?field=colour", "field"), ("/v1/facets", "field"),
            ("/v1/proofs/inclusion", "seq"), ("/v1/proofs/inclusion?seq=x", "seq"),
            ("/v1/proofs/consistency?from=5&to=2", "from"),
        ]
        for (path, parameter) in cases {
            let reply = try await client.get(path)
            #expect(reply.status == 400, "\(path): \(reply.status) \(reply.text)")
            #expect(reply.error["parameter"] as? String == parameter, "\(path): \(reply.text)")
            #expect((reply.error["message"] as? String)?.isEmpty == false)
        }
        // A cursor is bound to its query.
        let page = try await client.get("/v1/events?limit=2").json()
        let cursor = try #require(page["nextCursor"] as? String)
        let other = try await client.get("/v1/events?limit=2&action=x&cursor=\(cursor)")
        #expect(other.status == 400)
        #expect(other.error["parameter"] as? String == "cursor")

        #expect(try await client.get("/v1/events/999999").status == 404)
        let unknown = try await client.get("/v1/nothing-here")
        #expect(unknown.status == 404)
        #expect(unknown.error["code"] as? String == "not_found")
        let method = try await client.send("PUT", "/v1/events")
        #expect(method.status == 405)
        #expect(method.headers["allow"] == "GET, POST")
        try await server.stop()
    }

    @Test("details carry the field-level changes of before and after")
    func details() async throws {
        let directory = try TemporaryDirectory()
        let (server, client) = try await Self.serverWithEvents(directory, count: 1)
        let posted = try await client.post(
            "/v1/events",
            eventJSON(extra: #""before":{"name":"old","tags":["a"]},"after":{"name":"new","tags":["a"],"size":3}"#))
        let seq = try #require(try posted.json()["firstSeq"] as? Int)
        let detail = try await client.get("/v1/events/\(seq)").json()
        let changes = try #require(detail["changes"] as? [[String: Any]])
        let byPath = Dictionary(uniqueKeysWithValues: changes.map { ($0["path"] as? String ?? "", $0) })
        #expect(byPath["name"]?["kind"] as? String == "changed")
        #expect(byPath["name"]?["old"] as? String == "old")
        #expect(byPath["name"]?["new"] as? String == "new")
        #expect(byPath["size"]?["kind"] as? String == "added")
        #expect(byPath["tags"] == nil)
        #expect(detail["redacted"] is NSNull)
        #expect((detail["event"] as? [String: Any])?["seq"] as? Int == seq)
        try await server.stop()
    }

    @Test("an export is the bytes of `auditlog export` with the same filters, and says its last seq in a trailer")
    func exportMatchesTheTool() async throws {
        let directory = try TemporaryDirectory()
        let (server, client) = try await Self.serverWithEvents(directory, count: 1200)
        let action = sampleEvents(1)[0].action
        for (format, type) in [
            ("jsonl", "application/x-ndjson"), ("json", "application/json"), ("csv", "text/csv"),
            ("ocsf", "application/x-ndjson"), ("ecs", "application/x-ndjson"),
        ] {
            let reply = try await client.get("/v1/export?format=\(format)&action=\(action)")
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"]?.hasPrefix(type) == true)
            #expect(reply.headers["content-disposition"]?.contains("attachment; filename=\"audit-log-") == true)
            let tool = try runAuditlog(["export", "--dir", server.directory, "--format", format, "--action", action])
            #expect(tool.status == 0)
            #expect(reply.body == tool.stdoutData, "format \(format)")
            if format == "jsonl" {
                let lastLine = try #require(tool.stdout.split(separator: "\n").last)
                let last = try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any]
                #expect(reply.trailers["audit-log-last-seq"] == (last?["seq"] as? Int).map(String.init))
            }
        }
        try await server.stop()
    }

    @Test("afterSeq pulls each event exactly once; every export is recorded in the log by its key")
    func incrementalExportAndSelfAudit() async throws {
        let directory = try TemporaryDirectory()
        let (server, client) = try await Self.serverWithEvents(directory, count: 100)
        let query = "action=project.update"
        for i in 0..<5 { _ = try await client.post("/v1/events", eventJSON(resource: "first-\(i)")) }
        let pull1 = try await client.get("/v1/export?\(query)")
        let lines1 = pull1.text.split(separator: "\n")
        #expect(lines1.count == 5)
        let last1 = try #require(pull1.trailers["audit-log-last-seq"])

        for i in 0..<3 { _ = try await client.post("/v1/events", eventJSON(resource: "second-\(i)")) }
        let pull2 = try await client.get("/v1/export?\(query)&afterSeq=\(last1)")
        let lines2 = pull2.text.split(separator: "\n")
        #expect(lines2.count == 3)
        #expect(lines2.allSatisfy { $0.contains("second-") })
        let last2 = try #require(pull2.trailers["audit-log-last-seq"])
        let pull3 = try await client.get("/v1/export?\(query)&afterSeq=\(last2)")
        #expect(pull3.status == 200)
        #expect(pull3.body.isEmpty)
        #expect(pull3.trailers["audit-log-last-seq"] == nil)

        let exports = try await client.allEvents("action=auditLogs.export")
        #expect(exports.count == 3)
        let rows = exports.compactMap { ($0["metadata"] as? [String: Any])?["rows"] as? Int }
        #expect(rows == [5, 3, 0])
        let actor = exports.first?["actor"] as? [String: Any]
        #expect(actor?["type"] as? String == "api_key")
        #expect(actor?["name"] as? String == "reader")
        let filters = (exports.first?["metadata"] as? [String: Any])?["filters"] as? [String: Any]
        #expect(filters?["action"] as? String == "project.update")
        #expect(exports.first?["ip"] as? String == "127.0.0.1")

        // Reads are recorded too, once per key and filter set per interval.
        _ = try await client.get("/v1/events?actor=someone")
        _ = try await client.get("/v1/events?actor=someone")
        let lists = try await client.allEvents("action=auditLogs.list").filter {
            (($0["metadata"] as? [String: Any])?["filters"] as? [String: Any])?["actor"] as? String == "someone"
        }
        #expect(lists.count == 1)
        try await server.stop()
    }

    @Test("checkpoints, the verifier key and proofs served by the API verify offline")
    func proofs() async throws {
        let directory = try TemporaryDirectory()
        #expect(try runAuditlog(["keygen", "--name", "audit.test/log", "--out", directory.file("sign")]).status == 0)
        let arguments = ["--key", directory.file("sign.key"), "--checkpoint-interval", "1s"]
        let (server, client) = try await Self.serverWithEvents(directory, count: 300, arguments: arguments)
        var checkpointText = ""
        var treeSize = 0
        for _ in 0..<100 {
            let reply = try await client.get("/v1/checkpoint")
            if reply.status == 200 {
                checkpointText = reply.text
                treeSize = Int(reply.text.split(separator: "\n")[1]) ?? 0
                if treeSize >= 300 { break }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(treeSize >= 300)
        let keyText = try await client.get("/v1/verifier-key").text.trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try NoteVerifierKey(keyText)
        #expect(
            keyText
                == (try String(contentsOfFile: directory.file("sign.vkey"), encoding: .utf8))
                .trimmingCharacters(in: .whitespacesAndNewlines))

        let inclusion = try await client.get("/v1/proofs/inclusion?seq=123&treeSize=\(treeSize)")
        #expect(inclusion.status == 200)
        let proof = try InclusionProof(inclusion.text)
        #expect(proof.verify(against: [checkpointText], key: key).isValid)

        let consistency = try await client.get("/v1/proofs/consistency?from=10&to=\(treeSize)")
        #expect(consistency.status == 200)
        let consistent = try ConsistencyProof(consistency.text)
        #expect(consistent.size2 == UInt64(treeSize))
        #expect(consistent.verify(against: [checkpointText], key: key).isValid)

        // A tampered proof does not verify.
        let tampered = inclusion.text.replacingOccurrences(of: "\"leafIndex\":123", with: "\"leafIndex\":124")
        if let forged = try? InclusionProof(tampered) {
            #expect(!forged.verify(against: [checkpointText], key: key).isValid)
        }
        try await server.stop()
    }

    @Test("HTTPS with --tls-cert and --tls-key")
    func tls() async throws {
        let directory = try TemporaryDirectory()
        let (cert, key) = (directory.file("cert.pem"), directory.file("key.pem"))
        let openssl = try await runProcess(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
            ])
        #expect(openssl.status == 0, "\(openssl.stderr)")
        let log = directory.file("log")
        let token = try createKey(log, "tls", ["write", "read"])
        let server = try await ServerProcess.start(
            directory: log, arguments: ["--tls-cert", cert, "--tls-key", key])
        #expect(server.baseURL.hasPrefix("https://"))
        var client = Client(server, token: token)
        client.options = ["--cacert", cert]
        #expect(try await client.post("/v1/events", eventJSON()).status == 201)
        #expect(try await client.get("/v1/events").status == 200)
        // Without trusting the certificate, curl refuses; plain HTTP gets no answer.
        var untrusting = client
        untrusting.options = []
        await #expect(throws: (any Error).self) { try await untrusting.get("/healthz") }
        let plain = try await runProcess(
            "/usr/bin/curl", ["--silent", "--max-time", "5", "http://127.0.0.1:\(server.port)/healthz"])
        #expect(plain.status != 0 || !plain.stdout.contains("treeSize"))
        try await server.stop()
    }
}
