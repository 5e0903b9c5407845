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
    /// (FORMAT.md, "Exports"), in constant memory: `write` receives the bytes in chunks of 64 KiB or a little
    /// more, and can stop the export early by returning false.
    ///
    /// Every format is written straight from the stored records, several times faster than decoding each event
    /// first (filters are compared with the record's bytes too); the bytes are those
    /// ``ExportEncoder/append(_:to:)`` writes for the decoded events. With `parallel` (the default), a second
    /// thread transcodes part of each large enough block's records while the calling thread does the rest, so a
    /// big export takes two cores (JSON arrays excepted); the output is the same byte for byte.
    /// - Parameter progress: Called every few thousand events with the number written so far.
    @discardableResult
    public func export(
        matching query: Query, format: ExportEncoder.Format, mapping: SIEMMapping = SIEMMapping(),
        parallel: Bool = true, progress: ((Int) -> Void)? = nil,
        to write: (UnsafeRawBufferPointer) throws(AuditLogError) -> Bool
    ) throws(AuditLogError) -> ExportSummary {
        var out = ExportBuffer()
        var main = BlockTranscoder(format: format, mapping: mapping, filter: RecordFilter(query))
        var summary = ExportSummary(events: 0, bytes: 0, lastSeq: nil)
        main.encoder.header(to: &out.bytes)
        let engine = try QueryEngine(directory: directory, indexes: indexes)
        // A JSON array's separators depend on what came before, so its entries are written on one thread. The
        // helper starts with the first block big enough to share (not at all for a small export, or a follower's
        // poll).
        let shared = parallel && format != .jsonArray
        var helper: TranscodeHelper?
        defer { helper?.stop() }
        // The helper's share of a shared block, in 64ths: moved a step at every block towards the split where both
        // threads finish together. The calling thread also reads and decompresses the blocks and hands the bytes on,
        // so the helper's best share grows with the output's size (for JSON Lines to a file ~ 3/4, OCSF ~ 7/8).
        var helperShare = 40
        /// Whether the helper holds the end of the block before (its bytes come before anything of this block).
        var helperBusy = false
        let directory = self.directory
        func count(_ result: BlockTranscoder.Result) throws(AuditLogError) {
            summary.events += result.events
            if let last = result.lastSeq { summary.lastSeq = last }
            if let failure = result.failure {
                throw AuditLogError(.corrupt, "record \(failure.seq): \(failure.reason)", path: directory)
            }
        }
        /// Waits for the helper's part of the block before, appends its bytes and counts them.
        func collect() throws(AuditLogError) {
            guard helperBusy, let second = helper else { return }
            helperBusy = false
            let (rest, helperWaited) = second.finish(into: &out.bytes)
            helperShare = helperWaited ? min(helperShare + 1, 64) : max(helperShare - 1, 16)
            try count(rest)
        }
        try engine.forEachBlock(query, after: nil) { (payload, found) throws(AuditLogError) -> Bool in
            let before = summary.events
            try collect()
            if shared && found.count >= TranscodeHelper.minimumRecords {
                if helper == nil { helper = try TranscodeHelper(main) }
                guard let second = helper else { return false }
                // An even split keeps leaf hashes in pairs. The helper takes a copy of its records, so it goes on
                // while this thread reads and decompresses the next block; its bytes are collected then.
                let split = found.count * (64 - helperShare) / 64 & ~1
                second.start(payload, found[split...])
                helperBusy = true
                // The bytes of the blocks before go out while the helper works: they are all in `out`, and what
                // this block adds comes after them.
                guard try out.flushIfFull(write) else {
                    _ = second.finish(into: &out.bytes, keep: false)
                    helperBusy = false
                    return false
                }
                try count(main.transcode(payload, found[..<split], using: engine.hasher, into: &out.bytes))
            } else {
                guard try out.flushIfFull(write) else { return false }
                try count(main.transcode(payload, found[...], using: engine.hasher, into: &out.bytes))
            }
            if let progress, summary.events >> 12 != before >> 12 { progress(summary.events) }
            return true
        }
        try collect()
        if out.stopped {
            summary.bytes = out.total
            return summary
        }
        main.encoder.footer(to: &out.bytes)
        _ = try out.flush(write)
        summary.bytes = out.total
        return summary
    }
}

/// Turns records of a block into export entries: the byte filter, leaf hashes two at a time, the fields checked,
/// then the entry. One per thread of an export.
struct BlockTranscoder {
    var encoder: ExportEncoder
    let filter: RecordFilter

    /// What a run over some records wrote.
    struct Result {
        var events = 0
        var lastSeq: UInt64?
        /// The first record that would not decode: nothing of it or after it was written.
        var failure: (seq: UInt64, reason: String)?
    }

