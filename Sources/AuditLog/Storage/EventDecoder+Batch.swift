extension EventDecoder {
    /// How a batch of events is written.
    public enum BatchFormat: Sendable {
        /// One event object per line (blank lines are skipped).
        case jsonLines
        /// One event object, or a JSON array of event objects.
        case json
    }

    /// Decodes and validates every event of a batch, all or nothing: the first bad event throws
    /// ``AuditLogError/Code/invalidEvent`` with the 1-based ``AuditLogError/line`` where it starts and the field,
    /// and no event is returned.
    public func decodeBatch(_ bytes: UnsafeRawBufferPointer, format: BatchFormat) throws(AuditLogError)
        -> [AuditEvent]
    {
        var events: [AuditEvent] = []
        try forEachEvent(in: bytes, format: format) { (json) throws(AuditLogError) in events.append(try decode(json)) }
        return events
    }

    /// Calls `body` with the bytes of each event of a batch, in order; an error is located at its line.
    func forEachEvent(
        in bytes: UnsafeRawBufferPointer, format: BatchFormat,
        _ body: (UnsafeRawBufferPointer) throws(AuditLogError) -> Void
    ) throws(AuditLogError) {
        switch format {
        case .jsonLines: try forEachLine(bytes, body)
        case .json: try forEachElement(bytes, body)
        }
    }

    private func forEachLine(
        _ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(AuditLogError) -> Void
    ) throws(AuditLogError) {
        var line = 0
        var start = 0
        while start < bytes.count {
            line += 1
            var end = bytes.count
            if let newline = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) {
                end = UnsafeRawPointer(newline) - bytes.baseAddress!
            }
            var textEnd = end
            if textEnd > start && bytes[textEnd - 1] == 0x0D { textEnd -= 1 }
            let text = UnsafeRawBufferPointer(rebasing: bytes[start..<textEnd])
            if !text.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                do throws(AuditLogError) {
                    try body(text)
                } catch {
                    throw error.at(line: line)
                }
            }
            start = end + 1
        }
    }

    private func forEachElement(
        _ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(AuditLogError) -> Void
    ) throws(AuditLogError) {
        var scanner = JSONScanner(bytes, maxDepth: limits.maxNestingDepth + 3)
        func lineNumber(at offset: Int) -> Int {
            1 + bytes[0..<min(offset, bytes.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        guard scanner.peek() == UInt8(ascii: "[") else {
            let start = scanner.position
            do throws(AuditLogError) {
                return try body(bytes)
            } catch {
                throw error.line == nil ? error.at(line: lineNumber(at: start)) : error
            }
        }
        scanner.position += 1
        var count = 0
        var scratch: [UInt8] = []
        if scanner.consume(UInt8(ascii: "]")) { return }
        repeat {
            _ = scanner.peek()
            let start = scanner.position
            let line = lineNumber(at: start)
            scratch.removeAll(keepingCapacity: true)
            do throws(JSONScanner.SyntaxError) {
                try scanner.copyCanonicalValue(into: &scratch)
            } catch {
                throw AuditLogError(
                    .invalidEvent, "event \(count + 1): invalid JSON at byte \(error.offset): \(error.reason)",
                    line: lineNumber(at: error.offset))
            }
            do throws(AuditLogError) {
                try body(UnsafeRawBufferPointer(rebasing: bytes[start..<scanner.position]))
                count += 1
            } catch {
                throw error.prefixed("event \(count + 1) of the array: ").at(line: line)
            }
        } while scanner.consume(UInt8(ascii: ","))
        guard scanner.consume(UInt8(ascii: "]")) else {
            throw AuditLogError(
                .invalidEvent, "expected ',' or ']' after event \(count), found \(scanner.found())",
                line: lineNumber(at: scanner.position))
        }
        guard scanner.peek() == nil else {
            throw AuditLogError(
                .invalidEvent, "unexpected data after the array", line: lineNumber(at: scanner.position))
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
