import Synchronization

/// A fixed number of bits, read and set from any thread without a lock: what a shared view remembers it did once
/// (an entry checked, a part of a file asked for).
final class AtomicBitSet: @unchecked Sendable {
    // @unchecked: the words are atomics, allocated once.
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let count: Int

    init(count bits: Int) {
        count = (bits + 63) / 64
        words = .allocate(capacity: max(count, 1))
        for i in 0..<count { (words + i).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: count)
        words.deallocate()
    }

    func contains(_ bit: Int) -> Bool {
        words[bit >> 6].load(ordering: .acquiring) & (1 << UInt64(bit & 63)) != 0
    }

    /// Sets `bit`; returns whether it was clear before (so exactly one of racing callers sees true).
    @discardableResult
    func insert(_ bit: Int) -> Bool {
        let mask: UInt64 = 1 << UInt64(bit & 63)
        return words[bit >> 6].bitwiseOr(mask, ordering: .acquiringAndReleasing).oldValue & mask == 0
    }
}
