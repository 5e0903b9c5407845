/// Where the active segment's blocks ended when the writer last closed cleanly (FORMAT.md, "Writing and
/// recovery", `TAIL`): written at close, after the final sync, so that the next open checks the last block and
/// walks only what follows it instead of every block of the active segment.
///
/// Derived and checked: it is used only if it names the last segment's file (base seq and inode), that file
/// is at least as long, and the block it names is there, whole, with the stored root. Anything else (a missing,
/// torn or stale file) and open walks the whole segment as it always did.
struct WriterTail: Equatable {
    static let fileName = "TAIL"
    static let magic: [UInt8] = Array("ALTL".utf8)
    static let size = 104

    var baseSeq: UInt64
    var inode: UInt64
    /// Bytes of the segment that hold its header and blocks.
    var validEnd: Int64
    var blockCount: UInt32
    var lastBlockOffset: Int64
    var lastBlockRoot: SHA256Hash
    var minTimestamp: Int64
    var maxTimestamp: Int64

    static func path(directory: String) -> String { LogFiles.path(directory, fileName) }

    func encode() -> [UInt8] {
        var out = Self.magic
        out.appendLittleEndian(UInt16(1))
        out.appendLittleEndian(UInt16(0))
        out.appendLittleEndian(baseSeq)
        out.appendLittleEndian(inode)
        out.appendLittleEndian(UInt64(validEnd))
        out.appendLittleEndian(blockCount)
        out.appendLittleEndian(UInt32(0))
        out.appendLittleEndian(UInt64(lastBlockOffset))
        lastBlockRoot.withUnsafeBytes { out.append(bytes: $0) }
        out.appendLittleEndian(minTimestamp)
        out.appendLittleEndian(maxTimestamp)
        out.appendLittleEndian(CRC32C.checksum(out))
        out.appendLittleEndian(UInt32(0))
        return out
    }

    init(
        baseSeq: UInt64, inode: UInt64, validEnd: Int64, blockCount: UInt32, lastBlockOffset: Int64,
        lastBlockRoot: SHA256Hash, minTimestamp: Int64, maxTimestamp: Int64
    ) {
        self.baseSeq = baseSeq
        self.inode = inode
        self.validEnd = validEnd
        self.blockCount = blockCount
        self.lastBlockOffset = lastBlockOffset
        self.lastBlockRoot = lastBlockRoot
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
    }

    /// Decodes a `TAIL` file's bytes: nil unless magic, version, size and checksum are right.
    init?(_ bytes: [UInt8]) {
        guard bytes.count == Self.size, bytes.starts(with: Self.magic) else { return nil }
        let decoded: WriterTail? = bytes.withUnsafeBytes { b in
            func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
                T(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            guard load(4, UInt16.self) == 1,
                load(96, UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<96])),
                let validEnd = Int64(exactly: load(24, UInt64.self)),
                let lastBlockOffset = Int64(exactly: load(40, UInt64.self)), lastBlockOffset < validEnd
            else { return nil }
            return WriterTail(
                baseSeq: load(8, UInt64.self), inode: load(16, UInt64.self), validEnd: validEnd,
                blockCount: load(32, UInt32.self), lastBlockOffset: lastBlockOffset,
                lastBlockRoot: SHA256Hash(UnsafeRawBufferPointer(rebasing: b[48..<80])),
                minTimestamp: load(80, Int64.self), maxTimestamp: load(88, Int64.self))
        }
        guard let decoded else { return nil }
        self = decoded
    }

    /// The tail recorded in `directory`, if any reads.
    static func read(directory: String) -> WriterTail? {
        guard let mapped = MappedFile(path: path(directory: directory)) else { return nil }
        return WriterTail(Array(mapped.bytes))
    }

    /// Writes the tail (aside, then renamed; not synced: a tail lost to a power cut only costs the next open a
    /// full walk).
    func write(directory: String) throws(AuditLogError) {
        let path = Self.path(directory: directory)
        try FileSystem.rename(try FileSystem.writeAside(encode(), for: path, sync: false), to: path)
    }
}
