#if canImport(Glibc)
    import Glibc
#endif

/// Counts facet values straight from record bytes: a hash table whose keys live in one byte arena, so counting
/// an event builds no string (with `String` keys, counting cost 12% of `auditlog ingest`). The writer keeps one per
/// active segment and turns it into a ``SegmentFacets`` at seal.
struct FacetTally: Sendable {
    private struct Entry: Sendable {
        var hash: UInt64
        var field: FacetField
        /// The org and the value, as ranges of `arena`.
        var org: Range<Int>
        var value: Range<Int>
        var count: UInt64 = 0
        /// The last name given (a range of `arena`), and for actors the kind.
        var name: Range<Int>?
        var kind: AuditEvent.Actor.Kind?
    }

    private var arena: [UInt8] = []
    private var entries: [Entry] = []
    /// Open addressing: index + 1 into `entries`, 0 for an empty slot; the count is a power of two.
    private var slots = [Int32](repeating: 0, count: 64)

    var isEmpty: Bool { entries.isEmpty }

    /// The seed of an org's hash, which seeds its values' hashes.
    private static let orgSeed: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// Counts one event.
    mutating func add(_ f: RecordFields) {
        let org = f.orgID ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let orgHash = Self.hash(org, seed: Self.orgSeed)
        count(.actor, org, orgHash, f.actorID, 1, name: f.actorName, kind: f.actorType)
        count(.action, org, orgHash, f.action, 1)
        count(.resourceType, org, orgHash, f.resourceType, 1)
        if let project = f.projectID { count(.project, org, orgHash, project, 1, name: f.projectName) }
        if let orgID = f.orgID { count(.org, org, orgHash, orgID, 1, name: f.orgName) }
        if let source = f.source { count(.source, org, orgHash, source, 1) }
    }

    /// Adds the counts of another tally (names and kinds from the later one win).
    mutating func merge(_ other: FacetTally) {
        other.arena.withUnsafeBytes { arena in
            for e in other.entries {
                let org = UnsafeRawBufferPointer(rebasing: arena[e.org])
                count(
                    e.field, org, Self.hash(org, seed: Self.orgSeed),
                    UnsafeRawBufferPointer(rebasing: arena[e.value]), e.count,
                    name: e.name.map { UnsafeRawBufferPointer(rebasing: arena[$0]) }, kind: e.kind)
            }
        }
    }

    private mutating func count(
        _ field: FacetField, _ org: UnsafeRawBufferPointer, _ orgHash: UInt64, _ value: UnsafeRawBufferPointer,
        _ n: UInt64, name: UnsafeRawBufferPointer? = nil, kind: AuditEvent.Actor.Kind? = nil
    ) {
        let hash = Self.hash(value, seed: orgHash &+ UInt64(field.code) &* 0xFF51_AFD7_ED55_8CCD)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let index = Int(slots[slot]) - 1
            if index < 0 {
                let orgStart = arena.count
                arena.append(bytes: org)
                let valueStart = arena.count
                arena.append(bytes: value)
                entries.append(
                    Entry(hash: hash, field: field, org: orgStart..<valueStart, value: valueStart..<arena.count))
                slots[slot] = Int32(entries.count)
                update(entries.count - 1, by: n, name: name, kind: kind)
                if entries.count * 2 > slots.count { grow() }
                return
            }
            if entries[index].hash == hash && entries[index].field == field && matches(entries[index], org, value) {
                update(index, by: n, name: name, kind: kind)
                return
            }
            slot = (slot + 1) & mask
        }
    }

    private func matches(_ e: Entry, _ org: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        guard e.org.count == org.count, e.value.count == value.count else { return false }
        return arena.withUnsafeBytes { arena in
            Self.equal(arena.baseAddress! + e.org.lowerBound, org)
                && Self.equal(arena.baseAddress! + e.value.lowerBound, value)
        }
    }

    @inline(__always)
    private static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        b.isEmpty || memcmp(a, b.baseAddress!, b.count) == 0
    }

    private mutating func update(
        _ index: Int, by n: UInt64, name: UnsafeRawBufferPointer?, kind: AuditEvent.Actor.Kind?
    ) {
        entries[index].count += n
        if let kind { entries[index].kind = kind }
        guard let name else { return }
        if let old = entries[index].name, old.count == name.count,
            arena.withUnsafeBytes({ Self.equal($0.baseAddress! + old.lowerBound, name) })
        {
            return
        }
        let start = arena.count
        arena.append(bytes: name)
        entries[index].name = start..<arena.count
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for (i, entry) in entries.enumerated() {
            var slot = Int(truncatingIfNeeded: entry.hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(i + 1)
        }
    }

    /// The counts as a facet summary.
    func summary(baseSeq: UInt64) -> SegmentFacets {
        var facets = SegmentFacets(baseSeq: baseSeq)
        facets.entries.reserveCapacity(entries.count)
        arena.withUnsafeBytes { arena in
            func string(_ range: Range<Int>) -> String { UTF8Validator.string(trusted: .init(rebasing: arena[range])) }
            for entry in entries {
                let key = SegmentFacets.Key(field: entry.field, org: string(entry.org), value: string(entry.value))
                facets.entries[key] = SegmentFacets.Entry(
                    count: entry.count, name: entry.name.map(string), kind: entry.kind?.rawValue)
            }
        }
        return facets
    }

    /// A multiply-and-fold hash eight bytes at a time: keys are short, and only this process sees the table.
    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var h = seed ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                &* 0x9FB2_1C65_1E98_DF25
            h ^= h >> 32
            i += 8
        }
        if i < bytes.count {
            var tail: UInt64 = 0
            withUnsafeMutableBytes(of: &tail) {
                $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[i...]))
            }
            h = (h ^ UInt64(littleEndian: tail)) &* 0x9FB2_1C65_1E98_DF25
            h ^= h >> 32
        }
        return h
    }
}

extension FacetField {
    /// The field's number in hashes and in `.fct` files' order of declaration.
    var code: Int {
        switch self {
        case .actor: 0
        case .action: 1
        case .resourceType: 2
        case .project: 3
        case .org: 4
        case .source: 5
        }
    }
}
