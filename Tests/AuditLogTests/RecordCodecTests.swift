import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Record encoding")
struct RecordCodecTests {
    func encode(_ event: AuditEvent, seq: UInt64 = 7, salt: [UInt8] = Array(repeating: 9, count: 16)) -> [UInt8] {
        var out: [UInt8] = []
        salt.withUnsafeBytes { RecordCodec.encode(event, seq: seq, salt: $0, into: &out) }
        return out
    }

    @Test func everyFieldRoundTripsThroughTheBinaryRecord() throws {
        let full = try EventDecoder().decode(EventDecoderTests.fullEvent)
        var events = [
            full,
            AuditEvent(
                id: "m", timestamp: Timestamp(millisecondsSinceEpoch: 0), actor: .init(type: .system, id: "s"),
                action: "a",
                resource: .init(type: "t", id: "i")),
        ]
        var partial = full
        partial.org = AuditEvent.Reference(id: "o")
        partial.project = nil
        partial.actor.roles = []
        events.append(partial)
        events += sampleEvents(300)
        for (i, event) in events.enumerated() {
            let bytes = encode(event, seq: UInt64(i))
            let decoded = try bytes.withUnsafeBytes { try RecordCodec.decode($0) }
            #expect(decoded.seq == UInt64(i))
            #expect(decoded.event == event)
        }
    }

    @Test func encodingIsCanonical() throws {
        let a = try EventDecoder().decode(
            #"{"id":"1","timestamp":5,"actor":{"type":"user","id":"u"},"action":"x","resource":{"type":"t","id":"1"},"before":{ "a" : "\u0041" }}"#
        )
        let b = try EventDecoder().decode(
            #"{"before":{"a":"A"},"resource":{"id":"1","type":"t"},"action":"x","actor":{"id":"u","type":"user"},"timestamp":"1970-01-01T00:00:00.005Z","id":"1"}"#
        )
        #expect(a == b)
        #expect(encode(a) == encode(b))
    }

    @Test func decoderRefusesAnythingButTheCanonicalForm() throws {
        let event = sampleEvents(1)[0]
        let bytes = encode(event)
        var trailing = bytes
        trailing.append(0)
        #expect(throws: DecodeFailure.self) { try trailing.withUnsafeBytes { _ = try RecordCodec.decode($0) } }
        var flags = bytes
        flags[1] = 1
        #expect(throws: DecodeFailure.self) { try flags.withUnsafeBytes { _ = try RecordCodec.decode($0) } }
        var version = bytes
        version[0] = 2
        #expect(throws: DecodeFailure.self) { try version.withUnsafeBytes { _ = try RecordCodec.decode($0) } }
        var presence = bytes
        presence[4] |= 0x80  // bit 15: undefined
        #expect(throws: DecodeFailure.self) { try presence.withUnsafeBytes { _ = try RecordCodec.decode($0) } }
        for cut in [0, 10, 36, bytes.count - 1] {
            #expect(throws: DecodeFailure.self) { try bytes[..<cut].withUnsafeBytes { _ = try RecordCodec.decode($0) } }
        }
    }
}