    init(format: ExportEncoder.Format, mapping: SIEMMapping, filter: RecordFilter) {
        encoder = ExportEncoder(format: format, mapping: mapping)
        self.filter = filter
    }

    /// Appends the entries of the matching records among `records` (offsets into `payload`) to `out`, in order.
    mutating func transcode(
        _ payload: UnsafeRawBufferPointer, _ records: ArraySlice<(seq: UInt64, bytes: Range<Int>)>,
        using hasher: MerkleHasher, into out: inout ByteBuffer
    ) -> Result {
        var result = Result()
        var i = records.startIndex
        /// The next matching record from `i` on.
        func next() -> (seq: UInt64, record: UnsafeRawBufferPointer)? {
            while i < records.endIndex {
                let (seq, bytes) = records[i]
                i += 1
                let record = UnsafeRawBufferPointer(rebasing: payload[bytes])
                if filter.matches(record: record) { return (seq, record) }
            }
            return nil
        }
        func entry(_ seq: UInt64, _ record: UnsafeRawBufferPointer, _ leafHash: SHA256Hash) -> Bool {
            do throws(DecodeFailure) {
                let fields = try RecordFields(record)
                encoder.append(fields, leafHash: leafHash, to: &out)
            } catch {
                result.failure = (seq, error.reason)
                return false
            }
            result.events += 1
            result.lastSeq = seq
            return true
        }
        while let a = next() {
            guard let b = next() else {
                _ = entry(a.seq, a.record, RecordCodec.leafHash(of: a.record, using: hasher))
                break
            }
            let (hashA, hashB) = RecordCodec.leafHashes(of: a.record, b.record, using: hasher)
            guard entry(a.seq, a.record, hashA), entry(b.seq, b.record, hashB) else { break }
        }
        return result
    }
}

/// The second thread of an export: transcodes a copy of the part of a block it is given into its own buffer while
/// the caller does the rest and reads the next block, then hands its bytes over (``finish(into:keep:)``).
private final class TranscodeHelper: @unchecked Sendable {
    // @unchecked: the fields below are the helper thread's between `start` and `finish`, the caller's otherwise
    // (``HelperThread`` orders the two).
    /// Blocks with fewer candidate records are done on the calling thread alone (the hand-over costs more).
    static let minimumRecords = 32

    /// Polls rather than sleeps between blocks: hand-overs come every ~100 us, and waking a sleeping thread costs
    /// nearly that much on a VM.
    private let thread = HelperThread(spinMicroseconds: 200)
    /// The bytes of the records handed over (a copy: the caller's block buffer is refilled meanwhile), and where in
    /// them each record lies.
    private var payload: [UInt8] = []
    private var records: [(seq: UInt64, bytes: Range<Int>)] = []
    private var result = BlockTranscoder.Result()
    private var transcoder: BlockTranscoder
    private var output = ByteBuffer(capacity: 256 << 10)
    private let hasher: MerkleHasher  // its own: a hasher keeps a digest context
    /// Whether the job runs on the helper thread (else `start` ran it, if the thread could not start).
    private var onThread = false

    init(_ main: BlockTranscoder) throws(AuditLogError) {
        transcoder = main
        transcoder.encoder.resetCount(to: 1)  // never the first entry: the caller's half of the block comes first
        hasher = try MerkleHasher()
    }

    /// Copies `records` of `payload` and starts transcoding them; call ``finish(into:keep:)`` before the next.
    func start(_ payload: UnsafeRawBufferPointer, _ records: ArraySlice<(seq: UInt64, bytes: Range<Int>)>) {
        // The records lie in one span of the payload, ascending or descending by the query's order.
        let from = records.lazy.map(\.bytes.lowerBound).min() ?? 0
        let to = records.lazy.map(\.bytes.upperBound).max() ?? 0
        self.payload.removeAll(keepingCapacity: true)
        self.payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[from..<max(from, to)]))
        self.records.removeAll(keepingCapacity: true)
        for (seq, bytes) in records { self.records.append((seq, bytes.lowerBound - from..<bytes.upperBound - from)) }
        onThread = thread.start { self.run() }
        if !onThread { run() }
    }

    /// Waits for the helper's part and appends its bytes to `out` (unless not `keep`); also says whether the
    /// helper had finished before this was called (it waited, so it could take more).
    func finish(into out: inout ByteBuffer, keep: Bool = true) -> (BlockTranscoder.Result, helperWaited: Bool) {
        let waited = onThread ? thread.wait() : true
        if keep { output.withUnsafeBytes { out.append(bytes: $0) } }
        return (result, waited)
    }

    func stop() { thread.stop() }

    private func run() {
        output.removeAll()
        result = payload.withUnsafeBytes { raw in
            transcoder.transcode(raw, records[...], using: hasher, into: &output)
        }
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
