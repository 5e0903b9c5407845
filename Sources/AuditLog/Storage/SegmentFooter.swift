/// The 68-byte footer that seals a segment (FORMAT.md, "Segment footer"). After it, nothing more is written to
/// the segment and the next segment starts at ``endSeq``.
struct SegmentFooter: Equatable {
    static let size = 68
    /// "ALFT"
    static let magic: [UInt8] = Array("ALFT".utf8)

    var blockCount: UInt32
    var endSeq: UInt64
    var minTimestamp: Int64
    var maxTimestamp: Int64
    var root: SHA256Hash

    func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.size)
        out.append(contentsOf: Self.magic)
        out.appendLittleEndian(blockCount)
        out.appendLittleEndian(endSeq)
        out.appendLittleEndian(minTimestamp)
        out.appendLittleEndian(maxTimestamp)
        root.withUnsafeBytes { out.append(contentsOf: $0) }
        out.appendLittleEndian(CRC32C.checksum(out))
        return out
    }

    static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == magic[0] && bytes[1] == magic[1] && bytes[2] == magic[2] && bytes[3] == magic[3]
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeFailure) -> SegmentFooter {
        guard bytes.count >= size else { throw DecodeFailure(reason: "truncated segment footer", offset: 0) }
        guard hasMagic(bytes) else { throw DecodeFailure(reason: "not a segment footer (bad magic)", offset: 0) }
        var r = ByteReader(bytes, position: 4)
        let blockCount = try r.readLittleEndian(UInt32.self, "block count")
        let endSeq = try r.readLittleEndian(UInt64.self, "end seq")
        let minTimestamp = try r.readLittleEndian(Int64.self, "min timestamp")
        let maxTimestamp = try r.readLittleEndian(Int64.self, "max timestamp")
        let root = SHA256Hash(try r.readBytes(32, "root"))
        let storedCRC = try r.readLittleEndian(UInt32.self, "footer checksum")
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<64])) == storedCRC else {
            throw DecodeFailure(reason: "segment footer checksum mismatch", offset: 64)
        }
        return SegmentFooter(
            blockCount: blockCount, endSeq: endSeq, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, root: root)
    }
}
