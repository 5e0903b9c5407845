/// Dictionaries of version 2 segments a reader decoded lately (FORMAT.md, "Frames"), so that its next queries do not
/// decode each segment's first block again (every query opens its segment files anew). Kept by base seq and the
/// identity of the file they were read from (inode and status-change time: a freed inode is soon reused): a
/// segment rewritten by redaction (a new file, a new dictionary) is read again.
/// At most `capacity` of them (64 KiB each); the least recently used goes first. Thread-safe.
final class DictionaryCache: Sendable {
    private struct Entry {
        var file: FileIdentity
        var bytes: [UInt8]
        var used: UInt64
    }

    private let capacity: Int
    private let entries = Locked<(clock: UInt64, byBase: [UInt64: Entry])>((0, [:]))

    init(capacity: Int = 32) {
        self.capacity = capacity
    }

    func dictionary(baseSeq: UInt64, file: FileIdentity) -> [UInt8]? {
        entries.withLock { state in
            guard var entry = state.byBase[baseSeq], entry.file == file else { return nil }
            state.clock += 1
            entry.used = state.clock
            state.byBase[baseSeq] = entry
            return entry.bytes
        }
    }

    func remember(_ bytes: [UInt8], baseSeq: UInt64, file: FileIdentity) {
        entries.withLock { state in
            state.clock += 1
            state.byBase[baseSeq] = Entry(file: file, bytes: bytes, used: state.clock)
            if state.byBase.count > capacity, let oldest = state.byBase.min(by: { $0.value.used < $1.value.used }) {
                state.byBase[oldest.key] = nil
            }
        }
    }
}
