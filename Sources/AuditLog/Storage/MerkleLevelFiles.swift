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
///
/// After a clean close a level's file is opened and brought to the tree size at open the first time it is used,
/// not at open: such files can only be short (their appends were not synced), never hold entries past the tree,
/// and a 10M-event log has sixteen of them (an open, a `stat` and a close each, ~20% of an open here).
final class MerkleLevelFiles: @unchecked Sendable {
    // @unchecked: `files`, `counts` and `unchecked` are only reached under `lock` (after `init`, which runs alone).
    static let firstLevel = 8

    static func name(level: Int) -> String {
        "merkle-" + (level < 10 ? "0" : "") + String(level) + ".hashes"
    }

    private let directory: String
    private let lock = ConditionLock()
    private var files: [FileDescriptor?] = Array(repeating: nil, count: 64)
    private var counts: [UInt64] = Array(repeating: 0, count: 64)
    /// Levels not yet opened and brought to `treeSizeAtOpen` (only after a clean close).
    private var unchecked: Set<Int> = []
    /// The tree size when the log was opened: what the unchecked levels must cover.
    private let treeSizeAtOpen: UInt64
    /// Set after a failed write: the files are no longer maintained this session and are repaired on next open.
    /// Touched by the commit leader only.
    private var broken = false

    /// Opens the level files for appending and brings them to the recovered tree's size: extra entries (after recovery cut the
    /// log) are dropped, missing ones (lost in a crash, or deleted) are recomputed from the records. `recovered`
    /// lists the directory as recovery left it. After a clean close (``RecoveredState/durable``: the last writer
    /// closed cleanly and nothing was written since) each level is checked the first time it is used instead.
    init(directory: String, hasher: MerkleHasher, recovered: RecoveredState) throws(AuditLogError) {
        let treeSize = recovered.frontier.size
        let cleanClose = recovered.durable
        self.directory = directory
        treeSizeAtOpen = treeSize
        var boundary: MerkleFrontier?
        let boundaryAtOpen = { () throws(AuditLogError) -> MerkleFrontier in
            if let boundary { return boundary }
            let found = try LogFiles.boundaryFrontier(of: recovered.segments)
            boundary = found
            return found
        }
        var level = Self.firstLevel
        while level < 64 && treeSize >> UInt64(level) > 0 {
            if cleanClose {
                unchecked.insert(level)
            } else {
                try check(level: level, hasher: hasher, boundary: boundaryAtOpen)
            }
            level += 1
        }
        // Levels above the tree's height may hold stale entries from before a recovery cut: drop them (found in
        // one listing, not by asking for each of the up to 56 names).
        let above = Set((level..<64).map { Self.name(level: $0) })
        for name in recovered.names where above.contains(name) {
            try FileSystem.remove(LogFiles.path(directory, name))
        }
    }

    /// Opens a level's file and brings it to the tree size at open: extra entries dropped, missing ones recomputed.
    /// In `init`, or under the lock. `hasher`: the calling thread's own (nil: one is made if entries are missing);
    /// `boundary` gives the frontier where the log's first segment starts (asked for only if entries are missing).
    private func check(
        level: Int, hasher: MerkleHasher?, boundary: () throws(AuditLogError) -> MerkleFrontier
    ) throws(AuditLogError) {
        let expected = treeSizeAtOpen >> UInt64(level)
        let fd = try FileDescriptor.openForWriting(LogFiles.path(directory, Self.name(level: level)), create: true)
        let bytes = try fd.size()
        let present = UInt64(bytes) / 32
        if present > expected || bytes % 32 != 0 { try fd.truncate(to: Int64(min(present, expected) * 32)) }
        files[level] = fd
        counts[level] = min(present, expected)
        if counts[level] < expected {
            let rebuilding: MerkleHasher
            if let hasher { rebuilding = hasher } else { rebuilding = try MerkleHasher() }
            try rebuild(level: level, to: expected, hasher: rebuilding, boundary: try boundary())
        }
        // Only now: a level whose rebuild failed is checked again when next used, never appended to short.
        unchecked.remove(level)
    }

    /// Checks `level` if it has not been yet. Under the lock.
    private func checkIfNeeded(level: Int) throws(AuditLogError) {
        guard unchecked.contains(level) else { return }
        try check(level: level, hasher: nil) { () throws(AuditLogError) in
            try LogFiles.boundaryFrontier(directory: directory)  // retention may have dropped segments since open
        }
    }

    /// Recomputes the missing entries of a level. Entries of subtrees that retention removed in part or whole
    /// (before they were stored) cannot be recomputed and are written as 32 zero bytes: "not known". In `init`, or
    /// under the lock.
    private func rebuild(level: Int, to expected: UInt64, hasher: MerkleHasher, boundary: MerkleFrontier)
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
            try checkIfNeeded(level: level - 1)
            for index in counts[level]..<expected {
                guard let left = Self.read(index: 2 * index, of: files[level - 1], count: counts[level - 1]),
                    let right = Self.read(index: 2 * index + 1, of: files[level - 1], count: counts[level - 1])
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
                var (file, count) = try lock.withLock { () throws(AuditLogError) in
                    try checkIfNeeded(level: level)
                    return (files[level], counts[level])
                }
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
        let stored = lock.withLock { () -> (FileDescriptor?, UInt64)? in
            guard (try? checkIfNeeded(level: level)) != nil else { return nil }
            return (files[level], counts[level])
        }
        guard let (file, count) = stored else { return nil }
        return Self.read(index: index, of: file, count: count)
    }

    /// Entry `index` of a level's file holding `count` entries, unless it is absent or all zeros.
    private static func read(index: UInt64, of file: FileDescriptor?, count: UInt64) -> SHA256Hash? {
        guard index < count, let file else { return nil }
        guard let bytes = try? file.read(count: 32, at: Int64(index * 32)), bytes.count == 32 else { return nil }
        let hash = SHA256Hash(bytes: bytes)
        return hash == .zero ? nil : hash  // all zeros: not known (removed by retention before it was stored)
    }

    /// The level files as they are now, opened read-only, for proofs made without opening the log for writing.
    /// Entries the writer has not written yet are simply absent (callers recompute them).
    init(readingFrom directory: String) {
        self.directory = directory
        treeSizeAtOpen = 0
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
