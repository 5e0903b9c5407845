@testable import AuditLog

/// A block after its checksum passed: header, frontier, payload (LZ4, frames against a dictionary, or stored),
/// records. Input: one mode byte (bit 0: recompute the header checksum, so mutations reach the field checks), two
/// bytes of dictionary length, the dictionary (the segment's, for a block of frames), then the block. Partial
/// reads (what queries do with the block index's record ends) must return the whole read's records: a version 1
/// prefix exactly the first ones, frames a run of whole frames that holds the records asked for.
enum BlockTarget {
    static func run(_ input: UnsafeRawBufferPointer) {
        guard input.count > 3 else { return }
        let dictionaryLength = min(Int(input[1]) << 8 | Int(input[2]), input.count - 3)
        let dictionary = Array(input[3..<3 + dictionaryLength])
        var block = Array(input[(3 + dictionaryLength)...])
        guard block.count >= BlockHeader.size else { return }
        if input[0] & 1 != 0 { storeChecksum(of: 0..<76, at: 76, in: &block) }
        guard let header = block.withUnsafeBytes({ try? BlockHeader.decode($0) }), block.count >= header.totalLength
        else { return }
        let frontier = block.withUnsafeBytes { BlockDecoder.frontier(of: $0, header) }
        require(frontier?.size == header.endSeq, "frontier size \(String(describing: frontier?.size))")

        var payload: [UInt8] = []
        var records: [[UInt8]] = []
        var ends: [Int] = []
        let whole: Void? = try? BlockDecoder.forEachRecord(
            inBlock: block, header, dictionary: dictionary, payload: &payload
        ) { seq, record in
            require(RecordCodec.seq(of: record) == seq, "record seq differs from its place")
            _ = try? RecordCodec.decode(record)
            records.append(Array(record))
            ends.append((ends.last ?? 0) + varintSize(UInt64(record.count)) + record.count)
        }
        if whole != nil {
            require(
                records.count == Int(header.recordCount), "\(records.count) records, header says \(header.recordCount)")
        }
        // Partial reads of record i (from where record i - 1 ends to where record i ends): where the whole block
        // reads they must hold record i among a run of the whole read's records; elsewhere they must only not crash.
        let arbitrary = Int(input[input.count / 2]) * 7
        let probes =
            (whole == nil ? [] : ends.prefix(6).enumerated().map { ($0.offset, $0.element) }) + [(-1, arbitrary)]
        for (i, end) in probes {
            let start = i > 0 ? ends[i - 1] : 0
            for needed in [0..<end, min(start, end)..<end] {
                var part: [[UInt8]] = []
                var first: UInt64?
                var failure: DecodeFailure?
                do throws(DecodeFailure) {
                    let decoded = try dictionary.withUnsafeBytes { dictionary in
                        Result { () throws(DecodeFailure) in
                            try BlockDecoder.decompress(
                                block, header, needed: needed, dictionary: dictionary, into: &payload)
                        }
                    }.get()
                    first = decoded.firstSeq
                    try payload.withUnsafeBytes { raw in
                        Result { () throws(DecodeFailure) in
                            try BlockDecoder.forEachRecord(
                                in: UnsafeRawBufferPointer(rebasing: raw[decoded.bytes]), header,
                                firstSeq: decoded.firstSeq,
                                endSeq: decoded.endSeq
                            ) { _, record in part.append(Array(record)) }
                        }
                    }.get()
                } catch { failure = error }
                guard i >= 0 else { continue }
                require(failure == nil, "partial read of \(needed) failed where the whole block reads: \(failure!)")
                let from = Int(first! - header.firstSeq)
                require(
                    from <= i && from + part.count > i && Array(records[from..<from + part.count]) == part,
                    "partial read of \(needed) returned records \(from)..<\(from + part.count), not the whole read's "
                        + "around record \(i)")
                if header.compression == .lz4 && needed.lowerBound == 0 && end < Int(header.uncompressedLength) {
                    require(part.count == i + 1, "a version 1 prefix read returned \(part.count) records, not \(i + 1)")
                }
            }
        }
    }

    /// The input of `run` for a block and its dictionary.
    static func input(mode: UInt8, block: [UInt8], dictionary: [UInt8]) -> [UInt8] {
        let dictionary = Array(dictionary.suffix(0xFFFF))
        return [mode, UInt8(dictionary.count >> 8), UInt8(dictionary.count & 0xFF)] + dictionary + block
    }

    static func seeds() -> [[UInt8]] {
        let blocks = SampleLog(name: "block-seeds").blocks
        var seeds = blocks.prefix(12).map { input(mode: 0, block: $0.bytes, dictionary: $0.dictionary) }
        // The same blocks stored uncompressed, so mutations reach the records directly, and compressed whole as
        // version 1 did.
        var payload: [UInt8] = []
        for (block, dictionary) in blocks.prefix(4) {
            guard let original = block.withUnsafeBytes({ try? BlockHeader.decode($0) }),
                (try? BlockDecoder.forEachRecord(inBlock: block, original, dictionary: dictionary, payload: &payload) {
                    _, _ in
                }) != nil
            else { continue }
            let records = Array(payload[0..<Int(original.uncompressedLength)])
            var compressed = [UInt8](repeating: 0, count: LZ4.compressBound(records.count))
            let n = records.withUnsafeBytes { src in compressed.withUnsafeMutableBytes { LZ4.compress(src, into: $0) } }
            for stored in [records, Array(compressed[0..<(n ?? 0)])] where !stored.isEmpty {
                var header = original
                header.compression = stored.count == records.count ? .none : .lz4
                header.storedLength = UInt32(stored.count)
                var out: [UInt8] = []
                header.encode(into: &out)
                out += block[BlockHeader.size..<BlockHeader.size + 32 * Int(header.frontierCount)]
                out += stored
                out.appendLittleEndian(CRC32C.checksum(out))
                seeds.append(input(mode: 1, block: out, dictionary: []))
            }
        }
        return seeds
    }
}
