import AuditLog

#if canImport(Glibc)
    import Glibc
#endif
// `stat` comes from the C headers SwiftOverlayShims includes too (see AuditLog's SystemCalls.swift).
#if canImport(SwiftOverlayShims)
    import SwiftOverlayShims
#endif

/// Buffered output to stdout or to a file. A file is written as `NAME.partial` (owner-only, since audit
/// data is personal data) and renamed into place only when complete, so a failed export leaves no
/// half-file under the final name. A path that names something other than a file (`/dev/null`, a FIFO, a
/// terminal) is written in place: renaming over it would replace it.
package final class OutputFile {
    private let fd: Int32
    private let finalPath: String?
    /// The partial file, until it is renamed into place.
    private var partialPath: String?
    /// A device or FIFO opened by path, closed at the end.
    private var special = false
    private(set) var buffer: [UInt8] = []
    package private(set) var bytesWritten: Int64 = 0
    private let flushThreshold = 1 << 20

    /// Standard output.
    package init() {
        fd = 1
        finalPath = nil
        partialPath = nil
        buffer.reserveCapacity(flushThreshold + 65536)
    }

    /// A new file at `path` (`-` means standard output).
    package init(path: String) throws(AuditLogError) {
        guard path != "-" else {
            fd = 1
            finalPath = nil
            partialPath = nil
            return
        }
        var status = stat()
        if stat(path, &status) == 0 && status.st_mode & S_IFMT != S_IFREG {
            guard status.st_mode & S_IFMT != S_IFDIR else {
                throw AuditLogError(.invalidArgument, "the output is a directory; name a file in it", path: path)
            }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw AuditLogError(.io, "cannot open output", path: path, errno: errno) }
            self.fd = fd
            finalPath = nil
            partialPath = nil
            special = true
            buffer.reserveCapacity(flushThreshold + 65536)
            return
        }
        let partial = path + ".partial"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR)
        guard fd >= 0 else { throw AuditLogError(.io, "cannot create output file", path: partial, errno: errno) }
        self.fd = fd
        finalPath = path
        partialPath = partial
        buffer.reserveCapacity(flushThreshold + 65536)
    }

    deinit {
        // Still set only when `finish` was not reached: remove the incomplete file.
        if let partialPath {
            close(fd)
            unlink(partialPath)
        }
        if special { close(fd) }
    }

    /// Appends through `body`, flushing when the buffer is large.
    @inline(__always)
    package func append(_ body: (inout [UInt8]) -> Void) throws(AuditLogError) {
        body(&buffer)
        if buffer.count >= flushThreshold { try flush() }
    }

    /// Writes `bytes`: a large chunk straight through when nothing is buffered, else buffered.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(AuditLogError) {
        guard buffer.isEmpty && bytes.count >= 1 << 16 else {
            try append { $0.append(contentsOf: bytes) }
            return
        }
        guard Console.writeAll(fd, bytes) else {
            throw AuditLogError(.io, "cannot write output", path: partialPath ?? "standard output", errno: errno)
        }
        bytesWritten += Int64(bytes.count)
    }

    package func flush() throws(AuditLogError) {
        guard !buffer.isEmpty else { return }
        guard Console.writeAll(fd, buffer) else {
            throw AuditLogError(.io, "cannot write output", path: partialPath ?? "standard output", errno: errno)
        }
        bytesWritten += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and moves a file output into place.
    package func finish() throws(AuditLogError) {
        try flush()
        guard let partialPath, let finalPath else { return }
        guard fsync(fd) == 0 else { throw AuditLogError(.io, "cannot sync output", path: partialPath, errno: errno) }
        guard rename(partialPath, finalPath) == 0 else {
            throw AuditLogError(.io, "cannot rename output into place", path: finalPath, errno: errno)
        }
        close(fd)
        self.partialPath = nil
    }
}
