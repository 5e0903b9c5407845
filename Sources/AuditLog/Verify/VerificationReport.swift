/// What `verify` found: valid, or each problem with its class and location.
public struct VerificationReport: Sendable, Equatable, Codable {
    /// The classes of integrity problems (FORMAT.md, "Verification").
    public enum ProblemKind: String, Sendable, CaseIterable, Codable {
        /// Bytes were changed: a checksum, leaf hash, stored root or frontier does not match.
        case modified
        /// A whole segment is gone: the seqs it held are missing between two segments, or before the first.
        case missingSegment = "missing_segment"
        /// The log ends before data that was committed: a sealed segment cut short, or fewer events than a
        /// checkpoint commits to (truncated or rolled back).
        case truncated
        /// A segment holds seqs that belong elsewhere (files swapped or renamed).
        case reordered
        /// A checkpoint is not signed by the given key.
        case badSignature = "bad_signature"
        /// The log's root at a checkpoint's tree size differs from the checkpoint's root.
        case inconsistentWithCheckpoint = "inconsistent_with_checkpoint"
        /// A record is redacted but no redaction event in the log covers it (or not for all the fields it lacks).
        case unrecordedRedaction = "unrecorded_redaction"
        /// A record a redaction event covers still holds fields it removes: the segment is older than the
        /// redaction (a copy or a bucket version from before it put back), or the redaction was never applied.
        case unappliedRedaction = "unapplied_redaction"
    }

    public struct Problem: Sendable, Equatable, Codable {
        public var kind: ProblemKind
        /// File name within the log directory (or the checkpoint file given).
        public var file: String?
        /// First bad byte, and how many bytes the bad entry spans.
        public var offset: Int64?
        public var length: Int64?
        /// The first seq affected.
        public var seq: UInt64?
        public var message: String

        public init(
            kind: ProblemKind, file: String?, offset: Int64?, length: Int64?, seq: UInt64?, message: String
        ) {
            self.kind = kind
            self.file = file
            self.offset = offset
            self.length = length
            self.seq = seq
            self.message = message
        }
    }

    public struct SegmentResult: Sendable, Equatable, Codable {
        public var file: String
        public var baseSeq: UInt64
        /// Seq after the last verified record.
        public var endSeq: UInt64
        public var bytes: Int64
        public var recordBytes: Int64
        public var sealed: Bool
        /// Bytes of an incomplete write at the end of the active segment (a crash; cut on the next open).
        public var incompleteTailBytes: Int64
        public var isValid: Bool

        public init(
            file: String, baseSeq: UInt64, endSeq: UInt64, bytes: Int64, recordBytes: Int64, sealed: Bool,
            incompleteTailBytes: Int64, isValid: Bool
        ) {
            self.file = file
            self.baseSeq = baseSeq
            self.endSeq = endSeq
            self.bytes = bytes
            self.recordBytes = recordBytes
            self.sealed = sealed
            self.incompleteTailBytes = incompleteTailBytes
            self.isValid = isValid
        }

        enum CodingKeys: String, CodingKey {
            case file, baseSeq, endSeq, bytes, recordBytes, sealed, incompleteTailBytes
            case isValid = "valid"
        }
    }

    public struct CheckpointResult: Sendable, Equatable, Codable {
        public enum Signature: String, Sendable, Codable {
            case valid, invalid
            case notChecked = "not_checked"
        }
        /// Where the checkpoint came from: a file in the log directory or given by the auditor.
        public var source: String
        public var checkpoint: Checkpoint?
        public var signature: Signature
        /// Whether the log contains the checkpoint's tree with the same root (nil if not checkable).
        public var consistent: Bool?

        public init(source: String, checkpoint: Checkpoint?, signature: Signature, consistent: Bool?) {
            self.source = source
            self.checkpoint = checkpoint
            self.signature = signature
            self.consistent = consistent
        }
    }

    public var directory: String
    public var segments: [SegmentResult] = []
    public var checkpoints: [CheckpointResult] = []
    public var problems: [Problem] = []
    /// Tree size and root recomputed from the records (up to the first problem).
    public var treeSize: UInt64 = 0
    public var root: SHA256Hash?
    public var recordBytes: Int64 = 0
    /// The first seq of the log when retention removed the events before it (each removal is recorded by an
    /// `auditlog.retention` event in the log); nil when the log starts at seq 0.
    public var prunedBelow: UInt64?
    /// Events redacted by a recorded redaction (their leaf hashes verified; their personal data erased).
    public var redactedEvents = 0
    public var seconds: Double = 0
    public var jobs = 1

    public var isValid: Bool { problems.isEmpty }

    /// Events in the verified segments.
    public var eventCount: UInt64 { segments.reduce(0) { $0 + ($1.endSeq - $1.baseSeq) } }

    /// An empty report of `directory`, to be filled in (verification builds one; so can test doubles).
    public init(directory: String) {
        self.directory = directory
    }

    enum CodingKeys: String, CodingKey {
        case valid, directory, treeSize, root, events, recordBytes, seconds, jobs, prunedBelow, redactedEvents,
            segments, problems, checkpoints
    }

    /// The JSON of `auditlog verify --json`: the report's fields, plus `valid` and `events`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(isValid, forKey: .valid)
        try c.encode(directory, forKey: .directory)
        try c.encode(treeSize, forKey: .treeSize)
        try c.encode(root, forKey: .root)
        try c.encode(eventCount, forKey: .events)
        try c.encode(recordBytes, forKey: .recordBytes)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(jobs, forKey: .jobs)
        try c.encode(prunedBelow, forKey: .prunedBelow)
        try c.encode(redactedEvents, forKey: .redactedEvents)
        try c.encode(segments, forKey: .segments)
        try c.encode(problems, forKey: .problems)
        try c.encode(checkpoints, forKey: .checkpoints)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        directory = try c.decode(String.self, forKey: .directory)
        treeSize = try c.decode(UInt64.self, forKey: .treeSize)
        root = try c.decodeIfPresent(SHA256Hash.self, forKey: .root)
        recordBytes = try c.decode(Int64.self, forKey: .recordBytes)
        seconds = try c.decode(Double.self, forKey: .seconds)
        jobs = try c.decode(Int.self, forKey: .jobs)
        prunedBelow = try c.decodeIfPresent(UInt64.self, forKey: .prunedBelow)
        redactedEvents = try c.decode(Int.self, forKey: .redactedEvents)
        segments = try c.decode([SegmentResult].self, forKey: .segments)
        problems = try c.decode([Problem].self, forKey: .problems)
        checkpoints = try c.decode([CheckpointResult].self, forKey: .checkpoints)
    }
}
