import ArgumentParser
import AuditLog
import AuditLogCommandSupport

/// Opens the log for writing, explaining what to do when a service holds it.
func openForMaintenance(_ dir: String) throws(ExitCode) -> AuditLog {
    var options = AuditLog.Options()
    options.createIfMissing = false
    do {
        return try AuditLog(directory: dir, options: options)
    } catch {
        throw fail(
            error,
            hint: error.code == .locked
                ? "retention and redaction change the log, so they need its writer: stop the process that has it "
                    + "open, or call applyRetention/redact from it" : nil)
    }
}

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Remove the oldest sealed segments past a maximum age or size, and record that in the log.",
        discussion: """
            Whole sealed segments are removed, oldest first (never the active one): a segment goes when its \
            newest event is older than --max-age, or while the log is larger than --max-bytes. The disk space is \
            freed. The removal is appended to the log as an `auditlog.retention` event by actor system/auditlog \
            (what was removed, why, and the Merkle root at the new first seq), so the tree size, roots, \
            checkpoints, inclusion proofs of the remaining events and consistency proofs from tree sizes at or \
            above that seq keep working, and `auditlog verify` reports the log as pruned, not damaged.

            With --archive s3://BUCKET/PREFIX, the archive's objects of every segment below the log's new first \
            seq are then removed from the bucket too (every version), except those still under object lock: the \
            bucket keeps them, whoever asks, and the `auditlog.archive.retention` event that records the removal \
            says how many it kept and until when.

            Needs the log's writer: it fails (exit 75) while another process has the log open. A service can \
            instead set AuditLog.Options.retention and let the writer apply it in the background.

            Examples:
              auditlog retention --dir audit --max-age 400d --dry-run
              auditlog retention --dir audit --max-age 6y --max-bytes 200GiB
              auditlog retention --dir audit --max-age 6y --archive s3://audit-archive/prod
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Remove segments whose newest event is older than this: 400d, 12h, 2w, 1y.", valueName: "age"))
    var maxAge: DurationArgument?

    @Option(
        name: .long,
        help: ArgumentHelp("Remove the oldest segments while the log is larger than this: 10GiB.", valueName: "size"))
    var maxBytes: ByteSize?

    @Flag(help: "Show what would be removed; change nothing (needs no writer).")
    var dryRun = false

    @Option(
        help: ArgumentHelp(
            "Then remove the removed segments' objects from this archive too (those not under object lock).",
            valueName: "s3-url"))
    var archive: String?

    @Option(help: ArgumentHelp("The log's name in the archive (default: its checkpoints' origin).", valueName: "id"))
    var archiveLogID: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard maxAge != nil || maxBytes != nil else {
            throw ValidationError("give --max-age, --max-bytes or both (for example --max-age 400d)")
        }
        guard archive == nil || !dryRun else {
            throw ValidationError("--dry-run changes nothing, in the log or in the archive: leave out --archive")
        }
        guard archive != nil || archiveLogID == nil else { throw ValidationError("--archive-log-id goes with --archive") }
    }

    func run() throws {
        let policy = RetentionPolicy(
            maxAge: maxAge?.duration, maxBytes: maxBytes.map { Int64($0.bytes) })
        let result: RetentionResult
        var archived: ArchiveRetentionResult?
        if dryRun {
            result = try reportingErrors { () throws(AuditLogError) in
                try AuditLogReader(directory: dir).retentionPlan(policy)
            }
        } else {
            let archiveOptions = try archive.map { (url) throws(ExitCode) in
                try AuditLogCommandSupport.archiveOptions(url: url, directory: dir, logID: archiveLogID, retainDays: nil)
            }
            let log = try openForMaintenance(dir)
            (result, archived) = try reportingErrors { () throws(AuditLogError) in
                let result = try log.applyRetention(policy)
                let archived = try archiveOptions.flatMap { (options) throws(AuditLogError) in
                    try log.applyArchiveRetention(options, recordKept: result.eventSeq != nil)
                }
                try log.close()
                return (result, archived)
            }
        }
        if json {
            var text =
                "{\"dryRun\":\(result.dryRun),\"segmentsRemoved\":[\(result.segmentsRemoved.map { "\"\($0)\"" }.joined(separator: ","))],"
                + "\"bytesRemoved\":\(result.bytesRemoved),\"prunedBelow\":\(result.prunedBelow),"
                + "\"eventSeq\":\(result.eventSeq.map(String.init) ?? "null"),\"eventsKept\":\(result.eventsKept),"
                + "\"bytesKept\":\(result.bytesKept)"
            if archive != nil {
                let archiveJSON = try reportingErrors { () throws(AuditLogError) -> String in
                    guard let archived else { return "null" }
                    return try JSONText(encoding: archived).text
                }
                text += ",\"archive\":" + archiveJSON
            }
            Console.print(text + "}")
            return
        }
        defer { if archive != nil { reportArchive(archived) } }
        guard !result.segmentsRemoved.isEmpty else {
            Console.print(
                "nothing to remove: no sealed segment is past the policy (the log holds "
                    + "\(Console.grouped(result.eventsKept)) events in \(Console.bytes(result.bytesKept)))")
            return
        }
        let verb = result.dryRun ? "would remove" : "removed"
        Console.print(
            "\(verb) \(result.segmentsRemoved.count) segment(s), \(Console.bytes(result.bytesRemoved)): every event "
                + "below seq \(Console.grouped(result.prunedBelow))")
        for name in result.segmentsRemoved.prefix(10) { Console.print("  \(name)") }
        if result.segmentsRemoved.count > 10 { Console.print("  … \(result.segmentsRemoved.count - 10) more") }
        Console.print("kept \(Console.grouped(result.eventsKept)) events in \(Console.bytes(result.bytesKept))")
        if let seq = result.eventSeq {
            Console.print("recorded as event \(seq) (auditlog show --dir \(dir) \(seq))")
        }
    }

    private func reportArchive(_ result: ArchiveRetentionResult?) {
        guard let result, !(result.segmentsRemoved.isEmpty && result.segmentsKept.isEmpty) else {
            Console.print("archive: nothing to remove below the log's first seq")
            return
        }
        if !result.segmentsRemoved.isEmpty {
            Console.print(
                "archive \(result.archive): removed \(result.segmentsRemoved.count) segment(s) below seq "
                    + "\(Console.grouped(result.prunedBelow)), \(Console.bytes(result.bytesRemoved)) with their index files")
        }
        if !result.segmentsKept.isEmpty {
            Console.print(
                "archive: kept \(result.segmentsKept.count) segment(s) under object lock until "
                    + "\(result.keptUntil ?? "?") (the bucket refuses to delete them before then)")
        }
        if let seq = result.eventSeq { Console.print("recorded as event \(seq) (auditlog show --dir \(dir) \(seq))") }
    }
}

extension RedactableField: ExpressibleByArgument {}

struct RedactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redact",
        abstract: "Erase personal data from an actor's events or chosen events, keeping the log verifiable.",
        discussion: """
            The redaction is first appended to the log as an `auditlog.redaction` event (which events, which \
            fields, why); then every segment holding an affected event is rewritten without those fields (the \
            active segment is sealed first if it holds one). A redacted event keeps its seq, timestamp, action, \
            actor type and id, resource type and id, org and project ids, and its Merkle leaf hash, so the tree, \
            earlier checkpoints and proofs still verify; it loses its salt, so the hash cannot be brute-forced back \
            to the data. Queries and exports mark it as redacted, `auditlog show` says when and why, and \
            `auditlog verify` accepts it only where a redaction event covers it.

            Fields (default: all but source): \(RedactableField.allCases.map(\.rawValue).joined(separator: ", ")).

            Needs the log's writer: it fails (exit 75) while another process has the log open.

            Examples:
              auditlog redact --dir audit --actor u_42 --reason "GDPR request 2026-118"
              auditlog redact --dir audit --seq 1832 --seq 1840 --fields ip --fields userAgent --reason "ticket 77"
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Option(name: .long, help: ArgumentHelp("Redact every event of this actor id so far.", valueName: "id"))
    var actor: String?

    @Option(name: .long, help: ArgumentHelp("Redact this event (repeat for more).", valueName: "seq"))
    var seq: [UInt64] = []

    @Option(
        name: .long, parsing: .upToNextOption,
        help: ArgumentHelp("Fields to remove (default: every field that can hold personal data).", valueName: "field"))
    var fields: [RedactableField] = []

    @Option(name: .long, help: ArgumentHelp("Why (recorded in the log; shown by `show`).", valueName: "text"))
    var reason: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (actor == nil) != seq.isEmpty else { throw ValidationError("give either --actor or --seq") }
    }

    func run() throws {
        let target: RedactionTarget = actor.map { .actor($0) } ?? .events(seq)
        let chosen = fields.isEmpty ? RedactableField.personalData : fields
        let log = try openForMaintenance(dir)
        let result = try reportingErrors { () throws(AuditLogError) in
            let result = try log.redact(target, fields: chosen, reason: reason)
            try log.close()
            return result
        }
        if json {
            Console.print(
                "{\"eventSeq\":\(result.eventSeq),\"recordsRedacted\":\(result.recordsRedacted),"
                    + "\"segmentsRewritten\":\(result.segmentsRewritten),"
                    + "\"fields\":[\(result.fields.map { "\"\($0.rawValue)\"" }.joined(separator: ","))]}")
            return
        }
        let what = actor.map { "events of actor \($0)" } ?? "of the \(seq.count) chosen events"
        Console.print(
            "redacted \(Console.grouped(result.recordsRedacted)) \(what) "
                + "(\(result.fields.map(\.rawValue).joined(separator: ", "))), rewriting "
                + "\(result.segmentsRewritten) segment(s)")
        Console.print("recorded as event \(result.eventSeq) (auditlog show --dir \(dir) \(result.eventSeq))")
    }
}
