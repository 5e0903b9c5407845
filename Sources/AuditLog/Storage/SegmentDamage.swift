/// Why the bytes at an offset of a segment are not a valid continuation of it (FORMAT.md, "Segment").
///
/// The reason is typed so that what callers decide from it (recovery: cut or refuse; the verifier: torn write,
/// truncated or modified; readers: end of what is committed or damage) never depends on the wording of a message.
struct SegmentDamage: Error, Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// An entry runs past the end of the file: a write cut short by a crash, or a file cut short.
        case cutShort
        /// The bytes are not a valid block header or footer: unknown magic, bad header checksum, impossible fields.
        case badEntryHeader
        /// A block's trailing checksum does not match its bytes.
        case blockChecksum
        /// A block does not start at the seq after the previous block (blocks removed, duplicated or moved).
        case seqDiscontinuity(expected: UInt64, found: UInt64)
        /// The footer does not describe the blocks before it (end seq, block count or root).
        case footerMismatch
        /// Bytes follow the footer, which must end the file.
        case bytesAfterFooter
    }

    var kind: Kind
    /// The first bad byte.
    var offset: Int64
    /// How many bytes the bad entry spans, when its header could be read.
    var length: Int64?
    /// What is wrong, for people.
    var reason: String

    /// Whether a crash can leave this shape at the end of a file: an entry cut short by the end of the file.
    var isCutShort: Bool { kind == .cutShort }
}
