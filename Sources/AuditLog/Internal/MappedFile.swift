#if canImport(Glibc)
    import Glibc
#endif

/// A read-only memory mapping of a whole file. Index files are only ever appended to or replaced by rename,
/// never truncated in place, so a mapping cannot fault (a file truncated under a mapping raises SIGBUS).
final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    /// Maps `path`; nil if it does not exist or is empty.
    init?(path: String) {
        guard let fd = try? FileDescriptor.openForReading(path), let size = try? fd.size(), size > 0,
            let address = mmap(nil, Int(size), PROT_READ, MAP_SHARED, fd.rawValue, 0), address != MAP_FAILED
        else { return nil }
        bytes = UnsafeRawBufferPointer(start: address, count: Int(size))
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}
