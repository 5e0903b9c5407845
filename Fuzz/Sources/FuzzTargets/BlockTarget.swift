@testable import AuditLog

/// A block after its checksum passed: header, frontier, payload (LZ4 or stored), records. Input: one mode byte
/// (bit 0: recompute the header checksum, so mutations reach the field checks), then the block. The records a
/// prefix read returns (what queries do with the block index's record ends) must be the whole read's first ones.
enum BlockTarget {
    static func run(_ input: UnsafeRawBufferPointer) {
        guard input.count > BlockHeader.size else { return }
        var block = Array(input[1...])
        if input[0] & 1 != 0 { storeChecksum(of: 0..<76, at: 76, in: &block) }
        guard let header = block.withUnsafeBytes({ try? BlockHeader.decode($0) }), block.count >= header.totalLength
        else { return }
        let frontier = block.withUnsafeBytes { BlockDecoder.frontier(of: $0, header) }
        require(frontier?.size == header.endSeq, "frontier size \(String(describing: frontier?.size))")

        var payload: [UInt8] = []
        var records: [[UInt8]] = []
        var ends: [Int] = []
        let whole: Void? = try? BlockDecoder.forEachRecord(inBlock: block, header, payload: &payload) { seq, record in
            require(RecordCodec.seq(of: record) == seq, "record seq differs from its place")
            _ = try? RecordCodec.decode(record)
            records.append(Array(record))
            ends.append((ends.last ?? 0) + varintSize(UInt64(record.count)) + record.count)
        }
        if whole != nil {
            require(
                records.count == Int(header.recordCount), "\(records.count) records, header says \(header.recordCount)")
        }
        // Prefix reads: at record ends they must agree with the whole read; elsewhere they must only not crash.
        let arbitrary = Int(input[input.count / 2]) * 7
        let probes =
            (whole == nil ? [] : ends.prefix(6).enumerated().map { ($0.offset, $0.element) }) + [(-1, arbitrary)]
        for (i, end) in probes {
            var prefixRecords: [[UInt8]] = []
            var failure: DecodeFailure?
            do throws(DecodeFailure) {
                try BlockDecoder.forEachRecord(inBlock: block, header, prefix: end, payload: &payload) { _, record in
                    prefixRecords.append(Array(record))
                }
            } catch { failure = error }
            guard i >= 0 else { continue }
            require(failure == nil, "prefix read to record end \(end) failed where the whole block reads: \(failure!)")
            // Only LZ4 payloads can stop early; a stored payload is read whole.
            let partial = header.compression == .lz4 && end < Int(header.uncompressedLength)
            let expected = partial ? Array(records[0...i]) : records
            require(
                prefixRecords == expected,
                "prefix read to \(end) returned \(prefixRecords.map(\.count)), the whole read \(expected.map(\.count))")
        }
    }

    static func seeds() -> [[UInt8]] {
        let blocks = SampleLog(name: "block-seeds").blocks
        var seeds = blocks.prefix(12).map { [0] + $0 }
        // The same blocks stored uncompressed, so mutations reach the records directly.
        var payload: [UInt8] = []
        for block in blocks.prefix(4) {
            guard var header = block.withUnsafeBytes({ try? BlockHeader.decode($0) }),
                (try? BlockDecoder.forEachRecord(inBlock: block, header, payload: &payload) { _, _ in }) != nil
            else { continue }
            header.compression = .none
            header.storedLength = header.uncompressedLength
            var out: [UInt8] = []
            header.encode(into: &out)
            out += block[BlockHeader.size..<BlockHeader.size + 32 * Int(header.frontierCount)]
            out += payload[0..<Int(header.uncompressedLength)]
            out.appendLittleEndian(CRC32C.checksum(out))
            seeds.append([1] + out)
        }
        return seeds
    }
}
