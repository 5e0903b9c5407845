@testable import AuditLog
import AuditLogTestSupport
import Foundation
import Testing

/// OCSF and ECS exports: which class, activity and category each kind of event gets, mapping files, and the
/// documents' fields. (scripts/check-siem.sh validates whole exports against OCSF's and ECS's own definitions.)
@Suite("SIEM exports")
struct SIEMExportTests {
    static func event(
        _ action: String, resource: String = "prompt", actor: AuditEvent.Actor.Kind = .user, metadata: String? = nil
    ) throws -> AuditEvent {
        AuditEvent(
            actor: AuditEvent.Actor(type: actor, id: "a1"), action: action,
            resource: AuditEvent.Resource(type: resource, id: "r1"), metadata: try metadata.map { try JSONText($0) })
    }

    @Test(
        "the default mapping picks the class from the action and resource type, the activity from the verb",
        arguments: [
            ("prompt.update", "prompt", nil, "entity_management", "Update", "configuration", "change"),
            ("setLabel", "prompt", nil, "entity_management", "Update", "configuration", "change"),
            ("create", "trace", nil, "entity_management", "Create", "configuration", "creation"),
            ("dataset.removed", "dataset", nil, "entity_management", "Delete", "configuration", "deletion"),
            ("auditLogs.export", "audit_log", nil, "entity_management", "Read", "configuration", "access"),
            ("workspace.archive", "workspace", nil, "entity_management", "Other", "configuration", "info"),
            ("create", "api_key", nil, "account_change", "Create", "iam", "creation"),
            ("apiKey.revoke", "api_key", nil, "account_change", "Delete", "iam", "deletion"),
            ("token.issued", "token", nil, "account_change", "Create", "iam", "creation"),
            ("user.password.reset", "user", nil, "account_change", "Password Reset", "iam", "change"),
            ("member.suspended", "membership", nil, "account_change", "Disable", "iam", "change"),
            ("user.login", "session", nil, "authentication", "Logon", "authentication", "start"),
            ("sso.signIn", "session", nil, "authentication", "Logon", "authentication", "start"),
            ("session.log_out", "session", nil, "authentication", "Logoff", "authentication", "end"),
            (
                "api.request", "api_request", #"{"method":"DELETE","status":200}"#, "api_activity", "Delete", "api",
                "deletion"
            ),
            ("apiRequest", "endpoint", #"{"method":"get"}"#, "api_activity", "Read", "api", "access"),
        ] as [(String, String, String?, String, String, String, String)])
    func defaults(
        action: String, resource: String, metadata: String?, ocsfClass: String, activity: String, category: String,
        type: String
    ) throws {
        let c = SIEMMapping().classify(try Self.event(action, resource: resource, metadata: metadata))
        #expect(c.ocsfClass.rawValue == ocsfClass)
        #expect(c.activityName == activity)
        #expect(c.ocsfClass.activity(named: activity)?.id == c.activityID)
        #expect(c.ecsCategory == category && c.ecsTypes == [type])
    }

    @Test("the outcome comes from metadata: HTTP status, outcome or success; unknown otherwise")
    func outcome() throws {
        let cases: [(String?, Int)] = [
            (#"{"status":403}"#, 2), (#"{"status":201}"#, 1), (#"{"outcome":"failure"}"#, 2),
            (#"{"result":"success"}"#, 1), (#"{"success":false}"#, 2), (#"{"status":"queued"}"#, 0), (nil, 0),
            (#"["not","an","object"]"#, 0), (#"{"status":99999999999999999999}"#, 0), (#"{"status":2e2}"#, 0),
            (#"{"status":-404}"#, 0), (#"{"statusCode":503}"#, 2), (#"{"status":200.5}"#, 0),
        ]
        for (metadata, status) in cases {
            #expect(SIEMMapping().classify(try Self.event("x.update", metadata: metadata)).statusID == status)
        }
    }

    @Test("an HTTP status is read as Int64(String) would read it, without the string")
    func statusNumbers() {
        for text in [
            "200", "0", "-1", "007", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "-9223372036854775809", "99999999999999999999", "2.5", "1e3", "-", "", "--1", "+1", "20 ", "0x10",
        ] {
            let parsed = Array(text.utf8).withUnsafeBytes { SIEMMapping.HTTPFacts.integer($0) }
            #expect(parsed == (text.first == "+" ? nil : Int64(text)), "\(text)")
        }
    }

    @Test("a mapping file's rules come first; its errors name the line")
    func mappingFiles() throws {
        let mapping = try SIEMMapping(
            parsing: """
                # billing's own actions
                billing.*.approve   entity_management  activate
                sso.saml.assert     authentication     logon   # a trailing comment
                *.passwd.rotated    account_change     Password Change
                """)
        #expect(mapping.rules.count == 3)
        let approve = mapping.classify(try Self.event("billing.invoice.approve", resource: "invoice"))
        #expect(approve.ocsfClass == .entityManagement && approve.activityName == "Activate")
        #expect(mapping.classify(try Self.event("sso.saml.assert", resource: "x")).ocsfClass == .authentication)
        let rotated = mapping.classify(try Self.event("user.passwd.rotated", resource: "user"))
        #expect(rotated.activityID == 3)
        // Not matched: the defaults.
        #expect(mapping.classify(try Self.event("billing.invoice.void")).ocsfClass == .entityManagement)

        for (text, message) in [
            ("x.y  made_up_class", "line 1: unknown class \"made_up_class\""),
            ("\n\nx.y authentication teleport", "line 3: authentication has no activity \"teleport\""),
            ("lonely", "line 1: expected ACTION-PATTERN CLASS"),
        ] {
            #expect {
                _ = try SIEMMapping(parsing: text, path: "map.txt")
            } throws: { error in
                "\(error)".contains(message) && "\(error)".contains("map.txt")
            }
        }
    }

    @Test("OCSF and ECS documents carry the event's facts in their schema's fields")
    func documents() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: AuditLog.Options(durability: .none))
        let event = AuditEvent(
            id: "evt-1", timestamp: Timestamp(millisecondsSinceEpoch: 1_767_225_600_123),
            actor: AuditEvent.Actor(type: .apiKey, id: "pk-1", name: "ci", roles: ["deployer"]),
            action: "api.request", resource: AuditEvent.Resource(type: "api_request", id: "req-1"),
            org: AuditEvent.Reference(id: "org_1", name: "Acme"), project: AuditEvent.Reference(id: "proj_1"),
            source: "api", ip: "2001:db8::7", userAgent: "curl/8", before: nil, after: try JSONText(#"{"a":1}"#),
            metadata: try JSONText(#"{"method":"POST","status":500}"#))
        try log.append([event])
        try log.close()
        let reader = try AuditLogReader(directory: dir.path)
        func export(_ format: ExportEncoder.Format) throws -> [String: Any] {
            var bytes: [UInt8] = []
            try reader.export(matching: Query(), format: format) { (chunk) throws(AuditLogError) in
                bytes += chunk
                return true
            }
            #expect(bytes.last == 0x0A && bytes.filter { $0 == 0x0A }.count == 1)
            return try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        }
        let leaf = try reader.event(seq: 0).leafHash.hex

        let ocsf = try export(.ocsf)
        #expect(ocsf["class_uid"] as? Int == 6003 && ocsf["category_uid"] as? Int == 6)
        #expect(ocsf["activity_id"] as? Int == 1 && ocsf["type_uid"] as? Int == 600301)
        #expect(ocsf["status_id"] as? Int == 2 && ocsf["time"] as? Int == 1_767_225_600_123)
        let metadata = try #require(ocsf["metadata"] as? [String: Any])
        #expect(metadata["uid"] as? String == "evt-1" && metadata["sequence"] as? Int == 0)
        #expect(metadata["version"] as? String == "1.5.0" && metadata["tenant_uid"] as? String == "org_1")
        let user = try #require((ocsf["actor"] as? [String: Any])?["user"] as? [String: Any])
        #expect(user["uid"] as? String == "pk-1" && user["credential_uid"] as? String == "pk-1")
        #expect(user["type_id"] as? Int == 99)
        #expect((user["groups"] as? [[String: Any]])?.first?["name"] as? String == "deployer")
        #expect((ocsf["src_endpoint"] as? [String: Any])?["ip"] as? String == "2001:db8::7")
        #expect((ocsf["http_request"] as? [String: Any])?["user_agent"] as? String == "curl/8")
        #expect(((ocsf["api"] as? [String: Any])?["response"] as? [String: Any])?["code"] as? Int == 500)
        let unmapped = try #require(ocsf["unmapped"] as? [String: Any])
        #expect(unmapped["leafHash"] as? String == leaf)
        #expect((unmapped["after"] as? [String: Any])?["a"] as? Int == 1)

        let ecs = try export(.ecs)
        #expect(ecs["@timestamp"] as? String == "2026-01-01T00:00:00.123Z")
        let e = try #require(ecs["event"] as? [String: Any])
        #expect(e["category"] as? [String] == ["api"] && e["type"] as? [String] == ["creation"])
        #expect(e["outcome"] as? String == "failure" && e["sequence"] as? Int == 0 && e["hash"] as? String == leaf)
        #expect(e["id"] as? String == "evt-1" && e["action"] as? String == "api.request")
        #expect((ecs["user"] as? [String: Any])?["roles"] as? [String] == ["deployer"])
        #expect((ecs["source"] as? [String: Any])?["ip"] as? String == "2001:db8::7")
        #expect((ecs["organization"] as? [String: Any])?["name"] as? String == "Acme")
        #expect((ecs["related"] as? [String: Any])?["user"] as? [String] == ["pk-1", "ci"])
        #expect((ecs["labels"] as? [String: Any])?["project_id"] as? String == "proj_1")
        let custom = try #require(ecs["audit_log"] as? [String: Any])
        #expect((custom["actor"] as? [String: Any])?["type"] as? String == "api_key")
        #expect((custom["after"] as? [String: Any])?["a"] as? Int == 1)
    }

    @Test("an encoder given events built by hand writes them as it writes events read from a log, even odd ones")
    func handBuiltEvents() throws {
        let event = try Self.event("user.update", resource: "user", metadata: #"{"outcome":"ok"}"#)
        let hash = try #require(SHA256Hash(bytes: [UInt8](repeating: 0xAB, count: 32)))
        for format in [ExportEncoder.Format.ocsf, .ecs] {
            var encoder = ExportEncoder(format: format)
            var out: [UInt8] = []
            // A plain event; one whose redaction names a field it still has and an earlier event as redactor; one
            // with a timestamp no RFC 3339 date can show. None of them is in any log, none may stop the export.
            var odd = StoredEvent(
                seq: 7, leafHash: hash, event: event, redaction: Redaction(redactedBy: 3, fields: [.actorName]))
            odd.event.actor.name = "still here"
            var late = StoredEvent(seq: 8, leafHash: hash, event: event)
            late.event.timestamp = Timestamp(millisecondsSinceEpoch: .max)
            for stored in [StoredEvent(seq: 6, leafHash: hash, event: event), odd, late] {
                encoder.append(stored, to: &out)
            }
            let lines = out.split(separator: 0x0A)
            #expect(lines.count == 3)
            for line in lines {
                let document = try #require(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
                #expect(String(decoding: line, as: UTF8.self).contains(String(repeating: "ab", count: 32)))
                #expect(document[format == .ocsf ? "class_uid" : "@timestamp"] != nil)
            }
            #expect(String(decoding: lines[1], as: UTF8.self).contains(#""redacted":{"by":3,"fields":["actor.name"]}"#))
        }
    }

    @Test("auditlog export --format ocsf|ecs writes a line per event; a bad mapping file is refused by line")
    func command() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.file("log"), options: AuditLog.Options(durability: .none))
        try log.append(sampleEvents(300))
        try log.close()
        for format in ["ocsf", "ecs"] {
            let result = try runAuditlog(["export", "--dir", dir.file("log"), "--format", format])
            #expect(result.status == 0)
            #expect(result.stdout.split(separator: "\n").count == 300)
        }
        try "x.y teleport".write(toFile: dir.file("map"), atomically: true, encoding: .utf8)
        let refused = try runAuditlog([
            "export", "--dir", dir.file("log"), "--format", "ocsf", "--ocsf-mapping", dir.file("map"),
        ])
        #expect(refused.status != 0 && refused.stderr.contains("mapping line 1: unknown class \"teleport\""))
        #expect(refused.stdout.isEmpty)
    }
}
