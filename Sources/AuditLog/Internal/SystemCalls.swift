#if canImport(Glibc)
    import Glibc
#endif
// `timespec` is declared by the C library headers, which the toolchain's SwiftOverlayShims module also includes;
// which module the compiler attributes it to depends on the order modules load, so with MemberImportVisibility its
// members need both imports (the compiler's own fix-it).
#if canImport(SwiftOverlayShims)
    import SwiftOverlayShims
#endif

// Every system call of the library goes through this file, with the EINTR retry in one place.

@inline(__always)
func retryOnInterrupt<T: FixedWidthInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

func ioError(_ message: String, path: String, errno code: Int32 = errno) -> AuditLogError {
    AuditLogError(.io, message, path: path, errno: code)
}

/// An owned file descriptor, closed when the last reference goes away.
final class FileDescriptor: ByteSource, @unchecked Sendable {
    let rawValue: Int32
    let path: String
    /// False for descriptors the process was given (standard input): they are not closed here.
    private let owned: Bool

    private init(rawValue: Int32, path: String, owned: Bool = true) {
        self.rawValue = rawValue
        self.path = path
        self.owned = owned
    }

    deinit { if owned { _ = close(rawValue) } }

    /// Asks the kernel to start reading `range` into memory (`posix_fadvise`, WILLNEED): a hint, so its errors are
    /// ignored.
    func willRead(_ range: Range<Int64>) {
        guard range.lowerBound >= 0, !range.isEmpty else { return }
        _ = posix_fadvise(rawValue, off_t(range.lowerBound), off_t(range.count), POSIX_FADV_WILLNEED)
    }

    /// The process's standard input.
    static let standardInput = FileDescriptor(rawValue: 0, path: "standard input", owned: false)

