import AuditLog
import AuditLogKeys
import FoundationEssentials
import Synchronization

/// What `POST /v1/events` answered.
struct AppendResult: Sendable, Equatable, Codable {
    var firstSeq: UInt64
    var count: Int
    var treeSize: UInt64
}

/// Remembers the answers to `POST /v1/events` requests that carried an `Idempotency-Key`, for at least 24 hours and
/// across restarts, so that a retried request appends nothing and gets the original answer.
///
/// Exactly once, even across a crash: before its events are appended, a request is recorded as *pending*
/// (synced to disk) with the id of its first event and the tree size; once they are durable it is recorded as
/// *done* with the answer. A request still pending at startup is resolved by looking for its first event in the
/// log after that tree size: found, it is done (with the seq found there); not found, it never committed and is
/// forgotten. Keys are scoped to the API key that sent them, and a key reused with another body is refused.
///
/// The file `idempotency.jsonl` (owner-only, in the log directory) holds one JSON object per line; it is
/// rewritten without the expired entries at startup and when it grows to twice what is live.
final class IdempotencyStore: Sendable {
    struct Entry: Codable {
        /// SHA-256 of the API key id and the idempotency key.
        var key: String
        /// SHA-256 of the request body.
        var body: String
        /// When the request was first seen (ms since the epoch).
        var time: Int64
        var state: State
        /// Pending: the first event's id, the number of events and the tree size before the append.
        var firstEventID: String?
        var count: Int?
        var treeSizeBefore: UInt64?
        /// Done: the answer.
        var result: AppendResult?

        enum State: String, Codable { case pending, done }
    }

    enum Decision {
        /// First time: go on, and ``begin(_:body:firstEventID:count:treeSize:)`` the request.
        case proceed
        /// Already answered: give this answer again.
        case replay(AppendResult)
        /// The same key is being served right now by another request.
        case inProgress
        /// The key was used with another body.
        case mismatch
    }

    static let fileName = "idempotency.jsonl"
    static let retention: Int64 = 24 * 3_600_000
    let path: String
    private let state = Mutex<(entries: [String: Entry], lines: Int)>(([:], 0))
    /// Held while the file is appended to or rewritten, so that a compaction never drops a line appended meanwhile.
    private let file = Mutex<Void>(())

    /// Loads the file, forgets entries past their 24 hours, and resolves requests a crash left pending.
    init(directory: String, log: AuditLog) throws(AuditLogError) {
        path = directory + "/" + Self.fileName
        var entries: [String: Entry] = [:]
        let decoder = JSONDecoder()
        for line in (try SidecarFile.read(path) ?? []).split(separator: 0x0A) {
            // A torn last line (a crash mid-append) is simply not there.
            guard let entry = try? decoder.decode(Entry.self, from: Data(line)) else { continue }
            entries[entry.key] = entry
        }
        let now = Timestamp.now.millisecondsSinceEpoch
        entries = entries.filter { now - $0.value.time < Self.retention }
        for (key, entry) in entries where entry.state == .pending {
            guard let id = entry.firstEventID, let from = entry.treeSizeBefore,
                let found = try Self.find(eventID: id, from: from, log: log)
            else {
                entries[key] = nil
                continue
            }
            var done = entry
            done.state = .done
            let count = entry.count ?? 1
            done.result = AppendResult(firstSeq: found, count: count, treeSize: found + UInt64(count))
            entries[key] = done
        }
        try Self.rewrite(path, entries.values)
        state.withLock { $0 = (entries, entries.count) }
    }

    /// The seq of the event with `eventID` at or after `seq`, if the log holds it.
    private static func find(eventID: String, from seq: UInt64, log: AuditLog) throws(AuditLogError) -> UInt64? {
        let iterator = try log.reader.eventIterator(from: seq)
        while let stored = try iterator.next() {
            if stored.event.id == eventID { return stored.seq }
        }
        return nil
    }

    private static func rewrite(_ path: String, _ entries: some Sequence<Entry>) throws(AuditLogError) {
        var out: [UInt8] = []
        for entry in entries { out += Self.line(entry) }
        try SidecarFile.replace(path, with: out)
    }

    private static func line(_ entry: Entry) -> [UInt8] {
        ((try? JSONEncoder().encode(entry)).map(Array.init) ?? []) + [0x0A]
    }

    /// The scoped, hashed form of an idempotency key.
    static func scopedKey(apiKeyID: String, key: String) throws(AuditLogError) -> String {
        try SHA256Hash.digest(of: Array("\(apiKeyID)\n\(key)".utf8)).hex
    }

    func decide(_ key: String, body: String) -> Decision {
        state.withLock { state in
            guard let entry = state.entries[key] else { return .proceed }
            if entry.body != body { return .mismatch }
            if entry.state == .done, let result = entry.result { return .replay(result) }
            return .inProgress
        }
    }

    /// Records, synced, that the request is about to append; refuses a key another request took meanwhile.
    func begin(_ key: String, body: String, firstEventID: String, count: Int, treeSize: UInt64) throws(AuditLogError)
        -> Bool
    {
        let entry = Entry(
            key: key, body: body, time: Timestamp.now.millisecondsSinceEpoch, state: .pending,
            firstEventID: firstEventID, count: count, treeSizeBefore: treeSize)
        let taken = state.withLock { state -> Bool in
            if state.entries[key] != nil { return true }
            state.entries[key] = entry
            state.lines += 1
            return false
        }
        if taken { return false }
        try file.withLock { _ throws(AuditLogError) in try SidecarFile.append(path, Self.line(entry), sync: true) }
        return true
    }

    /// Records the answer (not synced: a crash leaves the request pending, resolved from the log at startup).
    func complete(_ key: String, with result: AppendResult) {
        let (entry, compact) = state.withLock { state -> (Entry?, Bool) in
            guard var entry = state.entries[key] else { return (nil, false) }
            entry.state = .done
            entry.result = result
            state.entries[key] = entry
            state.lines += 1
            return (entry, state.lines > 2 * max(1024, state.entries.count))
        }
        guard let entry else { return }
        file.withLock { _ in _ = try? SidecarFile.append(path, Self.line(entry), sync: false) }
        if compact { self.compact() }
    }

    /// Forgets a request whose append failed (nothing was appended: appends are all or nothing).
    func abandon(_ key: String) {
        state.withLock { _ = $0.entries.removeValue(forKey: key) }
    }

    private func compact() {
        file.withLock { _ in
            let now = Timestamp.now.millisecondsSinceEpoch
            let live = state.withLock { state -> [Entry] in
                state.entries = state.entries.filter { now - $0.value.time < Self.retention }
                state.lines = state.entries.count
                return Array(state.entries.values)
            }
            try? Self.rewrite(path, live)
        }
    }
}
