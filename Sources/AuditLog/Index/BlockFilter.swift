/// The skip index of one block (FORMAT.md, "Indexes", block filter): a Bloom filter of the values its records
/// carry in the fields the audit page filters on other than the actor (which has its own index), kept in the
/// block's `.idx` entry. A query with such a filter reads only the blocks whose filter can match; a block with no
/// filter (written before filters existed, or whose records could not be read) can match anything.
///
/// A filter only narrows the search: every record of a block it lets through is decoded and compared, so a false
/// positive costs a block read, never a wrong answer. Sized at 16 bits per distinct value (whole 64-bit words)
/// with 11 probes, about one block in 2,000 without the value gets through (at 10 bits and 7 probes, about 1% did:
/// 48 extra block reads for a rare value at 1M events, +40% on its first page, to save 0.5% of storage).
///
/// Beside it, a smaller **window filter** holds each value (but a resource id) paired with the 4 KiB window of
/// the payload its record starts in: of a block the first filter lets through, a page decodes only the frames
/// that meet a window that may hold a match (a value carried once in a block: one frame of ~16, not all).
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
    /// The window filter: payload windows of 4 KiB (a record belongs to the one it starts in), 6 bits per distinct
    /// (value, window) pair and 4 probes (about 5% false windows: a frame decoded for nothing, ~1.5 µs).
    static let windowSize = BlockFrames.frameBytes
    static let windowProbes = 4
    static let windowBitsPerKey = 6

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

    /// The key of a value's `key` in payload window `window` (from 0): the mixer over the key plus (window + 1)
    /// times 2⁶⁴/φ; never 0.
    @inline(__always)
    static func windowKey(_ key: UInt64, window: Int) -> UInt64 {
        let k = mix(key &+ UInt64(window + 1) &* 0x9E37_79B9_7F4A_7C15)
        return k == 0 ? 1 : k
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

    /// Whether a filter (of `probes` probes: ``windowProbes`` for a window filter) may hold `key`.
    @inline(__always)
    static func mayContain(_ filter: UnsafeRawBufferPointer, _ key: UInt64, probes: Int = probes) -> Bool {
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
        /// Those of the fields window filters hold (all but the resource id).
        private var windowGroups: [[UInt64]] = []

        var isEmpty: Bool { groups.isEmpty }

        /// The probe of a query's field filters. A field whose values include `"\u{0}"` (what ``Query/matches(_:)``
        /// compares events without that field to) is not probed: a filter holds present values only.
        init(_ query: Query) {
            func add(_ field: Field, _ values: [String]) {
                guard !values.isEmpty, !values.contains("\u{0}") else { return }
                groups.append(values.map { BlockFilter.key(field, $0) })
                if field != .resourceID { windowGroups.append(groups.last!) }
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

        /// The windows (of `windowCount`) of a block whose window filter is `filter` that may hold a matching
        /// record's start, as ranges of its payload; nil when any may (no window filter, or no field it holds
        /// filtered).
        func windows(_ filter: UnsafeRawBufferPointer, count windowCount: Int) -> [Range<Int>]? {
            guard !filter.isEmpty, !windowGroups.isEmpty else { return nil }
            var out: [Range<Int>] = []
            window: for w in 0..<windowCount {
                for keys in windowGroups
                where !keys.contains(where: {
                    BlockFilter.mayContain(filter, BlockFilter.windowKey($0, window: w), probes: windowProbes)
                }) {
                    continue window
                }
                let start = w * windowSize
                if let last = out.last, last.upperBound == start {
                    out[out.count - 1] = last.lowerBound..<start + windowSize
                } else {
                    out.append(start..<start + windowSize)
                }
            }
            return out
        }
    }

    /// Collects the distinct keys of a block's records, then writes its filters.
    struct Builder {
        private var keys = KeySet()
        private var windowKeys = KeySet()
        /// Set when a record could not be read: the block gets no filter (it can match anything).
        private var unreadable = false

        /// Adds the values of one record, which starts in payload window `window`.
        mutating func add(_ f: RecordFields, window: Int) {
            add(key: key(.action, f.action), window: window)
            add(key: key(.resourceType, f.resourceType), window: window)
            add(key: key(.resourceID, f.resourceID), window: nil)
            if let project = f.projectID { add(key: key(.project, project), window: window) }
            if let org = f.orgID { add(key: key(.org, org), window: window) }
            if let source = f.source { add(key: key(.source, source), window: window) }
        }

        /// Notes a record that does not read: the block gets no filter.
        mutating func addUnreadable() {
            unreadable = true
        }

        /// Adds one key (``BlockFilter/key(_:_:)``), and when `window` is given, its pair with that window.
        mutating func add(key: UInt64, window: Int? = nil) {
            keys.insert(key)
            if let window { windowKeys.insert(BlockFilter.windowKey(key, window: window)) }
        }

        /// Appends the block filter then the window filter of the keys added since the last call (nothing if a
        /// record was unreadable) and starts the next block. Returns their sizes in bytes.
        mutating func finish(into out: inout [UInt8]) -> (block: Int, windows: Int) {
            defer {
                keys.removeAll()
                windowKeys.removeAll()
                unreadable = false
            }
            guard !unreadable, keys.count > 0 else { return (0, 0) }
            let block = Self.append(keys, bitsPerKey: 16, probes: probes, to: &out)
            let windows =
                windowKeys.count > 0
                ? Self.append(windowKeys, bitsPerKey: windowBitsPerKey, probes: windowProbes, to: &out) : 0
            return (block, windows)
        }

        /// Appends a filter of `keys`: `bitsPerKey` bits per key in whole 64-bit words, within the bounds.
        private static func append(_ keys: KeySet, bitsPerKey: Int, probes: Int, to out: inout [UInt8]) -> Int {
            let bits = min(max(minimumBits, (bitsPerKey * keys.count + 63) / 64 * 64), maximumBits)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: bits / 8))
            out.withUnsafeMutableBytes { raw in
                let filter = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
                keys.forEach { key in
                    for i in 0..<probes {
                        let b = bit(i, of: key, bits: bits)
                        filter[b >> 3] |= 1 << UInt8(b & 7)
                    }
                }
            }
            return bits / 8
        }
    }

    /// A set of keys (never 0, which marks an empty slot): open addressing over a power-of-two table.
    private struct KeySet {
        private var slots = [UInt64](repeating: 0, count: 256)
        private(set) var count = 0

        mutating func insert(_ key: UInt64) {
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
            for value in old where value != 0 { insert(value) }
        }

        func forEach(_ body: (UInt64) -> Void) {
            for key in slots where key != 0 { body(key) }
        }

        /// Empties the set, back to its first size if it grew.
        mutating func removeAll() {
            if slots.count > 256 {
                slots = [UInt64](repeating: 0, count: 256)
            } else if count > 0 {
                for i in slots.indices { slots[i] = 0 }
            }
            count = 0
        }
    }
}

extension BlockFilter {
    /// The filters of a segment's blocks, in one buffer (index = block number; empty = no filter).
    struct Store {
        private var bytes: [UInt8] = []
        /// Each block's block filter then window filter.
        private var ranges: [(block: Range<Int>, windows: Range<Int>)] = []

        var count: Int { ranges.count }

        /// Appends a block's filters: `filters` holds its block filter then its window filter of `windows` bytes.
        mutating func append(_ filters: [UInt8], windows: Int) {
            let start = bytes.count
            let split = start + filters.count - windows
            ranges.append((start..<split, split..<start + filters.count))
            bytes.append(contentsOf: filters)
        }

        /// Calls `body` with the block filter and the window filter of block `i` (empty when it has none or `i` is
        /// past the stored ones).
        func withFilters<R>(_ i: Int, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
            let range = i < ranges.count ? ranges[i] : (block: 0..<0, windows: 0..<0)
            return bytes.withUnsafeBytes {
                body(
                    UnsafeRawBufferPointer(rebasing: $0[range.block]),
                    UnsafeRawBufferPointer(rebasing: $0[range.windows]))
            }
        }
    }
}
