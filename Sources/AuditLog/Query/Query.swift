/// A filtered, ordered, paginated selection of events.
///
/// Every filter that is set must match (AND); a list filter matches any of its values (OR). Time bounds are
/// inclusive milliseconds. Order is by seq: newest first means the most recently appended first.
public struct Query: Sendable, Equatable {
    public enum Order: String, Sendable {
        case newestFirst = "newest"
        case oldestFirst = "oldest"
    }

    public var from: Int64?
    public var to: Int64?
    public var actors: [String] = []
    public var actions: [String] = []
    public var resourceTypes: [String] = []
    public var resourceID: String?
    public var org: String?
    public var project: String?
    public var source: String?
    public var order: Order = .newestFirst
    /// Events per page (1…10,000). Default 100.
    public var limit = 100
    /// Where the previous page ended (``QueryPage/nextCursor``); nil for the first page.
    public var cursor: String?

    public init(
        from: Int64? = nil, to: Int64? = nil, actors: [String] = [], actions: [String] = [],
        resourceTypes: [String] = [], resourceID: String? = nil, org: String? = nil, project: String? = nil,
        source: String? = nil, order: Order = .newestFirst, limit: Int = 100, cursor: String? = nil
    ) {
        self.from = from
        self.to = to
        self.actors = actors
        self.actions = actions
        self.resourceTypes = resourceTypes
        self.resourceID = resourceID
        self.org = org
        self.project = project
        self.source = source
        self.order = order
        self.limit = limit
        self.cursor = cursor
    }

    /// Whether the time range is the only filter (the scan applies it to records before decoding them).
    var filtersOnlyByTime: Bool {
        actors.isEmpty && actions.isEmpty && resourceTypes.isEmpty && resourceID == nil && org == nil
            && project == nil && source == nil
    }

    var timeRange: ClosedRange<Int64>? {
        guard from != nil || to != nil else { return nil }
        return (from ?? .min)...(to ?? .max)
    }

    /// Whether `event` passes every filter.
    func matches(_ event: AuditEvent) -> Bool {
        if let from, event.timestamp < from { return false }
        if let to, event.timestamp > to { return false }
        if !actors.isEmpty && !actors.contains(event.actor.id) { return false }
        if !actions.isEmpty && !actions.contains(event.action) { return false }
        if !resourceTypes.isEmpty && !resourceTypes.contains(event.resource.type) { return false }
        if let resourceID, event.resource.id != resourceID { return false }
        if let org, event.org?.id != org { return false }
        if let project, event.project?.id != project { return false }
        if let source, event.source != source { return false }
        return true
    }

    /// A fingerprint of the filters and order, carried in cursors so that a cursor is only used with the query
    /// that produced it.
    var fingerprint: UInt64 {
        var text = "\(from.map(String.init) ?? "")|\(to.map(String.init) ?? "")|\(order.rawValue)"
        for list in [actors, actions, resourceTypes] { text += "|" + list.sorted().joined(separator: "\u{1F}") }
        for value in [resourceID, org, project, source] { text += "|" + (value ?? "\u{1E}") }
        return SegmentIndexFiles.actorHash(text)
    }
}

/// One page of results.
public struct QueryPage: Sendable {
    public var events: [StoredEvent]
    /// Pass as ``Query/cursor`` for the next page; nil when this is the last page.
    public var nextCursor: String?
}

/// The opaque keyset cursor: `v1.<seq>.<fingerprint>` in base64url. Pages continue strictly after (oldest first)
/// or before (newest first) that seq, so a cursor stays exact while the writer appends.
enum QueryCursor {
    static func encode(after seq: UInt64, query: Query) -> String {
        let text = "v1.\(seq).\(String(query.fingerprint, radix: 16))"
        return Base64.encode(Array(text.utf8)).replacingBase64URL()
    }

    static func decode(_ cursor: String, query: Query) throws(AuditLogError) -> UInt64 {
        let invalid = AuditLogError(
            .invalidArgument, "this cursor is not valid: pass the nextCursor of a previous page")
        guard let bytes = Base64.decode(cursor.restoringBase64()) else { throw invalid }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ".")
        guard parts.count == 3, parts[0] == "v1", let seq = UInt64(parts[1]),
            let fingerprint = UInt64(parts[2], radix: 16)
        else { throw invalid }
        guard fingerprint == query.fingerprint else {
            throw AuditLogError(
                .invalidArgument, "this cursor belongs to a query with other filters or order; start again without it")
        }
        return seq
    }
}

extension String {
    fileprivate func replacingBase64URL() -> String {
        String(
            String.UnicodeScalarView(
                unicodeScalars.compactMap { c -> Unicode.Scalar? in
                    switch c {
                    case "+": "-"
                    case "/": "_"
                    case "=": nil
                    default: c
                    }
                }))
    }

    fileprivate func restoringBase64() -> String {
        var text = String(String.UnicodeScalarView(unicodeScalars.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 }))
        while text.utf8.count % 4 != 0 { text += "=" }
        return text
    }
}
