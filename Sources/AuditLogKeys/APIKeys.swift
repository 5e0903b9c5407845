import AuditLog
import FoundationEssentials
import Synchronization

/// What an API key may do. A key holds one or more.
public enum Permission: String, CaseIterable, Sendable, Codable {
    /// Append events.
    case write = "auditLogs:write"
    /// Query pages and details, facets, proofs, checkpoints.
    case read = "auditLogs:read"
    /// Bulk exports.
    case export = "auditLogs:export"
    /// Retention, redaction and API keys.
    case admin = "auditLogs:admin"
}

/// An API key as stored: never its secret, only the secret's SHA-256.
public struct APIKey: Sendable, Equatable, Codable {
    /// 12 hexadecimal digits; also the second part of the token (`alk_<id>_<secret>`), so the key is found
    /// without trying every hash.
    public var id: String
    public var name: String
    public var permissions: [Permission]
    /// When set, the key sees and appends only events of this org. Fixed at creation.
    public var org: String?
    var secretSHA256: String
    public var createdAt: Timestamp
    public var createdBy: AuditEvent.Actor
    public var revokedAt: Timestamp?
    /// Every change of the key, oldest first (creation, updates, revocation): each is recorded in the log as an
    /// event.
    var changes: [Change]
    /// How many of `changes` the log holds as events.
    var recordedChanges = 0
    /// The change being recorded: its event id, and the tree size before it (to find the event after a crash).
    var pending: PendingEvent?

    public var isRevoked: Bool { revokedAt != nil }

    /// One change, with the key's name and permissions after it.
    struct Change: Equatable, Codable {
        enum Kind: String, Codable { case create, update, revoke }
        var kind: Kind
        var at: Timestamp
        var by: AuditEvent.Actor
        var name: String
        var permissions: [Permission]
    }

    struct PendingEvent: Equatable, Codable {
        var change: Int
        var eventID: String
        var treeSizeBefore: UInt64
    }

    /// The actor of the events this key appends for the log's own use (exports, reads).
    package var actor: AuditEvent.Actor {
        AuditEvent.Actor(type: .apiKey, id: id, name: name, authMethod: "api_key")
    }
}

/// The API keys of a log, in `api-keys.json` inside the log directory (owner-only), changed under the lock
/// `api-keys.lock` by `auditlog keys` and by the service; the service reloads the file when it changes.
///
/// Tokens are `alk_<12 hex id>_<43 base64url characters>`: 256 random bits, shown once at creation. Only their
/// SHA-256 is stored, and a presented token is compared with it in constant time. Creating, updating and revoking a
/// key is recorded in the log as an event (`apiKey.create`, `apiKey.update`, `apiKey.revoke`) by whoever holds the
/// log: `auditlog keys` when no server runs, else the server, which records changes it finds in the file.
public final class APIKeyStore: Sendable {
    public let directory: String
    package let path: String
    let lockPath: String
    private let cache = Mutex<(version: (UInt64, Int64, Int64)?, keys: [String: APIKey])>((nil, [:]))

    static let fileName = "api-keys.json"
    static let lockName = "api-keys.lock"

    public init(directory: String) {
        self.directory = directory
        path = directory + "/" + Self.fileName
        lockPath = directory + "/" + Self.lockName
    }

    private struct File: Codable {
        var version = 1
        var keys: [APIKey] = []
    }

    // MARK: Reading

    /// The keys as the file holds them now (reloaded if it changed).
    public func keys() throws(AuditLogError) -> [APIKey] {
        try reloadIfChanged()
        return cache.withLock { Array($0.keys.values) }.sorted { $0.createdAt < $1.createdAt }
    }

    /// The key with this id, revoked or not, as the file holds it now.
    public func key(id: String) throws(AuditLogError) -> APIKey? {
        try reloadIfChanged()
        return cache.withLock { $0.keys[id] }
    }

    private func reloadIfChanged() throws(AuditLogError) {
        let version = SidecarFile.version(path)
        if let version, let cached = cache.withLock({ $0.version }), cached == version { return }
        let keys = try Self.load(path)
        cache.withLock { $0 = (version, Dictionary(uniqueKeysWithValues: keys.map { ($0.id, $0) })) }
    }

    private static func load(_ path: String) throws(AuditLogError) -> [APIKey] {
        guard let bytes = try SidecarFile.read(path) else { return [] }
        do {
            return try JSONDecoder().decode(File.self, from: Data(bytes)).keys
        } catch {
            throw AuditLogError(.corrupt, "the API key file is not valid (\(error)); restore it from a copy", path: path)
        }
    }

    private static func save(_ keys: [APIKey], to path: String) throws(AuditLogError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(File(keys: keys)) else {
            throw AuditLogError(.io, "cannot encode the API key file", path: path)
        }
        try SidecarFile.replace(path, with: Array(data))
    }

