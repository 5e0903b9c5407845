import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import AuditLogKeys
import FoundationEssentials

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list, update and revoke the API keys of `auditlog serve`.",
        discussion: """
            Keys live beside the log, in DIR/api-keys.json (owner-only): only the SHA-256 of each secret is \
            stored, so a token is shown once, when it is created. These commands work on the files, also while \
            `auditlog serve` runs: the server picks the change up at once. Creating, updating and revoking a key is \
            recorded in the log as an event (apiKey.create, apiKey.update, apiKey.revoke) by you as the operator: by \
            this command when no server holds the log, else by the server within a second.

            Permissions: auditLogs:write (append), auditLogs:read (query, details, facets, proofs, checkpoints), \
            auditLogs:export (bulk export), auditLogs:admin (keys, through the API). A key with --org sees and \
            appends only events of that org.
            """,
        subcommands: [KeysCreateCommand.self, KeysListCommand.self, KeysUpdateCommand.self, KeysRevokeCommand.self]
    )
}

/// The operator running this command, as the actor of the key events.
func operatorActor() -> AuditEvent.Actor {
    let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.userName
    return AuditEvent.Actor(type: .user, id: "unix:\(user)", name: user, authMethod: "local")
}

/// Records the key changes in the log if no server holds it; otherwise the server will.
func recordKeyChanges(_ store: APIKeyStore) async throws {
    var options = AuditLog.Options()
    options.createIfMissing = true
    let log: AuditLog
    do {
        log = try AuditLog(directory: store.directory, options: options)
    } catch {
        if error.code == .locked {
            Console.error("a server holds the log: it records this change in the log within a second")
            return
        }
        throw fail(error, hint: "the key file was changed; the change is recorded when the log next opens")
    }
    do {
        try await store.recordChanges(in: log)
        try await log.close()
    } catch {
        try? await log.close()
        throw fail(error)
    }
}

struct KeysCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an API key; prints its token (shown once) alone on stdout.",
        discussion: """
            Examples:
              auditlog keys create --dir audit --name ingest-service --permission auditLogs:write
              TOKEN=$(auditlog keys create --dir audit --name acme-admins --permission auditLogs:read \\
                  --permission auditLogs:export --org org_acme)
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Option(help: ArgumentHelp("A name for the key, unique among active keys.", valueName: "name"))
    var name: String

    @Option(
        name: .customLong("permission"),
        help: ArgumentHelp(
            "auditLogs:write, auditLogs:read, auditLogs:export or auditLogs:admin (repeatable).",
            valueName: "permission"))
    var permissions: [String]

    @Option(help: ArgumentHelp("Limit the key to the events of this org.", valueName: "org"))
    var org: String?

    func validate() throws {
        guard !permissions.isEmpty else { throw ValidationError("give at least one --permission") }
        try checkPermissionNames(permissions)
    }

    func run() async throws {
        let store = APIKeyStore(directory: dir)
        try reportingErrors { () throws(AuditLogError) in try FileSystemCheck.directory(dir) }
        let created = try reportingErrors { () throws(AuditLogError) in
            try store.create(
                name: name, permissions: permissions.compactMap(Permission.init(rawValue:)), org: org,
                by: operatorActor())
        }
        Console.print(created.token)
        Console.error(
            "created key \(created.key.name) (id \(created.key.id)) with "
                + created.key.permissions.map(\.rawValue).joined(separator: ", ")
                + (created.key.org.map { ", org \($0)" } ?? "") + "; the token above is shown only now")
        try await recordKeyChanges(store)
    }
}

struct KeysListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the API keys (never their secrets).")

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Flag(help: "Include revoked keys.")
    var all = false

    func run() throws {
        let keys = try reportingErrors { () throws(AuditLogError) in try APIKeyStore(directory: dir).keys() }
            .filter { all || !$0.isRevoked }
        guard !keys.isEmpty else {
            Console.print("no API keys; create one with: auditlog keys create --dir \(dir) --name NAME --permission P")
            return
        }
        var rows = [["NAME", "ID", "PERMISSIONS", "ORG", "CREATED", "REVOKED"]]
        for key in keys {
            rows.append([
                key.name, key.id, key.permissions.map(\.rawValue).joined(separator: ","), key.org ?? "-",
                key.createdAt.rfc3339, key.revokedAt?.rfc3339 ?? "-",
            ])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            Console.print(
                row.enumerated().map { i, cell in
                    i == row.count - 1 ? cell : Console.padded(cell, widths[i])
                }.joined(separator: "  "))
        }
    }
}

struct KeysUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Rename a key or replace its permissions; its token and org stay.",
        discussion: """
            Examples:
              auditlog keys update --dir audit ingest-service --permission auditLogs:write --permission auditLogs:read
              auditlog keys update --dir audit ingest-service --rename ingest-eu
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Argument(help: ArgumentHelp("The key's name or id.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("A new name, unique among active keys.", valueName: "name"))
    var rename: String?

    @Option(
        name: .customLong("permission"),
        help: ArgumentHelp(
            "The key's permissions from now on (repeatable; replaces all of them).", valueName: "permission"))
    var permissions: [String] = []

    func validate() throws {
        guard rename != nil || !permissions.isEmpty else {
            throw ValidationError("give --rename, --permission, or both")
        }
        try checkPermissionNames(permissions)
    }

    func run() async throws {
        let store = APIKeyStore(directory: dir)
        let key = try reportingErrors { () throws(AuditLogError) in
            try store.update(
                name, name: rename,
                permissions: permissions.isEmpty ? nil : permissions.compactMap(Permission.init(rawValue:)),
                by: operatorActor())
        }
        Console.error(
            "updated key \(key.name) (id \(key.id)): " + key.permissions.map(\.rawValue).joined(separator: ", "))
        try await recordKeyChanges(store)
    }
}

/// Refuses a permission name that is not one.
func checkPermissionNames(_ names: [String]) throws {
    for name in names where Permission(rawValue: name) == nil {
        throw ValidationError(
            "\(name) is not a permission: \(Permission.allCases.map(\.rawValue).joined(separator: ", "))")
    }
}

struct KeysRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke an API key by name (or id); its token stops working at once.")

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Argument(help: ArgumentHelp("The key's name or id.", valueName: "name"))
    var name: String

    func run() async throws {
        let store = APIKeyStore(directory: dir)
        let key = try reportingErrors { () throws(AuditLogError) in try store.revoke(name, by: operatorActor()) }
        Console.error("revoked key \(key.name) (id \(key.id))")
        try await recordKeyChanges(store)
    }
}

enum FileSystemCheck {
    /// Creates the log directory (owner-only) if it is missing, so keys can be made before the first event.
    static func directory(_ path: String) throws(AuditLogError) {
        var isDirectory = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory else { throw AuditLogError(.invalidArgument, "not a directory", path: path) }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AuditLogError(.io, "cannot create the log directory", path: path)
        }
    }
}
