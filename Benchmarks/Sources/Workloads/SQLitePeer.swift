import AuditLog
import CSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// The peer: the `audit_logs` table most teams keep in SQLite (or, with the same schema, Postgres). Event fields
/// as columns, before/after/metadata as JSON text, WAL, `synchronous=NORMAL`, 1000 rows per transaction, indexes
/// on (timestamp) and (actor id, timestamp). Queries read rows straight from SQLite's buffers, so the peer pays
/// no Swift-side parsing it would not pay in a tuned service.
public final class SQLitePeer {
    public let path: String
    private var db: OpaquePointer?
    private var insert: OpaquePointer?
    public static let rowsPerTransaction = 1000

    /// Every column, in the order inserts bind and queries read them.
    static let columns = [
        "seq", "id", "ts", "actor_type", "actor_id", "actor_name", "actor_roles", "actor_auth_method", "action",
        "resource_type", "resource_id", "resource_name", "org_id", "org_name", "project_id", "project_name",
        "source", "ip", "user_agent", "before", "after", "metadata",
    ]
    static let selectColumns = columns.joined(separator: ", ")

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens (creating if needed) the database at `path`.
    public init(path: String, create: Bool) throws {
        self.path = path
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), nil) == SQLITE_OK
        else { throw Failure(description: "cannot open \(path)") }
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        if create {
            let definitions = Self.columns.map { name -> String in
                switch name {
                case "seq": "seq INTEGER PRIMARY KEY"
                case "ts": "ts INTEGER NOT NULL"
                case "id", "actor_type", "actor_id", "action", "resource_type", "resource_id": name + " TEXT NOT NULL"
                default: name + " TEXT"
                }
            }
            try exec("CREATE TABLE IF NOT EXISTS audit_logs (\(definitions.joined(separator: ", ")))")
            try exec("CREATE INDEX IF NOT EXISTS audit_logs_ts ON audit_logs (ts)")
            try exec("CREATE INDEX IF NOT EXISTS audit_logs_actor_ts ON audit_logs (actor_id, ts)")
        }
    }

    deinit {
        sqlite3_finalize(insert)
        sqlite3_close_v2(db)
    }

    public func exec(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(db, sql, nil, nil, &message) == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? "?"
            sqlite3_free(message)
            throw Failure(description: "\(sql): \(text)")
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        return statement
    }

    /// Inserts `events` (their seqs from `firstSeq`), 1000 rows per transaction.
    public func insert(_ events: [AuditEvent], firstSeq: Int) throws {
        if insert == nil {
            let marks = Array(repeating: "?", count: Self.columns.count).joined(separator: ", ")
            insert = try prepare("INSERT INTO audit_logs (\(Self.selectColumns)) VALUES (\(marks))")
        }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        var index = 0
        while index < events.count {
            try exec("BEGIN")
            for i in index..<min(events.count, index + Self.rowsPerTransaction) {
                let event = events[i]
                let values: [String?] = [
                    nil, event.id, nil, event.actor.type.rawValue, event.actor.id, event.actor.name,
                    event.actor.roles.map { "[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" },
                    event.actor.authMethod, event.action, event.resource.type, event.resource.id, event.resource.name,
                    event.org?.id, event.org?.name, event.project?.id, event.project?.name, event.source, event.ip,
                    event.userAgent, event.before?.text, event.after?.text, event.metadata?.text,
                ]
                sqlite3_bind_int64(insert, 1, Int64(firstSeq + i))
                sqlite3_bind_int64(insert, 3, event.timestamp.millisecondsSinceEpoch)
                for (column, value) in values.enumerated() where column != 0 && column != 2 {
                    if let value {
                        sqlite3_bind_text(insert, Int32(column + 1), value, -1, transient)
                    } else {
                        sqlite3_bind_null(insert, Int32(column + 1))
                    }
                }
                guard sqlite3_step(insert) == SQLITE_DONE else {
                    throw Failure(description: "insert: \(String(cString: sqlite3_errmsg(db)))")
                }
                sqlite3_reset(insert)
            }
            try exec("COMMIT")
            index += Self.rowsPerTransaction
        }
    }

    /// Moves the WAL into the database file, so that its size is the storage cost.
    public func checkpoint() throws { try exec("PRAGMA wal_checkpoint(TRUNCATE)") }

    /// Bytes of the database, its WAL and shared-memory file.
    public var bytesOnDisk: Int64 {
        ["", "-wal", "-shm"].reduce(0) { total, suffix in
            var st = stat()
            return total + (stat(path + suffix, &st) == 0 ? Int64(st.st_size) : 0)
        }
    }

    /// The newest `limit` rows of one actor, as JSON lines; returns the rows read.
    @discardableResult
    public func actorPage(_ actorID: String, limit: Int = 100, into out: inout [UInt8]) throws -> Int {
        try rows(
            "SELECT \(Self.selectColumns) FROM audit_logs WHERE actor_id = ?1 ORDER BY ts DESC LIMIT \(limit)",
            bind: { sqlite3_bind_text($0, 1, actorID, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self)) },
            into: &out, row: Self.appendJSONLine)
    }

    /// The newest `limit` rows whose `column` is `value` (an action or project: indexed by ``indexFilterColumns()``).
    @discardableResult
    public func fieldPage(_ column: String, _ value: String, limit: Int = 100, into out: inout [UInt8]) throws -> Int {
        try rows(
            "SELECT \(Self.selectColumns) FROM audit_logs WHERE \(column) = ?1 ORDER BY seq DESC LIMIT \(limit)",
            bind: { sqlite3_bind_text($0, 1, value, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self)) },
            into: &out, row: Self.appendJSONLine)
    }

    /// Indexes the columns the audit page filters on besides actor and time (after the ingest, so that they do
    /// not slow it): what a team adds when those filters get slow.
    public func indexFilterColumns() throws {
        try exec("CREATE INDEX IF NOT EXISTS audit_logs_action ON audit_logs (action)")
        try exec("CREATE INDEX IF NOT EXISTS audit_logs_project ON audit_logs (project_id)")
    }

    /// The distinct values of `column` with their counts (from its index).
    public func distinctValues(_ column: String) throws -> [(String, Int64)] {
        let statement = try prepare("SELECT \(column), count(*) FROM audit_logs GROUP BY \(column)")
        defer { sqlite3_finalize(statement) }
        var values: [(String, Int64)] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            let value = Self.text(statement, 0).map { String(decoding: $0, as: UTF8.self) } ?? ""
            values.append((value, sqlite3_column_int64(statement, 1)))
        }
        return values
    }

    /// The newest `limit` rows with from ≤ ts ≤ to.
    @discardableResult
    public func timeRange(from: Int64, to: Int64, limit: Int, into out: inout [UInt8]) throws -> Int {
        try rows(
            "SELECT \(Self.selectColumns) FROM audit_logs WHERE ts BETWEEN ?1 AND ?2 ORDER BY ts DESC LIMIT \(limit)",
            bind: {
                sqlite3_bind_int64($0, 1, from)
                sqlite3_bind_int64($0, 2, to)
            }, into: &out, row: Self.appendJSONLine)
    }

    /// Every row in seq order, as JSON Lines or CSV, handed to `flush` in pieces of about 1 MiB.
    public func exportAll(csv: Bool, flush: ([UInt8]) throws -> Void) throws -> Int {
        var out: [UInt8] = []
        out.reserveCapacity(2 << 20)
        if csv { out.append(contentsOf: (Self.columns.joined(separator: ",") + "\r\n").utf8) }
        let statement = try prepare("SELECT \(Self.selectColumns) FROM audit_logs ORDER BY seq")
        defer { sqlite3_finalize(statement) }
        var count = 0
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw Failure(description: String(cString: sqlite3_errmsg(db))) }
            if csv { Self.appendCSVRow(statement, to: &out) } else { Self.appendJSONLine(statement, to: &out) }
            count += 1
            if out.count >= 1 << 20 {
                try flush(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        try flush(out)
        return count
    }

    private func rows(
        _ sql: String, bind: (OpaquePointer?) -> Void, into out: inout [UInt8],
        row: (OpaquePointer?, inout [UInt8]) -> Void
    ) throws -> Int {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        bind(statement)
        var count = 0
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return count }
            guard rc == SQLITE_ROW else { throw Failure(description: String(cString: sqlite3_errmsg(db))) }
            row(statement, &out)
            count += 1
        }
    }

    // MARK: Row encoding (the same JSON keys as the log's export; JSON columns embedded as stored)

    private static func text(_ statement: OpaquePointer?, _ column: Int32) -> UnsafeRawBufferPointer? {
        guard let pointer = sqlite3_column_text(statement, column) else { return nil }
        return UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(statement, column)))
    }

    private static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)],
                ])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func appendJSONLine(_ statement: OpaquePointer?, to out: inout [UInt8]) {
        var comma = false
        func key(_ name: StaticString) {
            if comma { out.append(UInt8(ascii: ",")) }
            comma = true
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func open(_ name: StaticString) {
            key(name)
            out.append(UInt8(ascii: "{"))
            comma = false
        }
        func close() {
            out.append(UInt8(ascii: "}"))
            comma = true
        }
        func string(_ name: StaticString, _ column: Int32) {
            guard let value = text(statement, column) else { return }
            key(name)
            appendString(value, to: &out)
        }
        func raw(_ name: StaticString, _ column: Int32) {
            guard let value = text(statement, column) else { return }
            key(name)
            out.append(contentsOf: value)
        }
        out.append(UInt8(ascii: "{"))
        key("seq")
        out.append(contentsOf: String(sqlite3_column_int64(statement, 0)).utf8)
        string("id", 1)
        key("timestamp")
        out.append(contentsOf: ("\"" + Timestamp(millisecondsSinceEpoch: sqlite3_column_int64(statement, 2)).rfc3339 + "\"").utf8)
        open("actor")
        string("type", 3)
        string("id", 4)
        string("name", 5)
        raw("roles", 6)
        string("authMethod", 7)
        close()
        string("action", 8)
        open("resource")
        string("type", 9)
        string("id", 10)
        string("name", 11)
        close()
        if text(statement, 12) != nil {
            open("org")
            string("id", 12)
            string("name", 13)
            close()
        }
        if text(statement, 14) != nil {
            open("project")
            string("id", 14)
            string("name", 15)
            close()
        }
        string("source", 16)
        string("ip", 17)
        string("userAgent", 18)
        raw("before", 19)
        raw("after", 20)
        raw("metadata", 21)
        out.append(contentsOf: [UInt8(ascii: "}"), UInt8(ascii: "\n")])
    }

    /// RFC 4180 row; cells a spreadsheet would run as formulas get a leading ', as the log's export does.
    static func appendCSVRow(_ statement: OpaquePointer?, to out: inout [UInt8]) {
        for column in 0..<Int32(columns.count) {
            if column > 0 { out.append(UInt8(ascii: ",")) }
            if column == 2 {
                out.append(contentsOf: Timestamp(millisecondsSinceEpoch: sqlite3_column_int64(statement, 2)).rfc3339.utf8)
                continue
            }
            guard let value = text(statement, column), let first = value.first else { continue }
            let formula = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D]
                .contains(first)
            let quote = value.contains { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: ",") || $0 < 0x20 }
            if quote { out.append(UInt8(ascii: "\"")) }
            if formula { out.append(UInt8(ascii: "'")) }
            for byte in value {
                if byte == UInt8(ascii: "\"") { out.append(byte) }
                out.append(byte)
            }
            if quote { out.append(UInt8(ascii: "\"")) }
        }
        out.append(contentsOf: [0x0D, 0x0A])
    }
}
