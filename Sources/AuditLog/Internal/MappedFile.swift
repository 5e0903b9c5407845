import CGuardedCopy

#if canImport(Glibc)
    import Glibc
#endif

/// A read-only memory mapping of a whole file. Index files are only ever appended to or replaced by rename,
/// never truncated in place, so a mapping cannot fault (a file truncated under a mapping raises SIGBUS).
final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    /// Maps `path`; nil if it does not exist or is empty.
    convenience init?(path: String) {
        guard let fd = try? FileDescriptor.openForReading(path) else { return nil }
        self.init(fd)
    }

    /// Maps the whole file open as `fd`; nil if it is empty or cannot be mapped.
    init?(_ fd: FileDescriptor) {
        guard let size = try? fd.size(), size > 0,
            let address = mmap(nil, Int(size), PROT_READ, MAP_SHARED, fd.rawValue, 0), address != MAP_FAILED
        else { return nil }
        bytes = UnsafeRawBufferPointer(start: address, count: Int(size))
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}

/// A segment read through a memory mapping (a reader's index view of a segment keeps one while the file is
/// unchanged): a read is a copy, with no system call. Every copy is guarded (`CGuardedCopy`): a file truncated
/// under the mapping (a writer cutting a torn tail at open, anything else), or a disk that fails to fill a page,
/// is an I/O error of that read, as it is for `pread`, instead of SIGBUS.
///
/// A segment is never rewritten in place (redaction writes a new file and renames it over; the mapping keeps
/// reading the file it mapped, which the reader's identity checks then drop); the active one only grows past what
/// the mapping covers, which its view does not know of either.
final class MappedSegmentBytes: ByteSource {
    let path: String
    private let mapping: MappedFile
    /// The identity of the file mapped.
    let file: FileIdentity

    /// Maps the file `fd` (at `path`) if guarded copies are available here; nil otherwise.
    init?(_ fd: FileDescriptor, path: String) {
        guard auditlog_guarded_copy_available() == 1, let identity = try? fd.identity(), let mapping = MappedFile(fd)
        else { return nil }
        self.path = path
        self.mapping = mapping
        file = identity
    }

    func size() -> Int64 { Int64(mapping.bytes.count) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(AuditLogError) -> Int {
        guard offset >= 0, offset < Int64(mapping.bytes.count), buffer.count > 0 else { return 0 }
        let n = min(buffer.count, mapping.bytes.count - Int(offset))
        guard auditlog_guarded_copy(buffer.baseAddress!, mapping.bytes.baseAddress! + Int(offset), n) == 0 else {
            throw AuditLogError(
                .io,
                "the segment could not be read here: it was truncated under the reader, or the disk failed; "
                    + "run `auditlog verify`", path: path, offset: offset, errno: EIO)
        }
        return n
    }
}
