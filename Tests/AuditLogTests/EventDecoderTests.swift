import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("JSON event decoding")
struct EventDecoderTests {
    let decoder = EventDecoder()

    static let fullEvent = #"""
        {"id":"evt-1","timestamp":"2026-11-22T03:13:33.123Z","actor":{"type":"api_key","id":"pk-1","name":"CI key","roles":["ADMIN","BILLING"],"authMethod":"api_key"},"action":"pipeline.run.triggered","resource":{"type":"pipeline_run","id":"run_9","name":"nightly"},"org":{"id":"org_1","name":"Acme"},"project":{"id":"p_2","name":"chatbot"},"source":"api","ip":"2001:db8::7","userAgent":"curl/8.5.0","before":{"a":[1,2.50,{"b":null}],"big":12345678901234567890123,"e":1E+3},"after":"just a string","metadata":{"endpoint":"/api/runs","method":"POST"}}
        """#

    @Test func everyFieldIsDecoded() throws {
        let event = try decoder.decode(Self.fullEvent)
        #expect(event.id == "evt-1")
        #expect(event.timestamp == Timestamp(millisecondsSinceEpoch: 1_795_317_213_123))
        #expect(
            event.actor
                == AuditEvent.Actor(
                    type: .apiKey, id: "pk-1", name: "CI key", roles: ["ADMIN", "BILLING"], authMethod: "api_key"))
        #expect(event.action == "pipeline.run.triggered")
        #expect(event.resource == AuditEvent.Resource(type: "pipeline_run", id: "run_9", name: "nightly"))
        #expect(event.org == AuditEvent.Reference(id: "org_1", name: "Acme"))
        #expect(event.project == AuditEvent.Reference(id: "p_2", name: "chatbot"))
        #expect(event.source == "api")
        #expect(event.ip == "2001:db8::7")
        #expect(event.userAgent == "curl/8.5.0")
        // Numbers are kept exactly as written: no precision is lost, 2.50 stays 2.50.
        #expect(event.before?.text == #"{"a":[1,2.50,{"b":null}],"big":12345678901234567890123,"e":1E+3}"#)
        #expect(event.after?.text == #""just a string""#)
        #expect(event.metadata?.text == #"{"endpoint":"/api/runs","method":"POST"}"#)
    }

    @Test func writingAndDecodingAgainGivesTheSameEvent() throws {
        let event = try decoder.decode(Self.fullEvent)
        #expect(try decoder.decode(event.jsonString) == event)
        for sample in sampleEvents(500) {
            #expect(try decoder.decode(sample.jsonString) == sample)
        }
    }

    @Test func exportFieldsSeqAndLeafHashAreAcceptedAndIgnored() throws {
        let event = try decoder.decode(Self.fullEvent)
        let stored = StoredEvent(seq: 42, leafHash: SHA256Hash(hex: String(repeating: "ab", count: 32))!, event: event)
        #expect(stored.jsonString.contains(#""seq":42,"leafHash":"abab"#))
        #expect(try decoder.decode(stored.jsonString) == event)
    }

    @Test func nestedJSONIsCanonical() throws {
        let a = try decoder.decode(
            #"{"actor":{"type":"user","id":"u"},"action":"x","resource":{"type":"t","id":"1"},"before": { "k" : "\u0041\/\n\u00e9" , "l" : [ 1 , true ] } }"#
        )
        #expect(a.before?.text == "{\"k\":\"A/\\né\",\"l\":[1,true]}")
        #expect(try JSONText(#" [ "\ud83d\ude00" ] "#).text == "[\"😀\"]")
        #expect(try JSONText("\"\\u0001\"").text == "\"\\u0001\"")
    }

    @Test func nullMeansAbsentExceptInBeforeAndAfter() throws {
        let event = try decoder.decode(
            #"{"id":"a","actor":{"type":"user","id":"u","name":null,"roles":null},"action":"x","resource":{"type":"t","id":"1","name":null},"org":null,"source":null,"ip":null,"before":null,"metadata":null}"#
        )
        #expect(event.actor.name == nil && event.actor.roles == nil && event.org == nil && event.source == nil)
        #expect(event.ip == nil && event.metadata == nil && event.resource.name == nil)
        #expect(event.before?.text == "null")
        #expect(event.jsonString.contains(#""before":null"#))
    }

    @Test func missingIdAndTimestampAreGenerated() throws {
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let event = try decoder.decode(
            #"{"actor":{"type":"system","id":"cron"},"action":"x","resource":{"type":"t","id":"1"}}"#)
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect((before...after).contains(event.timestamp.millisecondsSinceEpoch))
        #expect(event.id.count == 36)
        let parts = event.id.split(separator: "-")
        #expect(parts.count == 5 && parts[2].hasPrefix("7"))
    }

    static let minimal = #""actor":{"type":"user","id":"u"},"action":"x","resource":{"type":"t","id":"1""#

    @Test(arguments: [
        // (input, exact description)
        (
            #"{"actor":{"type":"robot","id":"u"},"action":"x","resource":{"type":"t","id":"1"}}"#,
            #"field "actor.type": expected one of user, api_key, service, system"#
        ),
        (#"{"action":"x","resource":{"type":"t","id":"1"}}"#, #"field "actor": missing (required)"#),
        (
            #"{"actor":{"type":"user"},"action":"x","resource":{"type":"t","id":"1"}}"#,
            #"field "actor.id": missing (required)"#
        ),
        (
            #"{"actor":{"type":"user","id":"u"},"action":5,"resource":{"type":"t","id":"1"}}"#,
            #"field "action": expected a string, found a number"#
        ),
        (
            #"{"actor":{"type":"user","id":"u"},"action":"x","resource":{"type":"t","id":""}}"#,
            #"field "resource.id": must not be empty"#
        ),
        (
            #"{"actor":{"type":"user","id":"u","roles":["a",3]},"action":"x","resource":{"type":"t","id":"1"}}"#,
            #"field "actor.roles[1]": expected a string, found a number"#
        ),
        (#"{\#(minimal)},"ip":"300.1.2.3"}"#, #"field "ip": "300.1.2.3" is not an IPv4 or IPv6 address"#),
        (#"{\#(minimal)},"ip":"01.1.2.3"}"#, #"field "ip": "01.1.2.3" is not an IPv4 or IPv6 address"#),
        (#"{\#(minimal)},"ip":"1::2::3"}"#, #"field "ip": "1::2::3" is not an IPv4 or IPv6 address"#),
        (
            #"{\#(minimal)},"ip":"1:2:3:4:5:6:7:8:9"}"#,
            #"field "ip": "1:2:3:4:5:6:7:8:9" is not an IPv4 or IPv6 address"#
        ),
        (
            #"{\#(minimal)},"timestamp":"2026-02-30T00:00:00Z"}"#,
            #"field "timestamp": "2026-02-30T00:00:00Z" is not an RFC 3339 date-time such as 2026-11-22T03:13:33.123Z"#
        ),
        (
            #"{\#(minimal)},"timestamp":-1}"#,
            #"field "timestamp": -1 ms is outside the accepted range 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z"#
        ),
        (#"{\#(minimal)},"timestamp":1.5}"#, #"field "timestamp": expected whole milliseconds since the epoch"#),
        (#"{\#(minimal)},"colour":"red"}"#, #"field "colour": unknown field; put custom data in "metadata""#),
        (#"{\#(minimal)},"action":"y"}"#, #"field "action": appears twice"#),
        (#"{\#(minimal)},"metadata":[1]}"#, #"field "metadata": expected an object, found an array"#),
        (#"{\#(minimal)},"before":{"a":1,"a":2}}"#, #"field "before": invalid JSON at byte 96: duplicate key "a""#),
        (
            #"{\#(minimal)},"before":"\ud800"}"#,
            #"field "before": invalid JSON at byte 96: unpaired UTF-16 surrogate in \u escape"#
        ),
        (#"{\#(minimal)},"before":[1,]}"#, #"field "before": invalid JSON at byte 92: expected a value, found ']'"#),
        (#"{\#(minimal)},"before":01}"#, #"field "before": invalid JSON at byte 90: invalid number (leading zero)"#),
        (#"{\#(minimal)}} trailing"#, #"unexpected data after the event object at byte 81"#),
        (#"[1,2]"#, #"expected a JSON object, found an array"#),
        (#"{\#(minimal)}"#, #"invalid JSON at byte 79: expected ',' or '}', found end of input"#),
        ("", "expected a JSON object, found end of input"),
    ])
    func badInputIsRefusedWithFieldAndReason(input: String, expected: String) {
        #expect(throws: AuditLogError.self) { try decoder.decode(input) }
        do {
            _ = try decoder.decode(input)
        } catch {
            #expect(error.code == .invalidEvent)
            #expect(error.description == expected)
        }
    }

    @Test func invalidUTF8IsRefused() {
        var bytes = Array(#"{"actor":{"type":"user","id":"u"},"action":"x"#.utf8)
        bytes += [0xC3, 0x28]  // invalid two-byte sequence
        bytes += Array(#"","resource":{"type":"t","id":"1"}}"#.utf8)
        do {
            _ = try bytes.withUnsafeBytes { try decoder.decode($0) }
            Issue.record("invalid UTF-8 was accepted")
        } catch let error as AuditLogError {
            #expect(error.description == #"field "action": invalid JSON at byte 44: string is not valid UTF-8"#)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func limitsAreEnforcedWithTheFieldNamed() {
        var limits = EventLimits()
        limits.maxEventBytes = 200
        limits.maxNestingDepth = 3
        let decoder = EventDecoder(limits: limits)
        let longID = String(repeating: "x", count: 129)
        #expect(throws: AuditLogError.self) { try self.decoder.decode(#"{"id":"\#(longID)",\#(Self.minimal)}}"#) }
        do {
            _ = try self.decoder.decode(#"{"id":"\#(longID)",\#(Self.minimal)}}"#)
        } catch {
            #expect(error.description == #"field "id": is 129 bytes, over the limit of 128"#)
        }
        do {
            _ = try decoder.decode(#"{\#(Self.minimal)},"before":[[[[1]]]]}"#)
            Issue.record("deep nesting accepted")
        } catch {
            #expect(error.description.contains("nesting deeper than 3 levels"))
        }
        let big = #"{\#(Self.minimal)},"userAgent":"\#(String(repeating: "a", count: 300))"}"#
        do {
            _ = try decoder.decode(big)
            Issue.record("oversize event accepted")
        } catch {
            #expect(error.description == "event is \(big.utf8.count) bytes, over the limit of 200 bytes")
        }
    }

    @Test(arguments: [
        "::1", "::", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "0.0.0.0",
        "255.255.255.255", "1::", "a:b:c:d:e:f:0:1", "64:ff9b::10.0.0.1",
    ])
    func validAddressesAreAccepted(ip: String) {
        #expect(IPAddress.isValid(ip))
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.0.0.1", ":::", "1:2:3:4:5:6:7:8::", "12345::", "::g", "1.2.3.4:80",
        "fe80::1%eth0", " 1.2.3.4", "1:2:3:4:5:6:7::8:9",
    ])
    func invalidAddressesAreRefused(ip: String) {
        #expect(!IPAddress.isValid(ip))
    }
}

extension EventDecoderTests {
    /// A request body of many events is decoded all or nothing, naming the line of the first bad one.
    @Test func batchesAreAllOrNothingAndNameTheLine() throws {
        let good = jsonLines(sampleEvents(3, seed: 4))
        let lines = good.split(separator: "\n").map(String.init)
        func batch(_ text: String, _ format: EventDecoder.BatchFormat) throws -> [AuditEvent] {
            var copy = text
            return try copy.withUTF8 { try decoder.decodeBatch(UnsafeRawBufferPointer($0), format: format) }
        }
        #expect(try batch(good + "\n\n", .jsonLines).count == 3)
        #expect(try batch("[" + lines.joined(separator: ",\n") + "]", .json).count == 3)
        #expect(try batch(lines[0], .json).count == 1)
        #expect(try batch(" [ ] ", .json).isEmpty)

        let robot = #"{"actor":{"type":"robot","id":"r"},"action":"x","resource":{"type":"t","id":"1"}}"#
        let bad = lines[0] + "\n" + robot + "\n" + lines[2]
        for (text, format) in [(bad, EventDecoder.BatchFormat.jsonLines), ("[" + bad.replacingOccurrences(of: "\n", with: ",\n") + "]", .json)] {
            do {
                _ = try batch(text, format)
                Issue.record("a bad batch was accepted")
            } catch let error as AuditLogError {
                #expect(error.line == 2, "\(error)")
                #expect(error.field == "actor.type", "\(error)")
            }
        }
        do {
            _ = try batch("[" + lines[0] + "," + lines[1], .json)
            Issue.record("an unterminated array was accepted")
        } catch let error as AuditLogError {
            #expect(error.code == .invalidEvent && error.line != nil)
        }
    }
}

extension EventDecoderTests {
    /// The records with their salts zeroed (the salts are random).
    private func unsalted(_ batch: PendingBatch) -> [UInt8] {
        var records = batch.records
        for offset in batch.offsets {
            var start = offset
            while records[start] & 0x80 != 0 { start += 1 }
            let salt = start + 1 + RecordCodec.fixedSize - RecordCodec.saltSize
            for i in salt..<salt + RecordCodec.saltSize { records[i] = 0 }
        }
        return records
    }

    private func encode(_ text: String, defaultOrg: String? = nil) throws -> EncodedEvents {
        var copy = text
        return try copy.withUTF8 {
            try decoder.encodeBatch(UnsafeRawBufferPointer($0), format: .jsonLines, defaultOrg: defaultOrg)
        }
    }

    /// JSON parsed straight into records gives the bytes that encoding the decoded events gives, whatever the
    /// spelling of the JSON (escapes, whitespace, key order, nulls), and the same facet counts.
    @Test func jsonStraightToRecordsEqualsEncodingTheDecodedEvents() throws {
        let spellings = [
            Self.fullEvent,
            #"  { "resource" : {"name":null, "id":"r\u00e9\/1","type":"t"}, "action":"a\tb", "actor":{"roles":[],"id":"\ud83d\ude00","type":"system","name":null},"timestamp":1795317213123,"id":"x","org":null,"project":{"name":"P","id":"p"},"after":null,"before":{"z":1,"a":[true,false,null,-0.5e-3],"\u0041":"\"q\""},"seq":7,"leafHash":"00"}  "#,
            #"{"id":"y","timestamp":"2026-01-01T00:00:00Z","actor":{"type":"service","id":"s","authMethod":"mtls"},"action":"x","resource":{"type":"t","id":"1"},"ip":"10.0.0.1","metadata":{}}"#,
        ]
        let lines = spellings + sampleEvents(300, seed: 9).map(\.jsonString)
        let text = lines.joined(separator: "\n")
        let encoded = try encode(text)
        let events = try lines.map { try decoder.decode($0) }
        let reference = try PendingBatch(events, limits: decoder.limits, allowReserved: false)
        #expect(encoded.count == lines.count)
        #expect(encoded.batch.offsets == reference.offsets)
        #expect(unsalted(encoded.batch) == unsalted(reference))
        #expect(encoded.batch.tally.summary(baseSeq: 0) == reference.tally.summary(baseSeq: 0))
        #expect(encoded.batch.records != reference.records, "every record has its own random salt")
        for (i, event) in events.enumerated() {
            #expect(encoded.eventID(at: i) == event.id)
            #expect(encoded.orgID(at: i) == event.org?.id)
        }
    }

    /// An org-scoped key's events: those without an org get it, the others keep theirs (the server refuses them).
    @Test func eventsWithoutAnOrgGetTheDefaultOrg() throws {
        let none = #"{"id":"a","actor":{"type":"user","id":"u"},"action":"x","resource":{"type":"t","id":"1"}}"#
        let other = #"{"id":"b","actor":{"type":"user","id":"u"},"action":"x","resource":{"type":"t","id":"1"},"org":{"id":"o2","name":"Other"}}"#
        let encoded = try encode(none + "\n" + other, defaultOrg: "o1")
        #expect(encoded.orgID(at: 0) == "o1")
        #expect(encoded.orgID(at: 1) == "o2")
        #expect(try encode(none).orgID(at: 0) == nil)
    }

    /// Object keys are compared after unescaping, also past the 32 keys compared one by one.
    @Test func duplicateKeysAreFoundInLargeObjectsAndThroughEscapes() throws {
        let minimal = #""actor":{"type":"user","id":"u"},"action":"x","resource":{"type":"t","id":"1"}"#
        let many = (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        #expect(try decoder.decode("{\(minimal),\"before\":{\(many)}}").before?.text == "{\(many)}")
        for object in [#"{\#(many),"k39":0}"#, #"{"k5":0,\#(many)}"#, #"{"a":1,"\u0061":2}"#] {
            let error = #expect(throws: AuditLogError.self) {
                try decoder.decode("{\(minimal),\"before\":\(object)}")
            }
            #expect(error?.field == "before")
            #expect(error?.message.contains("duplicate key") == true, "\(String(describing: error))")
        }
    }

    /// Events encoded against other limits than the log's are refused whole.
    @Test func encodedEventsNeedTheLogsLimits() throws {
        let directory = try TemporaryDirectory()
        let log = try AuditLog(directory: directory.path)
        defer { try? log.close() }
        var limits = EventLimits()
        limits.maxStringBytes = 100_000
        let line = sampleEvents(1, seed: 2)[0].jsonString
        var copy = line
        let encoded = try copy.withUTF8 {
            try EventDecoder(limits: limits).encodeBatch(UnsafeRawBufferPointer($0), format: .jsonLines)
        }
        #expect(throws: AuditLogError.self) { try log.append(encoded) }
        #expect(log.state.treeSize == 0)
        #expect(try log.append(try encode(line)) == 0..<1)
        #expect(try log.event(seq: 0).event == sampleEvents(1, seed: 2)[0])
    }
}
