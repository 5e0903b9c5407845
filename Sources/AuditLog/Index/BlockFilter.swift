/// The skip index of one block (FORMAT.md, "Indexes", block filter): a Bloom filter of the values its records
/// carry in the fields the audit page filters on other than the actor (which has its own index), kept in the
/// block's `.idx` entry. A query with such a filter reads only the blocks whose filter can match; a block with no
/// filter (written before filters existed, or whose records could not be read) can match anything.
///
/// A filter only narrows the search: every record of a block it lets through is decoded and compared, so a false
/// positive costs a block read, never a wrong answer. Sized at 16 bits per distinct value (whole 64-bit words)
/// with 11 probes, about one block in 2,000 without the value gets through (at 10 bits and 7 probes, about 1% did:
/// 48 extra block reads for a rare value at 1M events, +40% on its first page, to save 0.5% of storage).
enum BlockFilter {
    /// The fields a filter holds, by code (part of each key's hash, so equal values of different fields differ).
    enum Field: UInt8, CaseIterable {
        case action = 1
        case resourceType = 2
        case project = 3
        case org = 4
        case source = 5
        case resourceID = 6
    }

    static let probes = 11
    static let minimumBits = 64
    static let maximumBits = 65_536

    /// The key of a value of a field: 64-bit FNV-1a of the field code then the value's UTF-8 bytes, finished with
    /// MurmurHash3's 64-bit mixer so that both halves are well spread (the two probe hashes); never 0.
    static func key(_ field: Field, _ value: UnsafeRawBufferPointer) -> UInt64 {
        let key = mix(FNV1a.hash(value, prefix: field.rawValue))
        return key == 0 ? 1 : key
    }

    static func key(_ field: Field, _ value: String) -> UInt64 {
        var copy = value
        return copy.withUTF8 { key(field, UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    /// Bit `i` of the probes of `key` in a filter of `bits` bits: double hashing over the key's halves, mapped
    /// onto the filter by multiplying (`h · bits / 2³²`, no division; any size, not only powers of two).
    @inline(__always)
    private static func bit(_ i: Int, of key: UInt64, bits: Int) -> Int {
        let h1 = UInt32(truncatingIfNeeded: key)
        let h2 = UInt32(truncatingIfNeeded: key >> 32) | 1
        return Int((UInt64(h1 &+ UInt32(i) &* h2) &* UInt64(bits)) >> 32)
    }

    /// Whether `bytes` is a filter's size: a multiple of 8 bytes between the minimum and maximum bits.
    static func isValidSize(_ bytes: Int) -> Bool {
        bytes >= minimumBits / 8 && bytes <= maximumBits / 8 && bytes % 8 == 0
    }

    /// Whether a filter may hold `key`.
    @inline(__always)
    static func mayContain(_ filter: UnsafeRawBufferPointer, _ key: UInt64) -> Bool {
        let bits = filter.count * 8
        for i in 0..<probes {
            let b = bit(i, of: key, bits: bits)
            if filter[b >> 3] & (1 << UInt8(b & 7)) == 0 { return false }
        }
        return true
    }

    /// What a query asks of a block: for every filtered field, one of its values (OR within a field, AND across).
    struct Probe {
        /// The keys of each filtered field's values.
        private var groups: [[UInt64]] = []

        var isEmpty: Bool { groups.isEmpty }

        /// The probe of a query's field filters. A field whose values include `"\u{0}"` (what ``Query/matches(_:)``
        /// compares events without that field to) is not probed: a filter holds present values only.
        init(_ query: Query) {
            func add(_ field: Field, _ values: [String]) {
                guard !values.isEmpty, !values.contains("\u{0}") else { return }
                groups.append(values.map { BlockFilter.key(field, $0) })
            }
            add(.action, query.actions)
            add(.resourceType, query.resourceTypes)
            add(.resourceID, query.resourceIDs)
            add(.project, query.projectIDs)
            add(.org, query.orgIDs)
            add(.source, query.sources)
        }

        /// Whether a block whose filter is `filter` (nil: none) may hold a matching record.
        func mayMatch(_ filter: UnsafeRawBufferPointer?) -> Bool {
            guard let filter, !filter.isEmpty else { return true }
            for keys in groups where !keys.contains(where: { BlockFilter.mayContain(filter, $0) }) { return false }
            return true
        }
    }

    /// Collects the distinct keys of a block's records, then writes its filter.
    struct Builder {
        /// Open addressing over keys (never 0, which marks an empty slot); a power of two.
        private var slots = [UInt64](repeating: 0, count: 256)
        private var count = 0
        /// Set when a record could not be read: the block gets no filter (it can match anything).
        private var unreadable = false

        /// Adds the values of one record.
        mutating func add(_ f: RecordFields) {
            add(key: key(.action, f.action))
            add(key: key(.resourceType, f.resourceType))
            add(key: key(.resourceID, f.resourceID))
            if let project = f.projectID { add(key: key(.project, project)) }
            if let org = f.orgID { add(key: key(.org, org)) }
            if let source = f.source { add(key: key(.source, source)) }
        }

        /// Notes a record that does not read: the block gets no filter.
        mutating func addUnreadable() {
            unreadable = true
        }

        /// Adds one key (``BlockFilter/key(_:_:)``).
        mutating func add(key: UInt64) {
            if 2 * (count + 1) > slots.count { grow() }
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: key) & mask
            while slots[slot] != 0 {
                if slots[slot] == key { return }
                slot = (slot + 1) & mask
            }
            slots[slot] = key
            count += 1
        }

        private mutating func grow() {
            let old = slots
            slots = [UInt64](repeating: 0, count: old.count * 2)
            count = 0
            for value in old where value != 0 { add(key: value) }
        }

        /// Appends the filter of the keys added since the last call (nothing if a record was unreadable) and starts
        /// the next block. Returns the filter's size in bytes.
        mutating func finish(into out: inout [UInt8]) -> Int {
            defer {
                if slots.count > 256 {
                    slots = [UInt64](repeating: 0, count: 256)
                } else {
                    for i in slots.indices { slots[i] = 0 }
                }
                count = 0
                unreadable = false
            }
            guard !unreadable, count > 0 else { return 0 }
            // 16 bits per value, in whole 64-bit words.
            let bits = min(max(minimumBits, (16 * count + 63) / 64 * 64), maximumBits)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: bits / 8))
            out.withUnsafeMutableBytes { raw in
                let filter = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
                for key in slots where key != 0 {
                    for i in 0..<probes {
                        let b = bit(i, of: key, bits: bits)
                        filter[b >> 3] |= 1 << UInt8(b & 7)
                    }
                }
            }
            return bits / 8
        }
    }
}

extension BlockFilter {
    /// The filters of a segment's blocks, in one buffer (index = block number; empty = no filter).
    struct Store {
        private var bytes: [UInt8] = []
        private var ranges: [Range<Int>] = []

        var count: Int { ranges.count }

        mutating func append(_ filter: UnsafeRawBufferPointer) {
            ranges.append(bytes.count..<bytes.count + filter.count)
            bytes.append(contentsOf: filter)
        }

        mutating func append(_ filter: [UInt8]) {
            filter.withUnsafeBytes { append($0) }
        }

        /// Calls `body` with the filter of block `i` (empty when it has none or `i` is past the stored ones).
        func withFilter<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            let range = i < ranges.count ? ranges[i] : 0..<0
            return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        }

        /// Whether block `i` may hold a record `probe` matches.
        func mayMatch(_ i: Int, _ probe: Probe) -> Bool {
            probe.isEmpty || withFilter(i) { probe.mayMatch($0) }
        }
    }
}
