/// Counts the facet values of a batch of events straight from their record bytes (a hash table over one byte
/// arena, no string per event), then hands the distinct values over as a ``SegmentFacets``: counting with
/// `String` keys cost 12% of `auditlog ingest`.
struct FacetTally {
    private struct Entry {
        var hash: UInt64
        var field: FacetField
        /// The key in `arena`: field code, org length (varint), org, value; and the org and value in it.
        var key: Range<Int>
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
    private var slots = [Int32](repeating: 0, count: 256)
    private var scratch: [UInt8] = []

    /// Counts one event.
    mutating func add(_ f: RecordFields) {
        let org = f.orgID ?? UnsafeRawBufferPointer(start: nil, count: 0)
        count(.actor, org, f.actorID, name: f.actorName, kind: f.actorType)
        count(.action, org, f.action)
        count(.resourceType, org, f.resourceType)
        if let project = f.projectID { count(.project, org, project, name: f.projectName) }
        if let orgID = f.orgID { count(.org, org, orgID, name: f.orgName) }
        if let source = f.source { count(.source, org, source) }
    }

    private mutating func count(
        _ field: FacetField, _ org: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
        name: UnsafeRawBufferPointer? = nil, kind: AuditEvent.Actor.Kind? = nil
    ) {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(Self.code(field))
        scratch.appendVarint(UInt64(org.count))
        scratch.append(contentsOf: org.assumingMemoryBound(to: UInt8.self))
        let orgOffset = scratch.count - org.count
        let valueOffset = scratch.count
        scratch.append(contentsOf: value.assumingMemoryBound(to: UInt8.self))
        let hash = scratch.withUnsafeBytes { Self.hash($0) }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let index = Int(slots[slot]) - 1
            if index < 0 {
                let start = arena.count
                arena.append(contentsOf: scratch)
                entries.append(
                    Entry(
                        hash: hash, field: field, key: start..<arena.count,
                        org: start + orgOffset..<start + valueOffset, value: start + valueOffset..<arena.count))
                slots[slot] = Int32(entries.count)
                update(entries.count - 1, name: name, kind: kind)
                if entries.count * 2 > slots.count { grow() }
                return
            }
            if entries[index].hash == hash && arena[entries[index].key].elementsEqual(scratch) {
                update(index, name: name, kind: kind)
                return
            }
            slot = (slot + 1) & mask
        }
    }

    private mutating func update(_ index: Int, name: UnsafeRawBufferPointer?, kind: AuditEvent.Actor.Kind?) {
        entries[index].count += 1
        if let kind { entries[index].kind = kind }
        guard let name else { return }
        if let old = entries[index].name, arena[old].elementsEqual(name) { return }
        let start = arena.count
        arena.append(contentsOf: name.assumingMemoryBound(to: UInt8.self))
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

    private static func code(_ field: FacetField) -> UInt8 {
        UInt8(FacetField.allCases.firstIndex(of: field)!)
    }

    /// FNV-1a, eight bytes at a time then byte by byte: keys are short and only this process sees the table.
    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01b3
            h ^= h >> 29
            i += 8
        }
        while i < bytes.count {
            h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01b3
            i += 1
        }
        return h ^ (h >> 32)
    }
}