    /// The key a bearer token belongs to, if any key has it and is not revoked. The secret is hashed and compared
    /// with the stored hash in constant time.
    public func authenticate(token: String) throws(AuditLogError) -> APIKey? {
        let parts = token.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "alk", parts[1].utf8.count == 12, parts[2].utf8.count == 43 else {
            return nil
        }
        try reloadIfChanged()
        guard let key = cache.withLock({ $0.keys[String(parts[1])] }), !key.isRevoked else { return nil }
        let presented = try SHA256Hash.digest(of: Array(parts[2].utf8)).hex
        return constantTimeEqual(Array(presented.utf8), Array(key.secretSHA256.utf8)) ? key : nil
    }

    // MARK: Changing

    /// Creates a key and returns it with its token, which is shown once and never stored.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` for an empty or taken name, no permission, or a bad org.
    public func create(name: String, permissions: [Permission], org: String?, by actor: AuditEvent.Actor)
        throws(AuditLogError) -> (key: APIKey, token: String)
    {
        let name = try Self.checkedName(name)
        let permissions = try Self.checkedPermissions(permissions)
        if let org, org.isEmpty || org.utf8.count > 4096 {
            throw AuditLogError(.invalidArgument, "the org id is empty or too long", field: "org")
        }
        let id = try SecureRandom.bytes(6).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        let secret = Base64.encode(try SecureRandom.bytes(32)).base64URL
        let now = Timestamp.now
        let key = APIKey(
            id: id, name: name, permissions: permissions, org: org,
            secretSHA256: try SHA256Hash.digest(of: Array(secret.utf8)).hex, createdAt: now, createdBy: actor,
            changes: [APIKey.Change(kind: .create, at: now, by: actor, name: name, permissions: permissions)])
        try SidecarFile.withLock(lockPath) { () throws(AuditLogError) in
            var keys = try Self.load(path)
            try Self.checkNameIsFree(name, in: keys)
            keys.append(key)
            try Self.save(keys, to: path)
        }
        return (key, "alk_\(id)_\(secret)")
    }

    /// Renames a key or replaces its permissions (its token and org stay); the change applies at once.
    /// - Throws: ``AuditLogError/Code/notFound`` for no such active key, ``AuditLogError/Code/conflict`` for a
    ///   name another active key has, ``AuditLogError/Code/invalidArgument`` for an empty name or permission list.
    /// - Parameter scope: When set, only a key of this org is found (what an org's admin may change).
    public func update(
        _ nameOrID: String, name newName: String? = nil, permissions newPermissions: [Permission]? = nil,
        scope: String? = nil, by actor: AuditEvent.Actor
    ) throws(AuditLogError) -> APIKey {
        let name = try newName.map { (name) throws(AuditLogError) in try Self.checkedName(name) }
        let permissions = try newPermissions.map { (list) throws(AuditLogError) in try Self.checkedPermissions(list) }
        guard name != nil || permissions != nil else {
            throw AuditLogError(.invalidArgument, "give a new name, new permissions, or both")
        }
        return try SidecarFile.withLock(lockPath) { () throws(AuditLogError) in
            var keys = try Self.load(path)
            let i = try Self.activeKey(nameOrID, in: keys, scope: scope)
            if let name, name != keys[i].name { try Self.checkNameIsFree(name, in: keys) }
            keys[i].name = name ?? keys[i].name
            keys[i].permissions = permissions ?? keys[i].permissions
            keys[i].changes.append(
                APIKey.Change(
                    kind: .update, at: .now, by: actor, name: keys[i].name, permissions: keys[i].permissions))
            try Self.save(keys, to: path)
            return keys[i]
        }
    }

