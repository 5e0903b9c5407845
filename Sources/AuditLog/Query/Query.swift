/// A filtered, ordered, paginated selection of events.
///
/// Every filter that is set must match (AND); a list filter matches any of its values (OR), and an empty list
/// does not filter. Values match when their UTF-8 bytes are equal (ids are opaque: no Unicode normalization). Time bounds are inclusive. Order is by seq: newest first means the most recently appended
/// first.
///
/// ```swift
/// var query = Query(from: .now - .seconds(86_400), actorIDs: ["user_42"], actions: ["update", "delete"])
/// query.limit = 50
/// ```
public struct Query: Sendable, Equatable {
    public enum Order: String, Sendable, Codable {
        case newestFirst = "newest"
        case oldestFirst = "oldest"
    }

    /// Events at or after this instant.
    public var from: Timestamp?
    /// Events at or before this instant.
    public var to: Timestamp?
    /// `actor.id` is one of these.
    public var actorIDs: [String] = []
    /// `action` is one of these.
    public var actions: [String] = []
    /// `resource.type` is one of these.
    public var resourceTypes: [String] = []
    /// `resource.id` is one of these.
    public var resourceIDs: [String] = []
    /// `org.id` is one of these.
    public var orgIDs: [String] = []
    /// `project.id` is one of these.
    public var projectIDs: [String] = []
    /// `source` is one of these.
    public var sources: [String] = []
    /// Only events with a greater seq: what an incremental export that ended at this seq has not shipped yet.
    public var afterSeq: UInt64?
    public var order: Order = .newestFirst
    /// Events per page (1…10,000). Default 100.
    public var limit = 100
    /// Where the previous page ended (``QueryPage/nextCursor``); nil for the first page.
    public var cursor: String?

    public init(
        from: Timestamp? = nil, to: Timestamp? = nil, actorIDs: [String] = [], actions: [String] = [],
        resourceTypes: [String] = [], resourceIDs: [String] = [], orgIDs: [String] = [], projectIDs: [String] = [],
        sources: [String] = [], afterSeq: UInt64? = nil, order: Order = .newestFirst, limit: Int = 100,
        cursor: String? = nil
    ) {
        self.from = from
        self.to = to
        self.actorIDs = actorIDs
        self.actions = actions
        self.resourceTypes = resourceTypes
        self.resourceIDs = resourceIDs
        self.orgIDs = orgIDs
        self.projectIDs = projectIDs
        self.sources = sources
        self.afterSeq = afterSeq
        self.order = order
        self.limit = limit
        self.cursor = cursor
    }

    /// Whether `from` is later than `to`, so that nothing can match.
    var isEmptyTimeRange: Bool {
        guard let from, let to else { return false }
        return from > to
    }

    /// The time range in milliseconds, as the indexes store it (nil when unbounded or empty).
    var timeRange: ClosedRange<Int64>? {
        guard from != nil || to != nil, !isEmptyTimeRange else { return nil }
        return (from?.millisecondsSinceEpoch ?? .min)...(to?.millisecondsSinceEpoch ?? .max)
    }

    /// Whether `event` passes every filter (the time range and the field filters; not `afterSeq`). Values are
    /// compared byte for byte in UTF-8, as the indexes compare them (not by Unicode canonical equivalence).
    public func matches(_ event: AuditEvent) -> Bool {
        func any(_ list: [String], _ value: String?) -> Bool {
            list.isEmpty || list.contains { $0.utf8.elementsEqual((value ?? "\u{0}").utf8) }
        }
        if let from, event.timestamp < from { return false }
        if let to, event.timestamp > to { return false }
        return any(actorIDs, event.actor.id) && any(actions, event.action) && any(resourceTypes, event.resource.type)
            && any(resourceIDs, event.resource.id) && any(orgIDs, event.org?.id) && any(projectIDs, event.project?.id)
            && any(sources, event.source)
    }

    /// A fingerprint of the filters and order, carried in cursors so that a cursor is only used with the query
    /// that produced it.
    var fingerprint: UInt64 {
        let bounds = [from, to].map { $0.map { String($0.millisecondsSinceEpoch) } ?? "" }
        var text = "\(bounds[0])|\(bounds[1])|\(order.rawValue)|\(afterSeq.map(String.init) ?? "")"
        for list in [actorIDs, actions, resourceTypes, resourceIDs, orgIDs, projectIDs, sources] {
            text += "|" + list.sorted().joined(separator: "\u{1F}")
        }
        return FNV1a.hash(text)
    }
}

/// One page of results.
public struct QueryPage: Sendable, Equatable, Codable {
    public var events: [StoredEvent]
    /// Pass as ``Query/cursor`` for the next page; nil when this is the last page.
    public var nextCursor: String?

    public init(events: [StoredEvent], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }
}
