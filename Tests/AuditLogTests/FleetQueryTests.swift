import AuditLog
import AuditLogTestSupport
import Testing

@Suite("Fleet queries: several logs, one cursor")
struct FleetQueryTests {
    /// A log whose events carry these times (milliseconds), in this order.
    func log(_ dir: TemporaryDirectory, _ times: [Int64], action: String) throws -> AuditLogReader {
        let log = try AuditLog(directory: dir.path)
        for time in times {
            try log.append(
                AuditEvent(
                    timestamp: Timestamp(millisecondsSinceEpoch: 1_767_225_600_000 + time),
                    actor: .init(type: .user, id: "u"), action: action, resource: .init(type: "doc", id: "\(time)")))
        }
        try log.close()
        return try AuditLogReader(directory: dir.path)
    }

    @Test("pages interleave the logs by time, newest first, and the cursor walks every event exactly once")
    func merged() throws {
        let (a, b) = (try TemporaryDirectory(), try TemporaryDirectory())
        let logs = [("b", try log(b, [2, 4, 6, 8], action: "b")), ("a", try log(a, [1, 3, 5, 7, 9], action: "a"))]
        var query = Query(order: .newestFirst)
        query.limit = 3
        var times: [String] = []
        var pages = 0
        repeat {
            let page = try FleetQuery.page(logs, matching: query)
            #expect(page.entries.count <= 3)
            times += page.entries.map { "\($0.logID)\($0.event.event.resource.id)" }
            query.cursor = page.nextCursor
            pages += 1
        } while query.cursor != nil && pages < 10
        #expect(times == ["a9", "b8", "a7", "b6", "a5", "b4", "a3", "b2", "a1"])
        #expect(pages == 3)
        // Filters apply to every log; a cursor from elsewhere is refused.
        var filtered = Query(order: .oldestFirst)
        filtered.actions = ["b"]
        #expect(try FleetQuery.page(logs, matching: filtered).entries.map(\.logID) == ["b", "b", "b", "b"])
        var bad = Query()
        bad.cursor = "not-a-cursor"
        #expect(throws: AuditLogError.self) { try FleetQuery.page(logs, matching: bad) }
    }
}
