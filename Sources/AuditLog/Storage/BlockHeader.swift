/// The fixed 80-byte header of a block (FORMAT.md, "Block"). It has its own checksum so that recovery and
/// readers can walk a segment from header to header without reading payloads.
struct BlockHeader: Equatable {
    static let size = 80
    /// "ALBK"
    static let magic: [UInt8] = Array("ALBK".utf8)
    static let trailerSize = 4

    enum Compression: UInt8 {
        case none = 0
        case lz4 = 1
        /// Format version 2: ~4 KiB frames of whole records, each LZ4-compressed against the segment's
        /// dictionary or stored as is, behind a table of their lengths and checksums (``BlockFrames``).
        case frames = 2
    }

    var storedLength: UInt32
    var uncompressedLength: UInt32
    var recordCount: UInt32
    var firstSeq: UInt64
    var minTimestamp: Int64
    var maxTimestamp: Int64
    var compression: Compression
    var frontierCount: UInt8
    /// Set on the first block of each group commit. Recovery uses it to tell a torn last commit (truncated)
    /// from damage to earlier, acknowledged commits (refused).
    var startsCommit: Bool
    var root: SHA256Hash

    /// Seq after the block's last record: the tree size its root and frontier describe.
    var endSeq: UInt64 { firstSeq + UInt64(recordCount) }

    /// Header, frontier, payload and trailing checksum.
    var totalLength: Int { Self.size + 32 * Int(frontierCount) + Int(storedLength) + Self.trailerSize }

    func encode(into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: Self.magic)
        out.appendLittleEndian(storedLength)
        out.appendLittleEndian(uncompressedLength)
        out.appendLittleEndian(recordCount)
        out.appendLittleEndian(firstSeq)
        out.appendLittleEndian(minTimestamp)
        out.appendLittleEndian(maxTimestamp)
        out.append(compression.rawValue)
        out.append(frontierCount)
        out.append(startsCommit ? 1 : 0)
        out.append(0)
        root.withUnsafeBytes { out.append(contentsOf: $0) }
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<start + 76])) }
        out.appendLittleEndian(crc)
    }

    /// Whether `bytes` starts with the block magic (as opposed to a footer or garbage).
    static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == magic[0] && bytes[1] == magic[1] && bytes[2] == magic[2] && bytes[3] == magic[3]
    }

    /// Decodes and checks a header; `bytes` must hold at least ``size`` bytes. The uncompressed length is bounded
    /// by LZ4's greatest ratio (under 255:1), so a crafted header cannot make a reader allocate gigabytes.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeFailure) -> BlockHeader {
        guard bytes.count >= size else { throw DecodeFailure(reason: "truncated block header", offset: 0) }
        guard hasMagic(bytes) else { throw DecodeFailure(reason: "not a block header (bad magic)", offset: 0) }
        var r = ByteReader(bytes, position: 4)
        let storedLength = try r.readLittleEndian(UInt32.self, "stored length")
        let uncompressedLength = try r.readLittleEndian(UInt32.self, "uncompressed length")
        let recordCount = try r.readLittleEndian(UInt32.self, "record count")
        let firstSeq = try r.readLittleEndian(UInt64.self, "first seq")
        let minTimestamp = try r.readLittleEndian(Int64.self, "min timestamp")
        let maxTimestamp = try r.readLittleEndian(Int64.self, "max timestamp")
        let compressionCode = try r.readByte("compression")
        let frontierCount = try r.readByte("frontier count")
        let flags = try r.readByte("block flags")
        let reserved = try r.readByte("reserved")
        let root = SHA256Hash(try r.readBytes(32, "root"))
        let storedCRC = try r.readLittleEndian(UInt32.self, "header checksum")
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<76]))
        guard crc == storedCRC else { throw DecodeFailure(reason: "block header checksum mismatch", offset: 76) }
        guard let compression = Compression(rawValue: compressionCode) else {
            throw DecodeFailure(reason: "unknown block compression \(compressionCode)", offset: 40)
        }
        guard flags & ~1 == 0, reserved == 0 else {
            throw DecodeFailure(reason: "unknown block flags \(flags)", offset: 42)
        }
        guard recordCount > 0, minTimestamp <= maxTimestamp,
            Int(frontierCount) == (firstSeq &+ UInt64(recordCount)).nonzeroBitCount,
            firstSeq <= UInt64.max - UInt64(recordCount),
            compression != .none || storedLength == uncompressedLength,
            compression != .frames || Int(storedLength) >= BlockFrames.smallestStoredLength,
            UInt64(uncompressedLength) <= 255 * UInt64(storedLength) + 1024
        else { throw DecodeFailure(reason: "inconsistent block header fields", offset: 0) }
        return BlockHeader(
            storedLength: storedLength, uncompressedLength: uncompressedLength, recordCount: recordCount,
            firstSeq: firstSeq, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, compression: compression,
            frontierCount: frontierCount, startsCommit: flags & 1 != 0, root: root)
    }
}
