/// A query's field filters, compared with a record's fields byte for byte, without building strings: the answer
/// ``Query/matches(_:)`` gives for the decoded event, less the time range (which the scan checks on the record
/// first).
struct RecordFilter {
    private let actorIDs: [[UInt8]]
    private let actions: [[UInt8]]
    private let resourceTypes: [[UInt8]]
    private let resourceIDs: [[UInt8]]
    private let orgIDs: [[UInt8]]
    private let projectIDs: [[UInt8]]
    private let sources: [[UInt8]]
    /// What an absent optional field is compared as (``Query/matches(_:)``: `"\u{0}"`).
    private static let absent: [UInt8] = [0]

    init(_ query: Query) {
        func bytes(_ list: [String]) -> [[UInt8]] { list.map { Array($0.utf8) } }
        actorIDs = bytes(query.actorIDs)
        actions = bytes(query.actions)
        resourceTypes = bytes(query.resourceTypes)
        resourceIDs = bytes(query.resourceIDs)
        orgIDs = bytes(query.orgIDs)
        projectIDs = bytes(query.projectIDs)
        sources = bytes(query.sources)
    }

    /// The values of the filtered field (other than the actor) with the longest shortest value (the most telling
    /// bytes), one of which every matching record holds verbatim (values are stored as they are, FORMAT.md
    /// "Record"): a search for them in a decompressed block finds the only records worth reading. Empty when no
    /// field qualifies (no field filter, an empty value, or the value absent fields are compared as).
    var anchor: [[UInt8]] {
        var best: [[UInt8]] = []
        var bestLength = 0
        // Not the actor: its records are found through the actor index, by seq.
        for list in [actions, resourceTypes, resourceIDs, orgIDs, projectIDs, sources] where !list.isEmpty {
            let shortest = list.map(\.count).min()!
            if shortest > bestLength && !list.contains(Self.absent) {
                best = list
                bestLength = shortest
            }
        }
        return best
    }

    /// Whether the query filters on fields at all.
    var isEmpty: Bool {
        actorIDs.isEmpty && actions.isEmpty && resourceTypes.isEmpty && resourceIDs.isEmpty && orgIDs.isEmpty
            && projectIDs.isEmpty && sources.isEmpty
    }

    /// Whether a record matches, read without checking its text first: most records of a block read for a rare
    /// value do not, and checking each one's UTF-8 was most of such a query. A record that does not read at all
    /// passes, so that the caller's checked read reports it.
    func matches(record: UnsafeRawBufferPointer) -> Bool {
        guard !isEmpty, let f = try? RecordFields(record, checked: false) else { return true }
        return matches(f)
    }

    func matches(_ f: RecordFields) -> Bool {
        Self.any(actorIDs, f.actorID) && Self.any(actions, f.action) && Self.any(resourceTypes, f.resourceType)
            && Self.any(resourceIDs, f.resourceID) && Self.any(orgIDs, f.orgID) && Self.any(projectIDs, f.projectID)
            && Self.any(sources, f.source)
    }

    /// Whether `list` is empty or holds `value` (an absent value being ``absent``).
    @inline(__always)
    private static func any(_ list: [[UInt8]], _ value: UnsafeRawBufferPointer?) -> Bool {
        if list.isEmpty { return true }
        guard let value else { return list.contains(absent) }
        return list.contains { $0.withUnsafeBytes { $0.elementsEqual(value) } }
    }
}
