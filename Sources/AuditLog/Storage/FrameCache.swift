/// Decoded frames of blocks a reader's pages read lately, so that the same pages asked again (an audit screen
/// reloaded, a service's clients paging the same actor) copy their records instead of reading, checking and
/// decompressing their frames again (`perf` of a repeated actor page: LZ4 40% of its time, the frame checksums 3%).
/// Off unless asked for (``AuditLogReader/init(directory:cacheBytes:)``, ``AuditLog/Options/readCacheBytes``).
///
/// What is kept is exactly what a checked frame decoded to, under a key that changes whenever the bytes behind it
/// may: the segment file's identity (a sealed segment's inode and status-change time, so that a segment rewritten by
/// redaction, a new file whose inode may be a reused one, never hits its old frames; for the active segment, whose
/// change time moves with every append, its inode), the block's offset and stored root (a block written again at
/// the same offset after recovery cut an unacknowledged commit holds other records, hence another root), and the
/// frame's index and stored checksum. A version 1 block is one entry: its whole payload.
///
/// Bounded by `capacity` bytes of frames (plus a small allowance per entry); when full, entries not used since the
/// clock hand last passed go first (CLOCK). Thread-safe: the lock is held to look up or insert, never to copy.
final class FrameCache: Sendable {
    /// Where a block lies: the part of a ``Key`` a query knows before it reads the block's frame table.
    struct Block: Hashable {
        var inode: UInt64
        /// The sealed segment's status-change time, 0 for the active segment.
        var changed: Int64
        var offset: Int64
        var root: SHA256Hash

        func key(frame: Int, checksum: UInt32) -> Key {
            Key(block: self, frame: frame, checksum: checksum)
        }
    }

    struct Key: Hashable {
        var block: Block
        /// The frame's index in the block (-1: the whole payload), and its stored checksum.
        var frame: Int
        var checksum: UInt32
    }

    /// Bytes counted for an entry besides its frame: the key, the slot, the table's share.
    static let entryOverhead = 128

    private struct Slot {
        var key: Key
        var bytes: [UInt8]
        var referenced: Bool
    }

    private struct State {
        var slots: [Slot?] = []
        var free: [Int] = []
        var byKey: [Key: Int] = [:]
        var hand = 0
        var bytes = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0
    }

    let capacity: Int
    private let state = Locked(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The decoded bytes kept under `key`, if any.
    func frame(_ key: Key) -> [UInt8]? {
        state.withLock { state in
            guard let i = state.byKey[key] else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            state.slots[i]!.referenced = true
            return state.slots[i]!.bytes
        }
    }

    /// Keeps `bytes` under `key`, making room if needed.
    func insert(_ bytes: [UInt8], for key: Key) {
        let cost = bytes.count + Self.entryOverhead
        guard cost <= capacity else { return }
        state.withLock { state in
            guard state.byKey[key] == nil else { return }
            while state.bytes + cost > capacity {
                let i = state.hand
                state.hand = (state.hand + 1) % state.slots.count
                guard let slot = state.slots[i] else { continue }
                if slot.referenced {
                    state.slots[i]!.referenced = false
                    continue
                }
                state.bytes -= slot.bytes.count + Self.entryOverhead
                state.byKey[slot.key] = nil
                state.slots[i] = nil
                state.free.append(i)
            }
            let slot = Slot(key: key, bytes: bytes, referenced: false)
            let i: Int
            if let reused = state.free.popLast() {
                i = reused
                state.slots[i] = slot
            } else {
                i = state.slots.count
                state.slots.append(slot)
            }
            state.byKey[key] = i
            state.bytes += cost
        }
    }

    var statistics: ReadCacheStatistics {
        state.withLock { state in
            ReadCacheStatistics(
                capacityBytes: capacity, bytes: state.bytes, frames: state.byKey.count, hits: state.hits,
                misses: state.misses)
        }
    }
}

/// How a reader's cache of decoded records is doing (``AuditLogReader/cacheStatistics``).
public struct ReadCacheStatistics: Sendable, Equatable, Codable {
    /// Its bound.
    public var capacityBytes: Int
    /// Bytes it holds now (decoded frames and a small allowance per frame).
    public var bytes: Int
    /// Frames (about 4 KiB of records each; a whole block of a version 1 segment) it holds now.
    public var frames: Int
    /// Frames a page found in it, and those it had to read and decode (then kept).
    public var hits: UInt64
    public var misses: UInt64
}
