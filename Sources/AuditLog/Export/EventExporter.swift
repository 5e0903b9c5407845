/// What an export wrote.
public struct ExportSummary: Sendable, Equatable {
    /// Events written.
    public var events: Int
    /// Bytes written, header and footer included.
    public var bytes: Int64
    /// Seq of the last event written, nil when none was.
    public var lastSeq: UInt64?

    public init(events: Int, bytes: Int64, lastSeq: UInt64?) {
        self.events = events
        self.bytes = bytes
        self.lastSeq = lastSeq
    }
}

extension AuditLogReader {
    /// Streams the events matching `query` (its filters and order; limit and cursor are ignored) in `format`
    /// (FORMAT.md, "Exports"), in constant memory: `write` receives the bytes in chunks of about 64 KiB, and can
    /// stop the export early by returning false.
    ///
    /// Every format is written straight from the stored records, several times faster than decoding each event
    /// first (filters are compared with the record's bytes too); the bytes are those
    /// ``ExportEncoder/append(_:to:)`` writes for the decoded events.
    /// - Parameter progress: Called every few thousand events with the number written so far.
    @discardableResult
    public func export(
        matching query: Query, format: ExportEncoder.Format, mapping: SIEMMapping = SIEMMapping(),
        progress: ((Int) -> Void)? = nil,
        to write: (UnsafeRawBufferPointer) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) -> ExportSummary {
        var out = ExportBuffer()
        var encoder = ExportEncoder(format: format, mapping: mapping)
        var summary = ExportSummary(events: 0, bytes: 0, lastSeq: nil)
        encoder.header(to: &out.bytes)
        let engine = try QueryEngine(directory: directory, indexes: indexes)
        let directory = self.directory
        let filter = RecordFilter(query)
        try engine.scan(
            query, after: nil, leafHashes: true,
            produce: { (seq, record, leafHash) throws(AuditLogError) -> UInt64? in
                // Written straight into the output: the fields are checked before the first byte is.
                guard filter.matches(record: record), let leafHash else { return nil }
                do throws(DecodeFailure) {
                    let fields = try RecordFields(record)
                    encoder.append(fields, leafHash: leafHash, to: &out.bytes)
                } catch {
                    throw AuditLogError(.corrupt, "record \(seq): \(error.reason)", path: directory)
                }
                return seq
            },
            { (seq) throws(AuditLogError) in
                summary.events += 1
                summary.lastSeq = seq
                if summary.events & 0xFFF == 0 { progress?(summary.events) }
                return try out.flushIfFull(write)
            })
        if out.stopped { return summary }
        encoder.footer(to: &out.bytes)
        _ = try out.flush(write)
        summary.bytes = out.total
        return summary
    }
}

/// Collects export bytes and hands them on in chunks.
private struct ExportBuffer {
    typealias Write = (UnsafeRawBufferPointer) throws(AuditLogError) -> Bool
    static let chunkSize = 64 << 10
    var bytes = ByteBuffer(capacity: Self.chunkSize + 8192)
    var total: Int64 = 0
    var stopped = false

    /// Whether to go on.
    mutating func flushIfFull(_ write: Write) throws(AuditLogError) -> Bool {
        bytes.count >= Self.chunkSize ? try flush(write) : true
    }

    mutating func flush(_ write: Write) throws(AuditLogError) -> Bool {
        guard bytes.count > 0 else { return true }
        total += Int64(bytes.count)
        let go = try bytes.withUnsafeBytes { raw in
            Result { () throws(AuditLogError) in try write(raw) }
        }.get()
        bytes.removeAll()
        stopped = !go
        return go
    }
}
