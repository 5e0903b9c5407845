import ArgumentParser
import AuditLog
import AuditLogCommandSupport

struct ArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Upload a log's sealed segments to S3-compatible object storage.",
        discussion: """
            Uploads every sealed segment not archived yet, oldest first, with its index files and the checkpoint \
            signed at its seal, to s3://BUCKET/PREFIX/<log id>/<file name> (FORMAT.md, "Archive"). Each object is \
            checked end to end (the server verifies the signed SHA-256 of the body, the ETag must be the MD5 of what \
            was sent, a HEAD must find it whole; objects over 16 MiB go as multipart uploads, each part checked), \
            then the segment is recorded in the log's upload journal \
            (archive.journal). Interrupted, it loses nothing: the next run uploads what is not in the journal. \
            Nothing is removed locally; once a log has a journal, retention removes only archived segments.

            A service does the same in the background with `auditlog serve --archive s3://…` \
            (AuditLog.Options.archive); this command may run while it does (one upload run at a time).

            Credentials and server from the standard variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
            AWS_SESSION_TOKEN (optional), AWS_REGION (default us-east-1), AWS_ENDPOINT_URL (another S3 server than \
            AWS's, path-style). With --object-lock-days the bucket must have Object Lock enabled: every object is \
            then locked in COMPLIANCE mode, and not even the bucket's owner can delete or overwrite it before then.

            Exit status: 0 every sealed segment archived, 69 the server could not be reached or failed (run it \
            again), 77 the server refused (credentials, bucket, lock), 74 a local file could not be read.

            Examples:
              auditlog archive --dir audit s3://audit-archive/prod
              auditlog archive --dir audit s3://audit-archive/prod --log-id orders-1 --object-lock-days 400

            Then, from anywhere with read access to the bucket:
              auditlog verify s3://audit-archive/prod/orders-1 --key orders-1.vkey
              auditlog query --archive s3://audit-archive/prod/orders-1 --actor user_42
              auditlog stats --archive s3://audit-archive/prod
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Argument(help: ArgumentHelp("Where to archive: s3://BUCKET/PREFIX.", valueName: "s3-url"))
    var destination: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The log's name under the prefix (default: from the origin of its newest checkpoint).",
            valueName: "id"))
    var logID: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Lock every object for this many days (COMPLIANCE mode; the bucket needs Object Lock).", valueName: "days"))
    var objectLockDays: Int?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let options = try archiveOptions(
            url: destination, directory: dir, logID: logID, retainDays: objectLockDays)
        let archiver = LogArchiver(directory: dir, options: options)
        let pending = try reportingErrors { () throws(AuditLogError) in try archiver.pendingSegments() }
        if !json {
            Console.error("\(pending.count) sealed segment(s) to archive to \(options.store.location)/\(options.logID)")
        }
        let run: ArchiveRun
        do throws(AuditLogError) {
            run = try archiver.run(shouldContinue: { true }) { name, run in
                if !json {
                    Console.error("  \(name) (\(run.uploaded.count)/\(pending.count), \(megabytes(run.bytes)) MB so far)")
                }
            }
        } catch {
            throw fail(error, hint: archiveHint(for: error))
        }
        if json {
            Console.print(
                "{\"destination\":\"\(options.store.location)/\(options.logID)\",\"uploaded\":\(run.uploaded.count),"
                    + "\"bytes\":\(run.bytes),\"alreadyArchived\":\(run.alreadyArchived),\"pending\":\(run.pending)}")
        } else {
            Console.print(
                "archived \(run.uploaded.count) segment(s), \(megabytes(run.bytes)) MB, to "
                    + "\(options.store.location)/\(options.logID); \(run.alreadyArchived) were already there")
        }
    }

    private func megabytes(_ bytes: Int64) -> String {
        String(Double(bytes / 10_000) / 100)
    }
}

/// What to tell the user about an archive failure.
private func archiveHint(for error: AuditLogError) -> String? {
    switch error.code {
    case .archiveUnavailable:
        "nothing is lost: what was archived is in the journal, and running the command again goes on from there"
    case .archiveRefused:
        "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the bucket's name and that it exists (and has Object Lock "
            + "enabled, with --object-lock-days)"
    default: nil
    }
}
