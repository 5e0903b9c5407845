import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Before/after diffs")
struct DiffTests {
    func diff(_ before: String?, _ after: String?) throws -> [String] {
        let old = try before.map { try JSONValue(try JSONText($0)) }
        let new = try after.map { try JSONValue(try JSONText($0)) }
        return EventDiff.changes(from: old, to: new).map {
            "\($0.kind.rawValue) \($0.path) \($0.old ?? "-") \($0.new ?? "-")"
        }
    }

    @Test func nestedObjectsArraysAndTypeChanges() throws {
        #expect(
            try diff(#"{"a":1,"b":{"c":"x","d":[1,2]}}"#, #"{"a":1,"b":{"c":"y","d":[1,2,3]},"e":null}"#) == [
                #"changed b.c "x" "y""#, "added b.d[2] - 3", "added e - null",
            ])
        #expect(
            try diff(#"{"labels":["latest"],"v":5}"#, #"{"labels":"latest","v":"5"}"#) == [
                #"changed labels ["latest"] "latest""#, #"changed v 5 "5""#,
            ])
        #expect(try diff(#"{"gone":{"x":1},"keep":true}"#, #"{"keep":true}"#) == [#"removed gone {"x":1} -"#])
        #expect(try diff(#"[1,{"a":2}]"#, #"[{"a":2}]"#) == [#"changed [0] 1 {"a":2}"#, #"removed [1] {"a":2} -"#])
        #expect(try diff(nil, #"{"a":1}"#) == [#"added  - {"a":1}"#])
        #expect(try diff(#"{"a":1}"#, nil) == [#"removed  {"a":1} -"#])
        #expect(
            try diff(#"{"a.b":1,"with space":2}"#, #"{"a.b":2,"with space":3}"#) == [
                #"changed ["a.b"] 1 2"#, #"changed ["with space"] 2 3"#,
            ])
        #expect(try diff(#"{"n":1.0}"#, #"{"n":1.0}"#).isEmpty)
        #expect(try diff(#"{"n":1.0}"#, #"{"n":1}"#) == ["changed n 1.0 1"], "numbers compare as written")
    }

    @Test func anEventsBeforeAndAfterAreDiffed() throws {
        var event = AuditEvent(
            id: "e", timestamp: Timestamp(millisecondsSinceEpoch: 0), actor: .init(type: .user, id: "u"),
            action: "update",
            resource: .init(type: "prompt", id: "p"))
        event.before = try JSONText(#"{"version":5,"labels":["latest"]}"#)
        event.after = try JSONText(#"{"version":6,"labels":["latest","production"]}"#)
        let changes = try EventDiff.changes(of: event)
        #expect(
            changes == [
                FieldChange(path: "version", kind: .changed, old: "5", new: "6"),
                FieldChange(path: "labels[1]", kind: .added, old: nil, new: "\"production\""),
            ])
    }
}
