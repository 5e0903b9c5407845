#if canImport(Glibc)
    import Glibc
#endif
#if canImport(SwiftOverlayShims)
    import SwiftOverlayShims  // for `timespec`'s members; see SystemCalls.swift
#endif

/// Small owner-only files kept beside a log by the service (API keys, idempotency records): read whole, replaced
/// crash-safely, appended to, and guarded by an advisory lock between processes. For sibling targets only.
package enum SidecarFile {
    /// The whole file, or nil when it does not exist.
    package static func read(_ path: String) throws(AuditLogError) -> [UInt8]? {
        guard FileSystem.exists(path) else { return nil }
        let fd = try FileDescriptor.openForReading(path)
        return try fd.read(count: Int(try fd.size()), at: 0)
    }

    /// Replaces the file with `bytes`: written aside (0600), fdatasynced, renamed, the directory fsynced.
    package static func replace(_ path: String, with bytes: [UInt8]) throws(AuditLogError) {
        try FileSystem.writeAtomically(
            bytes, to: path, directoryFD: try FileDescriptor.openDirectory(FileSystem.parent(of: path)))
    }

    /// Appends `bytes` (creating the file, 0600), fdatasynced when `sync`.
    package static func append(_ path: String, _ bytes: [UInt8], sync: Bool) throws(AuditLogError) {
        let fd = try FileDescriptor.openForWriting(path, create: true)
        try fd.write(bytes, at: try fd.size())
        if sync { try fd.synchronizeData() }
    }

    /// Runs `body` holding an exclusive `flock` on `lockPath` (created 0600), waiting for other holders.
    package static func withLock<T>(_ lockPath: String, _ body: () throws(AuditLogError) -> T) throws(AuditLogError)
        -> T
    {
        let fd = try FileDescriptor.openForWriting(lockPath, create: true)
        try fd.lockExclusive()
        defer { fd.unlock() }
        return try body()
    }

    /// (inode, size, modification time in ns) of the file: changes whenever it is replaced or appended to.
    package static func version(_ path: String) -> (UInt64, Int64, Int64)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (
            UInt64(info.st_ino), Int64(info.st_size),
            Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        )
    }
}
