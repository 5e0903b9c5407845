import AuditLogSampleData

@testable import AuditLog

/// The JSON event decoder. An accepted event must be valid, print as JSON that decodes to the same event, and
/// survive the record encoding: written straight from JSON the same, decoded back equal, and transcoded to the
/// same export JSON.
enum EventJSONTarget {
    static let decoder = EventDecoder()
    nonisolated(unsafe) static let hasher = try? MerkleHasher()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let event = try? decoder.decode(bytes) else { return }
        require((try? event.validate()) != nil, "an accepted event does not validate")
        let again = try? decoder.decode(event.jsonString)
        require(again == event, "the JSON of an accepted event decodes to \(String(describing: again))")
        // JSON parsed straight into a record gives the record of the decoded event.
        var encoder = JSONRecordEncoder(limits: decoder.limits)
        var reference: [UInt8] = []
        RecordCodec.encode(event, seq: 0, into: &reference)
        var json = Array(event.jsonString.utf8)
        let parsed = json.withUnsafeMutableBytes { (try? encoder.encode(UnsafeRawBufferPointer($0))) != nil }
        require(parsed && Array(encoder.record) == reference, "JSON straight to a record differs from the event's record")
        guard let hasher else { return }
        var record: [UInt8] = []
        let salt = [UInt8](repeating: 0x5a, count: RecordCodec.saltSize)
        salt.withUnsafeBytes { RecordCodec.encode(event, seq: 9, salt: $0, into: &record) }
        record.withUnsafeBytes { raw in
            let stored = try? RecordCodec.decode(raw, into: StoredEvent.self, using: hasher)
            require(stored?.event == event && stored?.seq == 9, "the record of an accepted event decodes differently")
            var expected: [UInt8] = []
            stored?.appendJSON(to: &expected)
            var transcoded: [UInt8] = []
            require((try? RecordJSON.append(raw, using: hasher, to: &transcoded)) != nil, "transcoder refused a record")
            require(transcoded == expected, "transcoded export JSON differs from the decoded event's")
        }
    }

    static func seeds() -> [[UInt8]] {
        var generator = SampleEventGenerator(seed: 3)
        var seeds = generator.events(24).map { Array($0.jsonString.utf8) }
        seeds.append(
            Array(
                #"{"id":"e1","timestamp":"2026-01-01T00:00:00.5+02:00","actor":{"type":"user","id":"u\u00e9\ud83d\ude00","roles":[]},"action":"x.y","resource":{"type":"t","id":"1"},"ip":"::ffff:1.2.3.4","before":{"a":[1,-2.5e3,null,true]},"metadata":{}}"#
                    .utf8))
        return seeds
    }
}
