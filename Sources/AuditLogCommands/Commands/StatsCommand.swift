import ArgumentParser
import AuditLog
import AuditLogCommandSupport

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show events, segments, size on disk, compression, time span, tree size and root.",
        discussion: """
            Reads block headers only; safe while a writer appends.

            With --archive s3://BUCKET/PREFIX, lists the logs archived there (a fleet's, one per service instance): \
            for each, its segments, bytes, the seqs they hold (the tree size from the newest segment's footer) and \
            the tree size of its newest checkpoint; credentials from the AWS_* variables, as for `auditlog archive`.

            Examples:
              auditlog stats --dir audit
              auditlog stats --archive s3://audit-archive/prod
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String?

    @Option(help: ArgumentHelp("List the logs archived under s3://BUCKET/PREFIX instead.", valueName: "s3-url"))
    var archive: String?

    @Flag(help: "Print one JSON object instead of text (with --archive, one per log).")
    var json = false

    func validate() throws {
        guard (dir == nil) != (archive == nil) else {
            throw ValidationError("give --dir DIR, or --archive s3://BUCKET/PREFIX")
        }
    }

    func run() throws {
        if let archive { return try archived(archive) }
        let dir = dir!
        let stats = try reportingErrors { () throws(AuditLogError) in try AuditLogReader(directory: dir).statistics() }
        let oldest = stats.oldestTimestamp?.rfc3339
        let newest = stats.newestTimestamp?.rfc3339
        if json {
            Console.print(try reportingErrors { () throws(AuditLogError) in try JSONText(encoding: stats).text })
            return
        }
        Console.print("events             \(Console.grouped(stats.eventCount))")
        Console.print(
            "segments           \(stats.segmentCount) (\(Console.grouped(stats.blockCount)) blocks"
                + (stats.evictedSegments > 0 ? "; \(stats.evictedSegments) in the archive only)" : ")"))
        Console.print("bytes on disk      \(Console.bytes(stats.bytesOnDisk))")
        Console.print(
            "compression        \(Console.fixed(stats.compressionRatio, 2))x "
                + "(\(Console.bytes(stats.recordBytes)) of records in \(Console.bytes(stats.storedPayloadBytes)))")
        Console.print("oldest event       \(oldest ?? "-")")
        Console.print("newest event       \(newest ?? "-")")
        Console.print("tree size          \(Console.grouped(stats.state.treeSize))")
        Console.print("root               \(stats.state.root.hex)")
    }

    /// One line (or JSON object) per log archived under the prefix.
    private func archived(_ url: String) throws {
        let summaries = try reportingErrors { () throws(AuditLogError) -> [ArchiveReader.Summary] in
            let store = try archiveStore(url)
            let ids = try ArchiveReader.logIDs(in: store)
            if ids.isEmpty { throw AuditLogError(.notFound, "no archived log under \(store.location)") }
            return try ids.map { (id) throws(AuditLogError) in try ArchiveReader(store: store, logID: id).summary() }
        }
        for s in summaries {
            if json {
                Console.print(try reportingErrors { () throws(AuditLogError) in try JSONText(encoding: s).text })
                continue
            }
            let checkpoint = s.newestCheckpoint.map { "newest checkpoint at \(Console.grouped($0))" } ?? "no checkpoint"
            Console.print(
                "\(s.logID)  \(s.segments) segment(s), \(Console.bytes(s.bytes)), seq \(Console.grouped(s.firstSeq))"
                    + "..<\(Console.grouped(s.treeSize)), \(checkpoint)")
        }
    }
}
