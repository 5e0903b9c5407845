extension Query {
    /// The parameters ``init(parameters:defaultOrder:now:)`` reads, as the HTTP API and the page name them.
    public static let parameterNames: [String] = [
        "from", "to", "since", "actor", "action", "resourceType", "resourceId", "org", "project", "source",
        "afterSeq", "order", "limit", "cursor",
    ]

    /// A query from named text parameters, as the `auditlog` options and the HTTP API's query string give them.
    ///
    /// - `from`, `to`: RFC 3339, or a calendar date `YYYY-MM-DD` meaning 00:00:00.000 (`from`) or 23:59:59.999
    ///   (`to`) UTC; inclusive.
    /// - `since`: the last `30m`, `24h`, `7d` … before `now` (with `from` too, the later of the two).
    /// - `actor`, `action`, `resourceType`, `resourceId`, `org`, `project`, `source`: repeatable, any of them.
    /// - `afterSeq`: only events with a greater seq (incremental exports).
    /// - `order`: `newest` or `oldest`; `limit`: 1 to 10,000; `cursor`: a previous page's `nextCursor`.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` with ``AuditLogError/field`` naming the parameter that is
    ///   unknown, repeated where it cannot be, or malformed.
    public init(
        parameters: [(name: String, value: String)], defaultOrder: Order = .newestFirst, now: Timestamp = .now
    ) throws(AuditLogError) {
        self.init(order: defaultOrder)
        var seen: Set<String> = []
        var since: Duration?
        for (name, value) in parameters {
            func fail(_ message: String) -> AuditLogError {
                AuditLogError(.invalidArgument, message, field: name)
            }
            let repeatable = ["actor", "action", "resourceType", "resourceId", "org", "project", "source"]
            if !repeatable.contains(name) && !seen.insert(name).inserted {
                throw fail("given more than once")
            }
            switch name {
            case "from":
                guard let time = Self.instant(value, endOfDay: false) else { throw fail(Self.timeHint(value)) }
                from = time
            case "to":
                guard let time = Self.instant(value, endOfDay: true) else { throw fail(Self.timeHint(value)) }
                to = time
            case "since":
                guard let duration = Duration(parsing: value) else {
                    throw fail("takes a number and a unit: 30m, 24h, 7d (got \"\(value)\")")
                }
                since = duration
            case "actor": actorIDs.append(value)
            case "action": actions.append(value)
            case "resourceType": resourceTypes.append(value)
            case "resourceId": resourceIDs.append(value)
            case "org": orgIDs.append(value)
            case "project": projectIDs.append(value)
            case "source": sources.append(value)
            case "afterSeq":
                guard let seq = UInt64(value) else { throw fail("is a sequence number (got \"\(value)\")") }
                afterSeq = seq
            case "order":
                switch value {
                case "newest": order = .newestFirst
                case "oldest": order = .oldestFirst
                default: throw fail("is newest or oldest (got \"\(value)\")")
                }
            case "limit":
                guard let number = Int(value), (1...10_000).contains(number) else {
                    throw fail("is a number from 1 to 10000 (got \"\(value)\")")
                }
                limit = number
            case "cursor":
                cursor = value
            default:
                throw fail("is not a filter; known: \(Self.parameterNames.joined(separator: ", "))")
            }
            if repeatable.contains(name) && value.isEmpty { throw fail("is empty") }
        }
        if let since {
            // With both, events must satisfy both: the later bound wins.
            from = max(from ?? now - since, now - since)
        }
        // A `from` after `to` selects nothing; that is an empty answer, not an error.
        if let cursor { _ = try QueryCursor.decode(cursor, query: self) }
    }

    /// An instant written as RFC 3339, or a date meaning its first (or, with `endOfDay`, last) millisecond.
    static func instant(_ text: String, endOfDay: Bool) -> Timestamp? {
        if let time = Timestamp(rfc3339: text) { return time }
        guard let day = Timestamp(date: text) else { return nil }
        return endOfDay ? day + .milliseconds(86_399_999) : day
    }

    private static func timeHint(_ text: String) -> String {
        "takes an RFC 3339 time (2026-11-22T03:13:33Z) or a date (2026-11-22); got \"\(text)\""
    }
}
