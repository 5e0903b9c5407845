/// The header at the start of every segment file (FORMAT.md, "Segment header"): format version, base seq and
/// the Merkle frontier of everything before the segment, so a segment can be checked on its own.
struct SegmentHeader: Equatable {
    /// "AUDITSEG"
    static let magic: [UInt8] = Array("AUDITSEG".utf8)
    /// The version new segments are written in: 2, blocks of frames against the segment's dictionary. Version 1
    /// (blocks compressed whole) is still read, and its active segment still appended to, in version 1.
    static let formatVersion: UInt16 = 2
    static let supportedVersions: ClosedRange<UInt16> = 1...2
    static let fixedSize = 36

    var version: UInt16 = formatVersion
    var baseSeq: UInt64
    var createdAt: Int64
    var frontier: MerkleFrontier

    var encodedSize: Int { Self.fixedSize + 32 * frontier.hashes.count }

    func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: Self.magic)
        out.appendLittleEndian(version)
        out.appendLittleEndian(UInt16(Self.fixedSize))
        out.appendLittleEndian(baseSeq)
        out.appendLittleEndian(createdAt)
        out.appendLittleEndian(UInt32(frontier.hashes.count))
        for hash in frontier.hashes { hash.withUnsafeBytes { out.append(contentsOf: $0) } }
        out.appendLittleEndian(CRC32C.checksum(out))
        return out
    }

    /// Decodes a header from the first bytes of a segment file (`bytes` may be longer than the header).
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeFailure) -> SegmentHeader {
        var r = ByteReader(bytes)
        let magic = try r.readBytes(8, "segment magic")
        guard magic.elementsEqual(Self.magic) else {
            throw DecodeFailure(reason: "not a segment file (bad magic)", offset: 0)
        }
        let version = try r.readLittleEndian(UInt16.self, "format version")
        guard supportedVersions.contains(version) else {
            throw DecodeFailure(
                reason: "segment format version \(version) is not supported (this library reads versions "
                    + "\(supportedVersions.lowerBound) to \(supportedVersions.upperBound))",
                offset: 8, kind: .unsupportedVersion)
        }
        let fixed = try r.readLittleEndian(UInt16.self, "header size")
        guard fixed == UInt16(fixedSize) else {
            throw DecodeFailure(reason: "unexpected header size \(fixed)", offset: 10)
        }
        let baseSeq = try r.readLittleEndian(UInt64.self, "base seq")
        let createdAt = try r.readLittleEndian(Int64.self, "created at")
        let count = try r.readLittleEndian(UInt32.self, "frontier count")
        guard Int(count) == baseSeq.nonzeroBitCount else {
            throw DecodeFailure(reason: "frontier count \(count) does not match base seq \(baseSeq)", offset: 28)
        }
        var hashes: [SHA256Hash] = []
        for _ in 0..<count { hashes.append(SHA256Hash(try r.readBytes(32, "frontier hash"))) }
        let end = r.position
        let storedCRC = try r.readLittleEndian(UInt32.self, "header checksum")
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<end])) == storedCRC else {
            throw DecodeFailure(reason: "segment header checksum mismatch", offset: end)
        }
        return SegmentHeader(
            version: version, baseSeq: baseSeq, createdAt: createdAt,
            frontier: MerkleFrontier(size: baseSeq, hashes: hashes)!)
    }

    /// The largest possible header: 64 frontier hashes.
    static let maxSize = fixedSize + 32 * 64
}