    /// Opens an input file (any file the user names, symbolic links allowed) for reading.
    static func openInput(_ path: String) throws(AuditLogError) -> FileDescriptor {
        let fd = retryOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            let code = errno
            throw AuditLogError(code == ENOENT ? .notFound : .io, "cannot open input", path: path, errno: code)
        }
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// Opens an existing file read-only. Refuses symbolic links.
    static func openForReading(_ path: String) throws(AuditLogError) -> FileDescriptor {
        let fd = retryOnInterrupt { open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw AuditLogError(.notFound, "no such file", path: path, errno: code) }
            throw ioError("cannot open for reading", path: path, errno: code)
        }
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// Opens a file for reading and writing, creating it owner-only (0600) when `create` is set.
    static func openForWriting(_ path: String, create: Bool, exclusive: Bool = false) throws(AuditLogError)
        -> FileDescriptor
    {
        var flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW
        if create { flags |= O_CREAT }
        if exclusive { flags |= O_EXCL }
        let fd = retryOnInterrupt { open(path, flags, S_IRUSR | S_IWUSR) }
        guard fd >= 0 else { throw ioError("cannot open for writing", path: path) }
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// Opens a directory so that it can be fsynced or locked.
    static func openDirectory(_ path: String) throws(AuditLogError) -> FileDescriptor {
        let fd = retryOnInterrupt { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW) }
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw AuditLogError(.notFound, "no such directory", path: path, errno: code) }
            throw ioError("cannot open directory", path: path, errno: code)
        }
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// The file's size in bytes. The corresponding C function is `fstat`.
    func size() throws(AuditLogError) -> Int64 {
        var info = stat()
        guard fstat(rawValue, &info) == 0 else { throw ioError("cannot stat", path: path) }
        return Int64(info.st_size)
    }

    /// The file's inode number (`fstat`).
    func inode() throws(AuditLogError) -> UInt64 {
        var info = stat()
        guard fstat(rawValue, &info) == 0 else { throw ioError("cannot stat", path: path) }
        return UInt64(info.st_ino)
    }

    /// What tells this file from another that took its place by rename (`fstat`): its inode number, which a new
    /// file may reuse once the old one is gone, and its status-change time (set when a file is created, written or
    /// renamed), which it will not share.
    func identity() throws(AuditLogError) -> FileIdentity {
        var info = stat()
        guard fstat(rawValue, &info) == 0 else { throw ioError("cannot stat", path: path) }
        return FileIdentity(info)
    }

    /// Reads up to `count` bytes at `offset`; returns fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(AuditLogError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = retryOnInterrupt {
                pread(rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            if n < 0 { throw AuditLogError(.io, "read failed", path: path, offset: offset + Int64(done), errno: errno) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `offset`. The corresponding C function is `pwrite`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(AuditLogError) {
        #if AUDITLOG_FAULT_INJECTION
            if let fault = FaultInjection.writeFault(fd: rawValue, path: path, bytes: bytes, at: offset) {
                _ = pwrite(rawValue, bytes.baseAddress!, fault.prefix, off_t(offset))
                throw AuditLogError(.io, "write failed", path: path, offset: offset, errno: fault.errno)
            }
        #endif
        var done = 0
        while done < bytes.count {
            let n = retryOnInterrupt {
                pwrite(rawValue, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                throw AuditLogError(.io, "write failed", path: path, offset: offset + Int64(done), errno: errno)
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8], at offset: Int64) throws(AuditLogError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(AuditLogError) in try write(buffer, at: offset) }
        }.get()
    }

    /// Flushes the file's data (and the metadata needed to read it) to stable storage.
    func synchronizeData() throws(AuditLogError) {
        #if AUDITLOG_FAULT_INJECTION
            guard !FaultInjection.syncFails(path: path) else {
                throw ioError("fdatasync failed", path: path, errno: EIO)
            }
        #endif
        guard retryOnInterrupt({ fdatasync(rawValue) }) == 0 else { throw ioError("fdatasync failed", path: path) }
    }

    /// Flushes data and all metadata; used for directories.
    func synchronize() throws(AuditLogError) {
        #if AUDITLOG_FAULT_INJECTION
            guard !FaultInjection.syncFails(path: path) else { throw ioError("fsync failed", path: path, errno: EIO) }
        #endif
        guard retryOnInterrupt({ fsync(rawValue) }) == 0 else { throw ioError("fsync failed", path: path) }
    }

    func truncate(to length: Int64) throws(AuditLogError) {
        guard retryOnInterrupt({ ftruncate(rawValue, off_t(length)) }) == 0 else {
            throw AuditLogError(.io, "truncate failed", path: path, offset: length, errno: errno)
        }
    }

    /// Takes an exclusive advisory lock without waiting; returns false when another holder has it.
    func tryLockExclusive() throws(AuditLogError) -> Bool {
        if retryOnInterrupt({ flock(rawValue, LOCK_EX | LOCK_NB) }) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw ioError("flock failed", path: path)
    }

    /// Takes an exclusive advisory lock, waiting for other holders.
    func lockExclusive() throws(AuditLogError) {
        guard retryOnInterrupt({ flock(rawValue, LOCK_EX) }) == 0 else { throw ioError("flock failed", path: path) }
    }

    /// Releases a lock taken with ``tryLockExclusive()``.
    func unlock() {
        _ = retryOnInterrupt { flock(rawValue, LOCK_UN) }
    }
}

/// Directory and path operations.
package enum FileSystem {
    /// The suffix of a file being written aside before it is renamed into place; such files are leftovers of an
    /// interrupted write wherever they are found.
    static let temporarySuffix = ".tmp"

    /// Whether `path` exists (without following a final symbolic link).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates an owner-only (0700) directory; succeeds if it already is a directory.
    static func createDirectory(_ path: String) throws(AuditLogError) {
        if mkdir(path, S_IRWXU) == 0 { return }
        let code = errno
        if code == EEXIST && isDirectory(path) { return }
        throw ioError("cannot create directory", path: path, errno: code)
    }

    /// The names in a directory, without `.` and `..`.
    static func contents(of path: String) throws(AuditLogError) -> [String] {
        guard let dir = opendir(path) else {
            let code = errno
            if code == ENOENT { throw AuditLogError(.notFound, "no such directory", path: path, errno: code) }
            throw ioError("cannot list directory", path: path, errno: code)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func rename(_ from: String, to: String) throws(AuditLogError) {
        guard Glibc.rename(from, to) == 0 else { throw ioError("cannot rename to \(to)", path: from) }
    }

    static func remove(_ path: String) throws(AuditLogError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw ioError("cannot remove", path: path) }
    }

    /// Writes `bytes` as a new file `path.tmp` (replacing a stale one), fdatasynced if `sync`, and returns its
    /// path: the first half of replacing `path` by rename.
    static func writeAside(_ bytes: [UInt8], for path: String, sync: Bool) throws(AuditLogError) -> String {
        let temporary = path + temporarySuffix
        try remove(temporary)
        let fd = try FileDescriptor.openForWriting(temporary, create: true, exclusive: true)
        try fd.write(bytes, at: 0)
        if sync { try fd.synchronizeData() }
        return temporary
    }

    /// ``writeAtomically(_:to:directoryFD:)`` for a file outside a log (the export bookmark of `auditlog export`).
    package static func replaceFile(_ path: String, with bytes: [UInt8]) throws(AuditLogError) {
        let directory = try FileDescriptor.openDirectory(parent(of: path))
        let aside = try writeAside(bytes, for: path, sync: true)
        FaultInjection.crashPoint("file-written-aside")
        try rename(aside, to: path)
        try directory.synchronize()
    }

    /// Writes `bytes` to `path` crash-safely: aside, fdatasynced, renamed over `path`, directory fsynced. A crash
    /// leaves the old file or the new one (and at worst a `.tmp` file, removed on open).
    static func writeAtomically(_ bytes: [UInt8], to path: String, directoryFD: FileDescriptor) throws(AuditLogError) {
        try rename(try writeAside(bytes, for: path, sync: true), to: path)
        try directoryFD.synchronize()
    }

    /// The directory that contains `path` (`.` for a bare name).
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Size of a regular file, or nil if it does not exist.
    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// The inode number of `path`, or nil if it does not exist: tells a file replaced by rename from the old one.
    static func inode(_ path: String) -> UInt64? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// The inode and status-change time of `path` (``FileDescriptor/identity()``), or nil if it does not exist.
    static func identity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileIdentity(info)
    }

    /// A directory's identity and when its entries last changed (milliseconds since the epoch), or nil.
    static func directoryState(_ path: String) -> (inode: UInt64, device: UInt64, modified: Int64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (
            UInt64(info.st_ino), UInt64(info.st_dev),
            Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
        )
    }

    /// Whether `path` is a regular file (not a symbolic link or anything else).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}

/// Wall-clock time in milliseconds since the Unix epoch.
func currentTimeMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC), for durations.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// A file's inode and status-change time (``FileDescriptor/identity()``).
struct FileIdentity: Equatable, Sendable {
    var inode: UInt64
    /// Nanoseconds since the epoch.
    var changed: Int64

    init(_ info: stat) {
        inode = UInt64(info.st_ino)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }
}
