/// Bytes read at offsets: a file (``FileDescriptor``), or an object of an archive held in memory (``MemoryBytes``).
/// Segments are read through it (``SegmentFile``), so the verifier reads a bucket's objects as it reads files.
protocol ByteSource: AnyObject, Sendable {
    /// The file's path or the object's address, for messages.
    var path: String { get }
    func size() throws(AuditLogError) -> Int64
    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(AuditLogError) -> Int
    /// Says that the bytes in `range` will be read soon, so that a source that reads from a disk may start now
    /// (while the reader waits for something else). Only a hint; by default nothing.
    func willRead(_ range: Range<Int64>)
}

extension ByteSource {
    func willRead(_ range: Range<Int64>) {}

    /// Reads `count` bytes at `offset` into a new array, or fewer at the end.
    func read(count: Int, at offset: Int64) throws(AuditLogError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(AuditLogError) in try read(into: buffer, at: offset) }
        }.get()
        if n < count { bytes.removeLast(count - n) }
        return bytes
    }
}

/// Bytes held in memory under a name: an archived object fetched whole.
final class MemoryBytes: ByteSource {
    let path: String
    let bytes: [UInt8]

    init(_ bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    func size() -> Int64 { Int64(bytes.count) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int {
        guard offset >= 0, offset < Int64(bytes.count) else { return 0 }
        let n = min(buffer.count, bytes.count - Int(offset))
        bytes.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + Int(offset), byteCount: n)
        }
        return n
    }
}
