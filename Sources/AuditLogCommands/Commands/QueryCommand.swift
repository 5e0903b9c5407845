import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import FoundationEssentials

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Show one page of the events matching filters, newest first, with a cursor for the next page.",
        discussion: """
            Filters combine with AND; repeated options (--actor, --action, --resource-type) match any of their \
            values. Pages are keyset-paginated: pass the printed cursor to --cursor for the next page; it stays \
            exact while the log grows.

            With --format table (default) the page is aligned for reading and ends with the next cursor. With \
            jsonl or csv the events go to stdout and `next cursor: C` to stderr (not on the last page). With json \
            stdout is {"events": [...], "nextCursor": "C" or null}.

            Examples:
              auditlog query --dir audit --actor user_00042 --limit 20
              auditlog query --dir audit --action delete --resource-type api_key --from 2026-11-17 --to 2026-11-17
              auditlog query --dir audit --resource-id prompt_42 --since 7d --format json
            """
    )

    @OptionGroup var log: LogLocation

    @OptionGroup var filters: FilterOptions

    @Option(help: "Events per page (1–10000).")
    var limit = 50

    @Option(help: ArgumentHelp("Continue after the page that printed this cursor.", valueName: "cursor"))
    var cursor: String?

    @Option(help: ArgumentHelp("table, jsonl, json or csv.", valueName: "format"))
    var format: Format = .table

    @Option(
        name: .customLong("repeat"),
        help: ArgumentHelp(
            "Run the query this many more times on the same engine and print latency percentiles to stderr "
                + "(for capacity planning).", valueName: "n"))
    var repetitions: Int = 0

    @Option(
        help: ArgumentHelp(
            "With --repeat: keep this much of decoded records between runs, as `auditlog serve --read-cache` does "
                + "(default 0: none), and print the cache's hits.",
            valueName: "size"))
    var readCache: ByteSize = ByteSize(argument: "0")!

    @Flag(
        help:
            "With --archive s3://BUCKET/PREFIX: every log archived there (a fleet's), merged by timestamp, one cursor.")
    var allLogs = false

    enum Format: String, ExpressibleByArgument {
        case table, jsonl, json, csv
    }

    func validate() throws {
        guard !allLogs || (log.archive != nil && format != .csv && repetitions == 0) else {
            throw ValidationError("--all-logs reads --archive s3://BUCKET/PREFIX, in table, jsonl or json")
        }
        guard readCache.bytes == 0 || repetitions > 0 else {
            throw ValidationError("--read-cache is for --repeat (a query run once cannot use a cache)")
        }
    }

    func run() throws {
        var query = try filters.query(defaultOrder: .newestFirst)
        query.limit = limit
        query.cursor = cursor
        if allLogs { return try runFleet(query) }
        let directory = try log.directory()
        let engine = try reportingErrors { () throws(AuditLogError) in
            try AuditLogReader(directory: directory, cacheBytes: readCache.bytes)
        }
        let started = monotonicSeconds()
        let page = try reportingErrors { () throws(AuditLogError) in try engine.events(matching: query) }
        let first = monotonicSeconds() - started
        if repetitions > 0 {
            var times: [Double] = []
            for _ in 0..<repetitions {
                let t = monotonicSeconds()
                _ = try reportingErrors { () throws(AuditLogError) in try engine.events(matching: query) }
                times.append(monotonicSeconds() - t)
            }
            times.sort()
            func ms(_ q: Double) -> String {
                Console.fixed(times[min(times.count - 1, Int(q * Double(times.count)))] * 1000, 3)
            }
            Console.error(
                "first run \(Console.fixed(first * 1000, 3)) ms (opens indexes); \(repetitions) more: p50 \(ms(0.5)) ms, "
                    + "p99 \(ms(0.99)) ms, max \(Console.fixed(times.last! * 1000, 3)) ms")
            if let cache = engine.cacheStatistics {
                Console.error(
                    "read cache: \(cache.hits) frame hits, \(cache.misses) misses; holds \(cache.frames) frames, "
                        + "\(cache.bytes) of \(cache.capacityBytes) bytes")
            }
        }
        switch format {
        case .table:
            Console.print(Self.table(page.events))
            Console.print(page.nextCursor.map { "next cursor: \($0)" } ?? "(last page)")
        case .jsonl, .csv:
            var encoder = ExportEncoder(format: format == .csv ? .csv : .jsonLines)
            var out: [UInt8] = []
            encoder.appendHeader(to: &out)
            for event in page.events { encoder.append(event, to: &out) }
            Console.writeAll(1, out)
            if let next = page.nextCursor { Console.error("next cursor: \(next)") }
        case .json:
            var out = Array("{\"events\":[".utf8)
            for (i, event) in page.events.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                event.appendJSON(to: &out)
            }
            out += Array("],\"nextCursor\":\(page.nextCursor.map { "\"\($0)\"" } ?? "null")}\n".utf8)
            Console.writeAll(1, out)
        }
    }

    /// A page merged from every log under the archive's prefix: each event tagged with its log.
    private func runFleet(_ query: Query) throws {
        let logs = try log.fleet()
        let page = try reportingErrors { () throws(AuditLogError) -> FleetQuery.Page in
            let readers = try logs.map { (log) throws(AuditLogError) in
                (log.id, try AuditLogReader(directory: log.directory))
            }
            return try FleetQuery.page(readers, matching: query)
        }
        switch format {
        case .table, .csv:
            Console.print(Self.table(page.entries.map(\.event), logs: page.entries.map(\.logID)))
            Console.print(page.nextCursor.map { "next cursor: \($0)" } ?? "(last page)")
        case .jsonl, .json:
            // Each event's JSON with its log first: {"log":"<id>", …}.
            var lines: [[UInt8]] = []
            for entry in page.entries {
                var event: [UInt8] = []
                entry.event.appendJSON(to: &event)
                var line = Array("{\"log\":".utf8)
                JSONWriter.appendString(entry.logID, to: &line)
                line.append(UInt8(ascii: ","))
                line += event.dropFirst()
                lines.append(line)
            }
            if format == .jsonl {
                Console.writeAll(1, lines.flatMap { $0 + [0x0A] })
                if let next = page.nextCursor { Console.error("next cursor: \(next)") }
            } else {
                var out = Array("{\"events\":[".utf8) + Array(lines.joined(separator: [UInt8(ascii: ",")]))
                out += Array("],\"nextCursor\":\(page.nextCursor.map { "\"\($0)\"" } ?? "null")}\n".utf8)
                Console.writeAll(1, out)
            }
        }
    }

    /// Aligned columns: seq, time, actor, action, resource, source (and the log, for a fleet).
    static func table(_ events: [StoredEvent], logs: [String]? = nil) -> String {
        var header = ["SEQ", "TIME (UTC)", "ACTOR", "ACTION", "RESOURCE", "SOURCE"]
        if logs != nil { header.insert("LOG", at: 0) }
        var rows = [header]
        for (i, stored) in events.enumerated() {
            let e = stored.event
            let actor = e.actor.name.map { "\($0) (\(e.actor.id))" } ?? "\(e.actor.type.rawValue):\(e.actor.id)"
            var row = [
                String(stored.seq), e.timestamp.rfc3339, clip(actor, 40), clip(e.action, 28),
                clip("\(e.resource.type) \(e.resource.id)", 40), e.source ?? "",
            ]
            if let logs { row.insert(clip(logs[i], 40), at: 0) }
            rows.append(row)
        }
        if events.isEmpty { return "no matching events" }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func clip(_ text: String, _ width: Int) -> String {
        // Control characters would break the table (and could drive the terminal): show them escaped.
        let safe = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return safe.count <= width ? safe : String(safe.prefix(width - 1)) + "…"
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show every field of one event and what changed from before to after.",
        discussion: "Example:\n  auditlog show --dir audit 1832"
    )

    @OptionGroup var log: LogLocation

    @Argument(help: "The event's sequence number.")
    var seq: UInt64

    static func describe(_ reference: AuditEvent.Reference) -> String {
        reference.name.map { "\($0) (\(reference.id))" } ?? reference.id
    }

    func run() throws {
        let directory = try log.directory()
        let (stored, changes, redaction) = try reportingErrors { () throws(AuditLogError) in
            let engine = try AuditLogReader(directory: directory)
            let stored = try engine.event(seq: seq)
            return (stored, try EventDiff.changes(of: stored.event), try engine.redactionDetails(of: stored))
        }
        let e = stored.event
        var lines: [(String, String?)] = [
            ("seq", String(stored.seq)), ("id", e.id), ("timestamp", e.timestamp.rfc3339),
            ("actor.type", e.actor.type.rawValue), ("actor.id", e.actor.id), ("actor.name", e.actor.name),
            ("actor.roles", e.actor.roles?.joined(separator: ", ")), ("actor.authMethod", e.actor.authMethod),
            ("action", e.action), ("resource.type", e.resource.type), ("resource.id", e.resource.id),
            ("resource.name", e.resource.name), ("org", e.org.map(Self.describe)),
            ("project", e.project.map(Self.describe)), ("source", e.source),
            ("ip", e.ip), ("userAgent", e.userAgent), ("before", e.before?.text), ("after", e.after?.text),
            ("metadata", e.metadata?.text), ("leafHash", stored.leafHash.hex),
            (
                "redacted",
                redaction.map { (details: RedactionDetails) -> String in
                    let fields = details.fields.map(\.rawValue).joined(separator: ", ")
                    return "\(fields) removed on \(details.timestamp) by event \(details.eventSeq): \(details.reason)"
                }
            ),
        ]
        lines = lines.filter { $0.1 != nil }
        let width = lines.map(\.0.count).max() ?? 0
        for (key, value) in lines {
            Console.print(
                key + String(repeating: " ", count: width - key.count) + "  " + QueryCommand.clip(value!, 500))
        }
        Console.print()
        guard e.before != nil || e.after != nil else {
            Console.print("no before/after state")
            return
        }
        guard !changes.isEmpty else {
            Console.print("before and after are equal")
            return
        }
        let rows =
            [["CHANGE", "PATH", "BEFORE", "AFTER"]]
            + changes.map {
                [$0.kind.rawValue, $0.path.isEmpty ? "(whole value)" : $0.path, $0.old ?? "", $0.new ?? ""]
            }
        var widths = [0, 0, 0]
        for row in rows { for i in 0..<3 { widths[i] = min(48, max(widths[i], row[i].count)) } }
        for row in rows {
            Console.print(
                (0..<3).map {
                    Console.padded(QueryCommand.clip(row[$0], 48), widths[$0])
                }.joined(separator: "  ") + "  " + QueryCommand.clip(row[3], 48))
        }
    }
}
