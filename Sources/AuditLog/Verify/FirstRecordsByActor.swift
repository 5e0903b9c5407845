/// Each actor id that has records that are not redacted, with the first such record verify met: a redaction of
/// that actor after it must have redacted it. Verify asks once per record, so this is a table on the id's
/// actor-index hash (FNV-1a, already computed for the record), open addressing with linear probing; a Swift
/// dictionary would hash the hash again (SipHash, ~2.5% of a one-job verify).
struct FirstRecordsByActor {
    struct Entry {
        let hash: UInt64
        let id: String
        let seq: UInt64
        let offset: Int64
    }

    /// In the order first met.
    private(set) var entries: [Entry] = []
    /// Indices into `entries`, -1 for an empty slot; at most half full.
    private var slots = [Int32](repeating: -1, count: 64)

    /// Adds the actor `id` (with its actor-index `hash`) unless it is already here.
    mutating func add(id: UnsafeRawBufferPointer, hash: UInt64, seq: UInt64, offset: Int64) {
        var slot = Self.slot(of: hash, in: slots.count)
        while slots[slot] >= 0 {
            let entry = entries[Int(slots[slot])]
            if entry.hash == hash && Self.equal(entry.id, id) { return }
            slot = (slot + 1) & (slots.count - 1)
        }
        slots[slot] = Int32(entries.count)
        entries.append(Entry(hash: hash, id: String(decoding: id, as: UTF8.self), seq: seq, offset: offset))
        if entries.count * 2 > slots.count { grow() }
    }

    /// Adds `other`'s actors that are not here (with their first records there), in its order.
    mutating func add(_ other: FirstRecordsByActor) {
        for entry in other.entries {
            var id = entry.id
            id.withUTF8 { add(id: UnsafeRawBufferPointer($0), hash: entry.hash, seq: entry.seq, offset: entry.offset) }
        }
    }

    /// The first record of actor `id`, if it has one that is not redacted.
    func first(id: String) -> Entry? {
        let hash = SegmentIndexFiles.actorHash(id)
        var slot = Self.slot(of: hash, in: slots.count)
        while slots[slot] >= 0 {
            let entry = entries[Int(slots[slot])]
            if entry.hash == hash && entry.id == id { return entry }
            slot = (slot + 1) & (slots.count - 1)
        }
        return nil
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for (i, entry) in entries.enumerated() {
            var slot = Self.slot(of: entry.hash, in: slots.count)
            while slots[slot] >= 0 { slot = (slot + 1) & (slots.count - 1) }
            slots[slot] = Int32(i)
        }
    }

    /// The high bits of the hash times 2^64/φ: FNV-1a's low bits alone are not mixed well enough.
    private static func slot(of hash: UInt64, in count: Int) -> Int {
        Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - count.trailingZeroBitCount))
    }

    /// Whether `bytes` are `string`'s UTF-8 (one `memcmp`: a generic comparison of the two took 5% of verify).
    private static func equal(_ string: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        string.utf8.withContiguousStorageIfAvailable { UnsafeRawBufferPointer($0).equals(bytes) }
            ?? string.utf8.elementsEqual(bytes)
    }
}
