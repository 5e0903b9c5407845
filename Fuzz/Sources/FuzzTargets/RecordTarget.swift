@testable import AuditLog

/// The stored record decoder. The export transcoders (which write JSON, OCSF and ECS straight from the record) must
/// refuse exactly what the decoder refuses and otherwise write what the decoded event prints; a decoded event must
/// encode to a record that decodes to it again.
enum RecordTarget {
    nonisolated(unsafe) static let hasher = try? MerkleHasher()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let hasher else { return }
        let decoded = try? RecordCodec.decode(bytes, into: StoredEvent.self, using: hasher)
        var transcoded: [UInt8] = [0x2a]
        let transcodedOK = (try? RecordJSON.append(bytes, using: hasher, to: &transcoded)) != nil
        require(transcodedOK == (decoded != nil), "decoder accepts: \(decoded != nil), transcoder: \(transcodedOK)")
        guard let decoded else {
            require(transcoded == [0x2a], "the transcoder left output behind after refusing a record")
            return
        }
        var expected: [UInt8] = [0x2a]
        decoded.appendJSON(to: &expected)
        require(transcoded == expected, "transcoded JSON differs from the decoded event's")
        for format in [ExportEncoder.Format.ocsf, .ecs, .csv] {
            var fromRecord = ExportEncoder(format: format)
            guard let fields = try? RecordFields(bytes) else {
                require(false, "the fields of a record the decoder accepts do not read")
                return
            }
            var entry = ByteBuffer()
            fromRecord.append(fields, leafHash: RecordCodec.leafHash(of: bytes, using: hasher), to: &entry)
            let line = entry.withUnsafeBytes { Array($0) }
            var fromEvent = ExportEncoder(format: format)
            var again: [UInt8] = []
            fromEvent.append(decoded, to: &again)
            require(line == again, "\(format) of the record differs from \(format) of the decoded event")
        }
        guard decoded.redaction == nil else { return }
        var record: [UInt8] = []
        let salt = [UInt8](repeating: 1, count: RecordCodec.saltSize)
        salt.withUnsafeBytes { RecordCodec.encode(decoded.event, seq: decoded.seq, salt: $0, into: &record) }
        let again = record.withUnsafeBytes { try? RecordCodec.decode($0, into: StoredEvent.self, using: hasher) }
        require(again?.event == decoded.event, "a decoded record does not survive re-encoding")
    }

    static func seeds() -> [[UInt8]] {
        let log = SampleLog(name: "record-seeds")
        var seeds: [[UInt8]] = []
        var payload: [UInt8] = []
        var redacted = 0
        for (block, dictionary) in log.blocks {
            guard let header = block.withUnsafeBytes({ try? BlockHeader.decode($0) }) else { continue }
            try? BlockDecoder.forEachRecord(inBlock: block, header, dictionary: dictionary, payload: &payload) {
                _, record in
                if RecordCodec.isRedacted(record) && redacted < 8 {
                    redacted += 1
                    seeds.append(Array(record))
                } else if seeds.count < 32 {
                    seeds.append(Array(record))
                }
            }
        }
        return seeds
    }
}
