import ArgumentParser
import AuditLog
import Foundation

/// The filter options shared by `query` and `export`.
struct FilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Events at or after T: RFC 3339, or a date (meaning 00:00:00.000 UTC).", valueName: "T"))
    var from: String?

    @Option(
        help: ArgumentHelp("Events at or before T: RFC 3339, or a date (meaning 23:59:59.999 UTC).", valueName: "T"))
    var to: String?

    @Option(help: ArgumentHelp("Events of the last DURATION: 30m, 24h, 7d (instead of --from).", valueName: "duration"))
    var since: String?

    @Option(name: .customLong("actor"), help: ArgumentHelp("Actor id (repeatable: any of them).", valueName: "id"))
    var actors: [String] = []

    @Option(name: .customLong("action"), help: ArgumentHelp("Action (repeatable: any of them).", valueName: "action"))
    var actions: [String] = []

    @Option(name: .customLong("resource-type"), help: ArgumentHelp("Resource type (repeatable).", valueName: "type"))
    var resourceTypes: [String] = []

    @Option(help: ArgumentHelp("Resource id.", valueName: "id"))
    var resourceId: String?

    @Option(help: ArgumentHelp("Organization id.", valueName: "id"))
    var org: String?

    @Option(help: ArgumentHelp("Project id.", valueName: "id"))
    var project: String?

    @Option(help: ArgumentHelp("Source: web, api, mcp, cli, …", valueName: "source"))
    var source: String?

    @Option(help: ArgumentHelp("newest or oldest first (query: newest; export: oldest).", valueName: "order"))
    var order: OrderArgument?

    enum OrderArgument: String, ExpressibleByArgument {
        case newest, oldest
    }

    func validate() throws {
        if since != nil && from != nil { throw ValidationError("give --since or --from, not both") }
        _ = try query(defaultOrder: .newestFirst)
    }

    /// The query these options describe; `defaultOrder` applies when `--order` is not given.
    func query(defaultOrder: Query.Order) throws -> Query {
        var q = Query(
            actors: actors, actions: actions, resourceTypes: resourceTypes, resourceID: resourceId, org: org,
            project: project, source: source,
            order: order.map { $0 == .newest ? .newestFirst : .oldestFirst } ?? defaultOrder)
        if let from { q.from = try Self.time(from, endOfDay: false, option: "--from") }
        if let to { q.to = try Self.time(to, endOfDay: true, option: "--to") }
        if let since {
            guard let duration = Self.milliseconds(since) else {
                throw ValidationError("--since takes a number and a unit: 30m, 24h, 7d (got \(since))")
            }
            q.from = Int64(Date().timeIntervalSince1970 * 1000) - duration
        }
        if let from = q.from, let to = q.to, from > to { throw ValidationError("--from is after --to") }
        return q
    }

    static func time(_ text: String, endOfDay: Bool, option: String) throws -> Int64 {
        if let ms = Timestamp.parse(text) { return ms }
        if let day = Timestamp.parseDate(text) { return endOfDay ? day + 86_399_999 : day }
        throw ValidationError(
            "\(option) takes an RFC 3339 time (2026-11-22T03:13:33Z) or a date (2026-11-22); got \(text)")
    }

    static func milliseconds(_ text: String) -> Int64? {
        guard let unit = text.last, let value = Int64(text.dropLast()), value >= 0 else { return nil }
        switch unit {
        case "s": return value * 1000
        case "m": return value * 60_000
        case "h": return value * 3_600_000
        case "d": return value * 86_400_000
        default: return nil
        }
    }
}
