import AuditLog
import AuditLogCommandSupport
import FoundationEssentials

/// The file of `auditlog export --bookmark FILE`: how far the exports have shipped the log, and which log that was
/// (FORMAT.md, "Export bookmarks"). One JSON object on one line:
///
///     {"bookmark":1,"treeSize":1200,"root":"<64 hex>","origin":"audit.example.com/prod","updatedAt":"…"}
///
/// Every event with a seq below `treeSize` was exported; `root` is the Merkle root of those `treeSize` events, and
/// `origin` the origin of the log's checkpoints when it signs them. The next export checks that the log still
/// holds that exact tree (a consistency proof from `treeSize` to the log's size), so an export never continues
/// from the wrong place in a log that was replaced, rolled back or rewritten.
struct ExportBookmark: Codable, Equatable {
    var bookmark = 1
    var treeSize: UInt64
    var root: String
    var origin: String?
    var updatedAt: String

    /// The bookmark in `path`, or nil when the file does not exist yet (the first export starts at the beginning).
    static func read(_ path: String) throws(AuditLogError) -> ExportBookmark? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try KeyArguments.contents(of: path)
        guard let data = text.data(using: .utf8),
            let bookmark = try? JSONDecoder().decode(ExportBookmark.self, from: data), bookmark.bookmark == 1,
            SHA256Hash(hex: bookmark.root) != nil
        else {
            throw AuditLogError(
                .invalidArgument,
                "not an export bookmark (a line {\"bookmark\":1,\"treeSize\":…,\"root\":…}); delete it to export "
                    + "from the beginning", path: path)
        }
        return bookmark
    }

    /// The bookmark of the first `treeSize` events of the log `reader` reads.
    static func at(_ treeSize: UInt64, of reader: AuditLogReader) throws(AuditLogError) -> ExportBookmark {
        ExportBookmark(
            treeSize: treeSize, root: try reader.consistencyProof(from: treeSize).root1.hex,
            origin: try origin(of: reader), updatedAt: Timestamp.now.rfc3339)
    }

    /// Refuses a log that is not the one this bookmark was made on, or no longer holds the tree it recorded.
    /// Returns the first seq the log still has when retention removed events the bookmark had not reached (a gap).
    func check(against reader: AuditLogReader, bookmarkPath: String) throws(AuditLogError) -> UInt64? {
        let statistics = try reader.statistics()
        let state = statistics.state
        let hint = "; if this is the right log, delete \(bookmarkPath) to export it from the beginning"
        guard state.treeSize >= treeSize else {
            throw AuditLogError(
                .conflict,
                "the log has \(state.treeSize) events but the bookmark says \(treeSize) were exported: it was "
                    + "replaced or rolled back" + hint, path: reader.directory)
        }
        if let origin, let current = try Self.origin(of: reader), current != origin {
            throw AuditLogError(
                .conflict, "the bookmark is of the log \(origin), this log signs as \(current)" + hint,
                path: reader.directory)
        }
        let first = state.treeSize - statistics.eventCount
        if first > treeSize {
            // The tree the bookmark recorded went with the removed segments, so its root cannot be checked; the
            // log's own retention event, after the bookmark, is what says this log removed them. (Another log
            // refuses events by the system actor on input, so no other log can carry it.)
            let retention = try reader.events(
                matching: Query(
                    actions: ["auditlog.retention"], afterSeq: treeSize > 0 ? treeSize - 1 : nil, order: .oldestFirst,
                    limit: 1))
            guard let event = retention.events.first?.event, event.actor.type == .system, event.actor.id == "auditlog"
            else {
                throw AuditLogError(
                    .conflict,
                    "the log starts at seq \(first), after the bookmark's \(treeSize), and records no retention "
                        + "since: it was replaced" + hint, path: reader.directory)
            }
            return first
        }
        guard try reader.consistencyProof(from: treeSize).root1.hex == root else {
            throw AuditLogError(
                .conflict,
                "the log's first \(treeSize) events are not those the bookmark recorded (another Merkle root): it "
                    + "was replaced or rewritten" + hint, path: reader.directory)
        }
        return nil
    }

    /// Replaces the file crash-safely: a crash leaves the old bookmark or the new one.
    func write(to path: String) throws(AuditLogError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        try FileSystem.replaceFile(path, with: Array(data) + [0x0A])
    }

    /// The origin of the log's newest signed checkpoint, if it has one.
    private static func origin(of reader: AuditLogReader) throws(AuditLogError) -> String? {
        try reader.latestCheckpoint().flatMap { $0.split(separator: "\n").first.map(String.init) }
    }
}
