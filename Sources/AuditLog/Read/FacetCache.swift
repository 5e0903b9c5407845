/// The facet summaries of a reader's segments: for sealed segments read from their `.fct` file one field at a time
/// as queries ask for it (or computed from the records when it is missing or damaged, as the writer's maintenance
/// thread does), for the active segment read from the summary its writer left at a clean close and extended by
/// walking the blocks after it (or computed from its records), then extended block by block as it grows. Sealed
/// summaries are kept while the segment file is the same (redaction replaces it, with a new inode).
final class FacetCache: Sendable {
    private struct Entry {
        var inode: UInt64?
        var facets: SegmentFacets
        /// The fields `facets` counts (every one, except for a sealed segment's file read field by field).
        var fields: Set<FacetField>
        /// Where the walk of the active segment stopped, to go on from there.
        var resume: (offset: Int64, nextSeq: UInt64, blockCount: UInt32, lastRoot: SHA256Hash?)?
    }

    private let entries = Locked<[UInt64: Entry]>([:])

    /// The summary of `segment` (the last one is the active segment unless sealed), counting at least `field`.
    func facets(_ segment: (baseSeq: UInt64, path: String), field: FacetField, isLast: Bool, directory: String)
        throws(AuditLogError) -> SegmentFacets
    {
        let inode = LogFiles.inode(ofSegment: segment.path)
        let cached = entries.withLock { $0[segment.baseSeq] }.flatMap { $0.inode == inode ? $0 : nil }
        if let cached, cached.resume == nil {
            if cached.fields.contains(field) { return cached.facets }
            if let stored = SegmentFacets.stored(segment, directory: directory, only: field) {
                var grown = cached
                grown.facets.entries.merge(stored.entries) { old, _ in old }
                grown.fields.insert(field)
                entries.withLock { $0[segment.baseSeq] = grown }
                return grown.facets
            }
        }
        let file = try SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq)
        var facets = SegmentFacets(baseSeq: segment.baseSeq)
        var walker: SegmentWalker?
        if let cached, let resume = cached.resume {
            facets = cached.facets
            walker = try SegmentWalker(
                file: file, checking: .blocks, offset: resume.offset, nextSeq: resume.nextSeq,
                blockCount: resume.blockCount, lastRoot: resume.lastRoot)
        } else if !isLast {
            if let stored = SegmentFacets.stored(segment, directory: directory, only: field) {
                entries.withLock {
                    $0[segment.baseSeq] = Entry(inode: inode, facets: stored, fields: [field], resume: nil)
                }
                return stored
            }
        } else if let stored = SegmentFacets.read(baseSeq: segment.baseSeq, directory: directory),
            let resumed = try? SegmentFacets.walker(resumingAfter: stored.endSeq, in: file, directory: directory)
        {
            facets = stored
            walker = resumed
        }
        var walk: SegmentWalker
        if let walker { walk = walker } else { walk = try SegmentWalker(file: file, checking: .blocks) }
        try facets.add(walking: &walk)
        let resume = walk.sealed ? nil : (walk.offset, walk.nextSeq, walk.blockCount, walk.lastRoot)
        entries.withLock {
            $0[segment.baseSeq] = Entry(
                inode: inode, facets: facets, fields: Set(FacetField.allCases), resume: resume)
        }
        return facets
    }

    /// Forgets the summaries of segments that retention removed.
    func keep(only segments: [(baseSeq: UInt64, path: String)]) {
        entries.withLock { entries in
            guard entries.count > segments.count else { return }
            let present = Set(segments.map(\.baseSeq))
            entries = entries.filter { present.contains($0.key) }
        }
    }
}

/// The distinct values of a facet field, most frequent first.
public struct FacetResult: Sendable, Equatable, Codable {
    public var field: FacetField
    public var values: [FacetValue]
    /// Whether more values exist than were returned.
    public var truncated: Bool

    public init(field: FacetField, values: [FacetValue], truncated: Bool) {
        self.field = field
        self.values = values
        self.truncated = truncated
    }
}

extension AuditLogReader {
    /// The distinct values of `field` over the whole log, with how many events carry each, most frequent first:
    /// read from the per-segment summaries (FORMAT.md, "Indexes"), not by scanning events once they exist.
    /// - Parameters:
    ///   - orgIDs: Count only events of these orgs (nil: all events).
    ///   - limit: At most this many values.
    public func facets(_ field: FacetField, orgIDs: [String]? = nil, limit: Int = 1000) throws(AuditLogError)
        -> FacetResult
    {
        let segments = try LogFiles.segments(in: directory)
        facetCache.keep(only: segments)
        let orgs = orgIDs.map(Set.init)
        var totals: [String: FacetValue] = [:]
        for (i, segment) in segments.enumerated() {
            let facets = try facetCache.facets(
                segment, field: field, isLast: i == segments.count - 1, directory: directory)
            for (key, entry) in facets.entries where key.field == field {
                if let orgs, !orgs.contains(key.org) { continue }
                var total = totals[key.value, default: FacetValue(value: key.value, count: 0)]
                total.count += entry.count
                total.name = entry.name ?? total.name
                total.kind = entry.kind ?? total.kind
                totals[key.value] = total
            }
        }
        let sorted = totals.values.sorted { ($0.count, $1.value) > ($1.count, $0.value) }
        return FacetResult(field: field, values: Array(sorted.prefix(max(0, limit))), truncated: sorted.count > limit)
    }
}