    private static func checkedName(_ name: String) throws(AuditLogError) -> String {
        let name = String(name.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard !name.isEmpty, name.utf8.count <= 128 else {
            throw AuditLogError(.invalidArgument, "a key needs a name of 1 to 128 bytes", field: "name")
        }
        return name
    }

    private static func checkedPermissions(_ permissions: [Permission]) throws(AuditLogError) -> [Permission] {
        guard !permissions.isEmpty else {
            throw AuditLogError(.invalidArgument, "a key needs at least one permission", field: "permissions")
        }
        return Array(Set(permissions)).sorted { $0.rawValue < $1.rawValue }
    }

    private static func checkNameIsFree(_ name: String, in keys: [APIKey]) throws(AuditLogError) {
        guard !keys.contains(where: { $0.name == name && !$0.isRevoked }) else {
            throw AuditLogError(
                .conflict, "a key named \"\(name)\" exists; revoke it first or choose another name", field: "name")
        }
    }

    private static func activeKey(_ nameOrID: String, in keys: [APIKey], scope: String?) throws(AuditLogError) -> Int {
        guard
            let index = keys.firstIndex(where: {
                ($0.name == nameOrID || $0.id == nameOrID) && !$0.isRevoked && (scope == nil || $0.org == scope)
            })
        else {
            throw AuditLogError(
                .notFound, "no active key is named \"\(nameOrID)\"" + (scope.map { " in org \($0)" } ?? ""))
        }
        return index
    }

    /// Revokes the key named (or with the id) `nameOrID`; its token stops working at once.
    /// - Parameter scope: When set, only a key of this org is found (what an org's admin may revoke).
    public func revoke(_ nameOrID: String, scope: String? = nil, by actor: AuditEvent.Actor) throws(AuditLogError)
        -> APIKey
    {
        try SidecarFile.withLock(lockPath) { () throws(AuditLogError) in
            var keys = try Self.load(path)
            let index = try Self.activeKey(nameOrID, in: keys, scope: scope)
            let now = Timestamp.now
            keys[index].revokedAt = now
            keys[index].changes.append(
                APIKey.Change(
                    kind: .revoke, at: now, by: actor, name: keys[index].name, permissions: keys[index].permissions))
            try Self.save(keys, to: path)
            return keys[index]
        }
    }

    // MARK: Recording changes in the log

    /// Appends the events of key changes not recorded yet (`apiKey.create`, `apiKey.update`, `apiKey.revoke`),
    /// each exactly once and in order: a change is marked pending (with its event id and the tree size) before
    /// the append, and recorded after it; a pending change found later (after a crash) is appended only if the
    /// log does not hold its event already. Called by the log's writer: `auditlog keys` or the server.
    public func recordChanges(in log: AuditLog) async throws(AuditLogError) {
        while true {
            let pending = try SidecarFile.withLock(lockPath) { () throws(AuditLogError) -> [APIKey] in
                var keys = try Self.load(path)
                var changed = false
                for i in keys.indices where keys[i].pending == nil && keys[i].recordedChanges < keys[i].changes.count {
                    let change = keys[i].recordedChanges
                    keys[i].pending = APIKey.PendingEvent(
                        change: change, eventID: "apikey-\(keys[i].id)-\(change)-\(keys[i].changes[change].kind)",
                        treeSizeBefore: log.state.treeSize)
                    changed = true
                }
                if changed { try Self.save(keys, to: path) }
                return keys.filter { $0.pending != nil }
            }
            guard !pending.isEmpty else { return }
            for key in pending {
                guard let intent = key.pending else { continue }
                if try !Self.logHolds(eventID: intent.eventID, from: intent.treeSizeBefore, log: log) {
                    try await log.append(try Self.event(intent.change, of: key, id: intent.eventID))
                }
                try SidecarFile.withLock(lockPath) { () throws(AuditLogError) in
                    var keys = try Self.load(path)
                    guard let i = keys.firstIndex(where: { $0.id == key.id }) else { return }
                    keys[i].recordedChanges = intent.change + 1
                    keys[i].pending = nil
                    try Self.save(keys, to: path)
                }
            }
        }
    }

    private static func logHolds(eventID: String, from seq: UInt64, log: AuditLog) throws(AuditLogError) -> Bool {
        let iterator = try log.reader.eventIterator(from: seq)
        while let stored = try iterator.next() {
            if stored.event.id == eventID { return true }
        }
        return false
    }

    /// The event of the key's change number `index`: by whoever made it, with the key's name, permissions and
    /// org; an update carries the state before and after it.
    static func event(_ index: Int, of key: APIKey, id: String) throws(AuditLogError) -> AuditEvent {
        let change = key.changes[index]
        func state(_ change: APIKey.Change) throws(AuditLogError) -> JSONText {
            try JSONText(
                JSONValue.object([
                    ("name", .string(change.name)),
                    ("permissions", .array(change.permissions.map { .string($0.rawValue) })),
                ]).text)
        }
        var metadata: [(key: String, value: JSONValue)] = [
            ("permissions", .array(change.permissions.map { .string($0.rawValue) }))
        ]
        if let org = key.org { metadata.append(("scope", .string(org))) }
        var event = AuditEvent(
            id: id, timestamp: change.at, actor: change.by, action: "apiKey.\(change.kind.rawValue)",
            resource: AuditEvent.Resource(type: "api_key", id: key.id, name: change.name),
            org: key.org.map { AuditEvent.Reference(id: $0) }, source: change.by.type == .apiKey ? "api" : "cli",
            metadata: try JSONText(JSONValue.object(metadata).text))
        if change.kind == .update, index > 0 {
            event.before = try state(key.changes[index - 1])
            event.after = try state(change)
        }
        return event
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices { difference |= a[i] ^ b[i] }
    return difference == 0
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
