/// The level files: derived data that let proofs use O(log n) stored hashes instead of rehashing the log
/// (FORMAT.md, "Merkle level files").
///
/// `merkle-LL.hashes` holds, for one level ℓ ≥ ``firstLevel``, the roots of the perfect subtrees of 2^ℓ leaves
/// in order: entry i covers leaves `[i·2^ℓ, (i+1)·2^ℓ)`. The writer appends to them after each commit without
/// syncing them; opening the log repairs them from the records. Verification never reads them.
///
/// Thread-safe: the commit leader appends while proofs read from any thread. The open files and entry counts are
/// reached under a lock; an entry's count is published only after its bytes are written, so a reader never sees
/// an entry that is not there yet.
final class MerkleLevelFiles: @unchecked Sendable {
    // @unchecked: `files` and `counts` are only reached under `lock` (after `init`, which runs alone).
    static let firstLevel = 8

    static func name(level: Int) -> String {
        "merkle-" + (level < 10 ? "0" : "") + String(level) + ".hashes"
    }

    private let directory: String
    private let lock = ConditionLock()
    private var files: [FileDescriptor?] = Array(repeating: nil, count: 64)
    private var counts: [UInt64] = Array(repeating: 0, count: 64)
    /// Set after a failed write: the files are no longer maintained this session and are repaired on next open.
    /// Touched by the commit leader only.
    private var broken = false

    /// Opens the level files for appending and brings them to `treeSize`: extra entries (after recovery cut the
    /// log) are dropped, missing ones (lost in a crash, or deleted) are recomputed from the records. `names` lists the
    /// directory as recovery left it (``RecoveredState/names``).
    init(directory: String, treeSize: UInt64, hasher: MerkleHasher, names: [String]) throws(AuditLogError) {
        self.directory = directory
        let boundary = try LogFiles.boundaryFrontier(of: LogFiles.segments(named: names, in: directory))
        var level = Self.firstLevel
        while level < 64 && treeSize >> UInt64(level) > 0 {
            let expected = treeSize >> UInt64(level)
            let fd = try FileDescriptor.openForWriting(LogFiles.path(directory, Self.name(level: level)), create: true)
            let bytes = try fd.size()
            let present = UInt64(bytes) / 32
            if present > expected || bytes % 32 != 0 { try fd.truncate(to: Int64(min(present, expected) * 32)) }
            files[level] = fd
            counts[level] = min(present, expected)
            if counts[level] < expected {
                try rebuild(level: level, to: expected, boundary: boundary, hasher: hasher)
            }
            level += 1
        }
        // Levels above the tree's height may hold stale entries from before a recovery cut: drop them (found in
        // one listing, not by asking for each of the up to 56 names).
        let above = Set((level..<64).map { Self.name(level: $0) })
        for name in names where above.contains(name) {
            try FileSystem.remove(LogFiles.path(directory, name))
        }
    }

    /// Recomputes the missing entries of a level. Entries of subtrees that retention removed in part or whole
    /// (before they were stored) cannot be recomputed and are written as 32 zero bytes: "not known".
    private func rebuild(level: Int, to expected: UInt64, boundary: MerkleFrontier, hasher: MerkleHasher)
        throws(AuditLogError)
    {
        var entries: [UInt8] = []
        if level == Self.firstLevel {
            let width = UInt64(1) << UInt64(level)
            var group: UInt64 = counts[level]
            while group < expected && (group + 1) * width <= boundary.size {
                entries.append(contentsOf: [UInt8](repeating: 0, count: 32))
                group += 1
            }
            // A group that straddles the boundary starts from the boundary frontier's entries inside it.
            var frontier = MerkleFrontier()
            if group < expected && group * width < boundary.size {
                frontier = boundary.suffix(from: group * width) ?? MerkleFrontier()
            }
            try RecordScan.forEach(in: directory, range: max(group * width, boundary.size)..<expected * width) {
                (_, record) throws(AuditLogError) in
                frontier.append(RecordCodec.leafHash(of: record, using: hasher), using: hasher)
                if frontier.size == width {
                    frontier.hashes[0].withUnsafeBytes { entries.append(contentsOf: $0) }
                    frontier = MerkleFrontier()
                    group += 1
                }
            }
        } else {
            for index in counts[level]..<expected {
                guard let left = hash(level: level - 1, index: 2 * index),
                    let right = hash(level: level - 1, index: 2 * index + 1)
                else {
                    guard (2 * index) << UInt64(level - 1) < boundary.size else {
                        throw AuditLogError(.corrupt, "cannot rebuild Merkle level \(level)", path: directory)
                    }
                    entries.append(contentsOf: [UInt8](repeating: 0, count: 32))
                    continue
                }
                hasher.nodeHash(left, right).withUnsafeBytes { entries.append(contentsOf: $0) }
            }
        }
        try files[level]!.write(entries, at: Int64(counts[level] * 32))
        counts[level] = expected
    }

    /// Appends the subtree roots completed by a commit, in order. Called by the commit leader only.
    func append(_ completed: [(level: Int, hash: SHA256Hash)]) {
        guard !broken else { return }
        do throws(AuditLogError) {
            for (level, hash) in completed {
                var (file, count) = lock.withLock { (files[level], counts[level]) }
                if file == nil {
                    let opened = try FileDescriptor.openForWriting(
                        LogFiles.path(directory, Self.name(level: level)), create: true)
                    lock.withLock { files[level] = opened }
                    file = opened
                }
                try hash.withUnsafeBytes { raw in
                    Result { () throws(AuditLogError) in try file!.write(raw, at: Int64(count * 32)) }
                }.get()
                count += 1
                lock.withLock { counts[level] = count }
            }
        } catch {
            broken = true
        }
    }

    /// The stored root of perfect subtree `index` at `level`, if the files hold it. Safe from any thread.
    func hash(level: Int, index: UInt64) -> SHA256Hash? {
        guard level < 64 else { return nil }
        let (file, count) = lock.withLock { (files[level], counts[level]) }
        guard index < count, let file else { return nil }
        guard let bytes = try? file.read(count: 32, at: Int64(index * 32)), bytes.count == 32 else { return nil }
        let hash = SHA256Hash(bytes: bytes)
        return hash == .zero ? nil : hash  // all zeros: not known (removed by retention before it was stored)
    }

    /// The level files as they are now, opened read-only, for proofs made without opening the log for writing.
    /// Entries the writer has not written yet are simply absent (callers recompute them).
    init(readingFrom directory: String) {
        self.directory = directory
        for level in Self.firstLevel..<64 {
            guard let fd = try? FileDescriptor.openForReading(LogFiles.path(directory, Self.name(level: level))),
                let size = try? fd.size()
            else { break }
            files[level] = fd
            counts[level] = UInt64(size) / 32
        }
        broken = true  // never appended to
    }
}
