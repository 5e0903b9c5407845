/// Where the JSON scanner, the record encoder and the JSON and export writers write bytes: `[UInt8]` anywhere,
/// ``ByteBuffer`` on the ingest and export paths, where `Array.append(contentsOf:)` of a few bytes at a time cost
/// more than the parsing or formatting itself.
package protocol ByteOutput {
    var count: Int { get }
    mutating func append(_ byte: UInt8)
    mutating func append(bytes: UnsafeRawBufferPointer)
    /// Lets `body` write up to `capacity` bytes at the end; `body` returns how many it wrote.
    mutating func append(capacity: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int)
    /// Drops everything from `count` on.
    mutating func truncate(to count: Int)
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension ByteOutput {
    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(bytes: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}

extension Array: ByteOutput where Element == UInt8 {
    @inline(__always)
    package mutating func truncate(to count: Int) {
        removeSubrange(count...)
    }

    @inline(__always)
    package mutating func append(capacity: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            let n = body(buffer.baseAddress!)
            append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<n]))
        }
    }
}

/// A growable byte buffer that copies with `memcpy` and checks only its capacity. Owns its memory; a copy of the
/// struct shares it, so it is kept by one owner (``JSONRecordEncoder``) and never copied.
struct ByteBuffer: ByteOutput {
    private final class Storage {
        let base: UnsafeMutableRawPointer
        let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }

        deinit { base.deallocate() }
    }

    private var storage: Storage
    private(set) var count = 0
    /// The bytes it holds room for.
    var capacity: Int { storage.capacity }

    init(capacity: Int = 4096) {
        storage = Storage(capacity: Swift.max(capacity, 16))
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == storage.capacity { grow(1) }
        storage.base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    mutating func append(bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        if storage.capacity - count < n { grow(n) }
        (storage.base + count).copyMemory(from: bytes.baseAddress!, byteCount: n)
        count += n
    }

    @inline(__always)
    mutating func append(capacity: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        if storage.capacity - count < capacity { grow(capacity) }
        count += body((storage.base + count).assumingMemoryBound(to: UInt8.self))
    }

    @inline(__always)
    mutating func truncate(to count: Int) {
        self.count = Swift.min(self.count, Swift.max(0, count))
    }

    mutating func removeAll() {
        count = 0
    }

    @inline(__always)
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.base, count: count))
    }

    /// The bytes in `range`, which must lie within `0..<count`.
    @inline(__always)
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.base + range.lowerBound, count: range.count)
    }

    private mutating func grow(_ needed: Int) {
        let bigger = Storage(capacity: Swift.max(storage.capacity * 2, count + needed))
        bigger.base.copyMemory(from: storage.base, byteCount: count)
        storage = bigger
    }
}
