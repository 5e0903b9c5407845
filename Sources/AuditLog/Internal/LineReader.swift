#if canImport(Glibc)
    import Glibc
#endif

/// Reads newline-separated lines from a file descriptor in large chunks, without ever holding more than
/// `maxLineBytes` of one line: a longer line is skipped to its end and reported, so hostile input cannot
/// exhaust memory.
final class LineReader {
    enum Line {
        /// A line's bytes, without the `\n` or `\r\n`; valid only inside the callback.
        case text(UnsafeRawBufferPointer)
        /// A line longer than the limit, of at least this many bytes.
        case tooLong(Int)
    }

    private let file: FileDescriptor
    private let maxLineBytes: Int
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// Bytes read so far, for progress.
    private(set) var bytesRead: Int64 = 0

    init(file: FileDescriptor, maxLineBytes: Int) {
        self.file = file
        self.maxLineBytes = maxLineBytes
        buffer = .allocate(byteCount: max(4 << 20, maxLineBytes + 1), alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Calls `body` with each line and its 1-based number until the input ends or `body` returns false.
    /// - Throws: ``AuditLogError/Code/io`` with the `errno` of a failed read.
    func forEachLine(_ body: (Int, Line) throws(AuditLogError) -> Bool) throws(AuditLogError) {
        var lineNumber = 0
        var skipping = 0  // > 0 while discarding the rest of an overlong line
        while true {
            let searchFrom = start
            let available = end - searchFrom
            let newline =
                available > 0 ? memchr(buffer.baseAddress! + searchFrom, 0x0A, available) : nil
            if let newline {
                let lineEnd = buffer.baseAddress!.distance(to: newline)
                let lineStart = start
                start = lineEnd + 1
                lineNumber += 1
                if skipping > 0 {
                    let total = skipping + (lineEnd - lineStart)
                    skipping = 0
                    if try !body(lineNumber, .tooLong(total)) { return }
                    continue
                }
                if lineEnd - lineStart > maxLineBytes {
                    if try !body(lineNumber, .tooLong(lineEnd - lineStart)) { return }
                    continue
                }
                var textEnd = lineEnd
                if textEnd > lineStart && buffer[textEnd - 1] == 0x0D { textEnd -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: buffer[lineStart..<textEnd])
                if try !body(lineNumber, .text(line)) { return }
                continue
            }
            if atEOF {
                guard end > start || skipping > 0 else { return }
                lineNumber += 1
                let count = end - start
                let lineStart = start
                start = end
                if skipping > 0 || count > maxLineBytes {
                    _ = try body(lineNumber, .tooLong(skipping + count))
                } else {
                    var textEnd = end
                    if textEnd > lineStart && buffer[textEnd - 1] == 0x0D { textEnd -= 1 }
                    _ = try body(lineNumber, .text(UnsafeRawBufferPointer(rebasing: buffer[lineStart..<textEnd])))
                }
                return
            }
            // No newline in the buffered bytes: make room and read more.
            if end - start > maxLineBytes {
                // The current line is already over the limit: drop what we have of it.
                skipping += end - start
                start = 0
                end = 0
            } else if start > 0 {
                let count = end - start
                if count > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, count) }
                start = 0
                end = count
            }
            let n = read(file.rawValue, buffer.baseAddress! + end, buffer.count - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw AuditLogError(.io, "read failed", path: file.path, errno: errno)
            }
            if n == 0 { atEOF = true }
            end += n
            bytesRead += Int64(n)
        }
    }
}
