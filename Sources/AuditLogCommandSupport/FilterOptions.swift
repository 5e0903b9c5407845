import ArgumentParser
import AuditLog
import FoundationEssentials

/// The filter options shared by `query` and `export`.
package struct FilterOptions: ParsableArguments {
    package init() {}

    @Option(help: ArgumentHelp("Events at or after T: RFC 3339, or a date (meaning 00:00:00.000 UTC).", valueName: "T"))
    package var from: String?

    @Option(
        help: ArgumentHelp("Events at or before T: RFC 3339, or a date (meaning 23:59:59.999 UTC).", valueName: "T"))
    package var to: String?

    @Option(help: ArgumentHelp("Events of the last DURATION: 30m, 24h, 7d (instead of --from).", valueName: "duration"))
    package var since: String?

    @Option(name: .customLong("actor"), help: ArgumentHelp("Actor id (repeatable: any of them).", valueName: "id"))
    package var actors: [String] = []

    @Option(name: .customLong("action"), help: ArgumentHelp("Action (repeatable: any of them).", valueName: "action"))
    package var actions: [String] = []

    @Option(name: .customLong("resource-type"), help: ArgumentHelp("Resource type (repeatable).", valueName: "type"))
    package var resourceTypes: [String] = []

    @Option(name: .customLong("resource-id"), help: ArgumentHelp("Resource id (repeatable).", valueName: "id"))
    package var resourceIDs: [String] = []

    @Option(name: .customLong("org"), help: ArgumentHelp("Organization id (repeatable).", valueName: "id"))
    package var orgs: [String] = []

    @Option(name: .customLong("project"), help: ArgumentHelp("Project id (repeatable).", valueName: "id"))
    package var projects: [String] = []

    @Option(
        name: .customLong("source"),
        help: ArgumentHelp("Source: web, api, mcp, cli, … (repeatable).", valueName: "source"))
    package var sources: [String] = []

    @Option(help: ArgumentHelp("newest or oldest first (query: newest; export: oldest).", valueName: "order"))
    package var order: String?

    package func validate() throws {
        _ = try query(defaultOrder: .newestFirst)
    }

    /// The query these options describe; `defaultOrder` applies when `--order` is not given. The library parses
    /// them exactly as the HTTP API's query parameters of the same names.
    package func query(defaultOrder: Query.Order) throws -> Query {
        var parameters: [(name: String, value: String)] = []
        func add(_ name: String, _ values: [String]) { for value in values { parameters.append((name, value)) } }
        add("from", from.map { [$0] } ?? [])
        add("to", to.map { [$0] } ?? [])
        add("since", since.map { [$0] } ?? [])
        add("actor", actors)
        add("action", actions)
        add("resourceType", resourceTypes)
        add("resourceId", resourceIDs)
        add("org", orgs)
        add("project", projects)
        add("source", sources)
        add("order", order.map { [$0] } ?? [])
        do throws(AuditLogError) {
            if since != nil && from != nil { throw AuditLogError(.invalidArgument, "give --since or --from, not both") }
            let query = try Query(parameters: parameters, defaultOrder: defaultOrder)
            if let from = query.from, let to = query.to, from > to {
                throw AuditLogError(.invalidArgument, "is after --to (\(from) > \(to))", field: "from")
            }
            return query
        } catch {
            let option = error.field.map { "--" + Self.optionName($0) + " " } ?? ""
            throw ValidationError(option + error.message)
        }
    }

    /// `resourceType` → `resource-type`.
    package static func optionName(_ parameter: String) -> String {
        parameter.reduce(into: "") { name, c in
            if c.isUppercase { name += "-" + c.lowercased() } else { name.append(c) }
        }
    }
}
