/// Pages of events from several logs (a fleet's: one log per service instance) merged by timestamp, with one
/// cursor (FORMAT.md, "Query cursors"). Each log is read in its own order (by seq); the logs' events are
/// interleaved by timestamp, newest or oldest first as the query says, ties broken by log id then seq.
public enum FleetQuery {
    /// One event and the log it comes from.
    public struct Entry: Sendable, Equatable {
        public var logID: String
        public var event: StoredEvent
    }

    public struct Page: Sendable, Equatable {
        public var entries: [Entry]
        /// Pass as ``Query/cursor`` for the next page; nil when every log is exhausted.
        public var nextCursor: String?
    }

    /// A page of at most `query.limit` events from the logs, after `query.cursor` (a ``Page/nextCursor``).
    /// - Throws: ``AuditLogError/Code/invalidArgument`` for a cursor that is not one of these pages'.
    public static func page(_ logs: [(id: String, reader: AuditLogReader)], matching query: Query)
        throws(AuditLogError) -> Page
    {
        var states = try decode(query.cursor)
        let newest = query.order == .newestFirst
        var heads: [(id: String, events: ArraySlice<StoredEvent>, page: QueryPage, query: Query)] = []
        for (id, reader) in logs.sorted(by: { $0.id < $1.id }) {
            var own = query
            switch states[id] {
            case .exhausted?: continue
            case .after(let cursor)?: own.cursor = cursor
            case nil: own.cursor = nil
            }
            let page = try reader.events(matching: own)
            heads.append((id, page.events[...], page, own))
        }
        var entries: [Entry] = []
        var taken: [String: StoredEvent] = [:]
        while entries.count < query.limit {
            // The log whose next event comes first.
            var best: Int?
            for (i, head) in heads.enumerated() {
                guard let event = head.events.first else { continue }
                guard let b = best, let current = heads[b].events.first else {
                    best = i
                    continue
                }
                let (t, u) = (event.event.timestamp, current.event.timestamp)
                if newest ? t > u : t < u { best = i }
            }
            guard let b = best, let event = heads[b].events.popFirst() else { break }
            entries.append(Entry(logID: heads[b].id, event: event))
            taken[heads[b].id] = event
        }
        // Where each log goes on from: after its last event taken; the log's own next page once its page is used
        // up (exhausted when that was its last); unchanged when nothing was taken from it.
        var more = false
        for head in heads {
            if head.events.isEmpty {
                states[head.id] = head.page.nextCursor.map { .after($0) } ?? .exhausted
            } else if let last = taken[head.id] {
                states[head.id] = .after(QueryCursor.encode(after: last.seq, query: head.query))
            }
            if case .after = states[head.id] { more = true }
        }
        return Page(entries: entries, nextCursor: more ? encode(states) : nil)
    }

    private enum State: Equatable {
        case after(String)
        case exhausted
    }

    /// `f1` then, per log, a line `<log id> <its cursor or ->`, in base64url.
    private static func encode(_ states: [String: State]) -> String {
        var text = "f1\n"
        for (id, state) in states.sorted(by: { $0.key < $1.key }) {
            switch state {
            case .after(let cursor): text += "\(id) \(cursor)\n"
            case .exhausted: text += "\(id) -\n"
            }
        }
        return Base64.encode(Array(text.utf8)).base64URL
    }

    private static func decode(_ cursor: String?) throws(AuditLogError) -> [String: State] {
        guard let cursor else { return [:] }
        let invalid = AuditLogError(
            .invalidArgument, "this cursor is not valid for a fleet query: pass the next cursor of a previous page")
        guard let bytes = Base64.decode(base64URL: cursor) else { throw invalid }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.first == "f1" else { throw invalid }
        var states: [String: State] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw invalid }
            states[String(parts[0])] = parts[1] == "-" ? .exhausted : .after(String(parts[1]))
        }
        return states
    }
}
