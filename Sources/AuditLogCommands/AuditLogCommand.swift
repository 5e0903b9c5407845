import ArgumentParser
import AuditLog
import AuditLogCommandSupport

/// The `auditlog` tool's commands, run by two binaries: `auditlog`, without an HTTP stack (quick to start), and
/// `auditlog-s3`, the same commands with object storage (`ObjectStorageDispatch` runs it in `auditlog`'s place
/// when the arguments need a bucket).
package struct AuditLogCommand: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "auditlog",
        abstract: "Append-only, tamper-evident audit log: ingest, query, export and verify events.",
        discussion: """
            A log is a directory of segment files. One writer at a time appends to it; any number of readers \
            (query, export, verify, stats) may read it meanwhile, from other processes too.

            Quick start:
              auditlog demo                             sample log, end to end
              auditlog ingest --dir audit events.jsonl  append JSON Lines events
              auditlog query --dir audit --actor u_42   newest first, one page
              auditlog show --dir audit 1832            one event, before/after diff
              auditlog export --dir audit > all.jsonl   events with seq, leafHash
              auditlog verify audit --key prod.vkey     offline integrity check
              auditlog retention --dir audit --max-age 400d   drop old segments
              auditlog redact --dir audit --actor u_42 --reason "GDPR"  erase personal data
              auditlog archive --dir audit s3://bucket/prod   sealed segments to object storage
              auditlog keys create --dir audit --name ci --permission auditLogs:write
              auditlog serve --dir audit                 the HTTP API on 127.0.0.1:8080

            Exit status: 0 success, 64 usage error, 65 invalid input, 69 object storage unreachable, 74 I/O or \
            storage error, 75 log locked, 77 object storage refused; \
            verify and verify-proof: 0 valid, 1 invalid, 2 usage or I/O error.
            """,
        subcommands: [
            IngestCommand.self, QueryCommand.self, ShowCommand.self, ExportCommand.self, StatsCommand.self,
            VerifyCommand.self, KeygenCommand.self,
            CheckpointCommand.self, ProveCommand.self, ConsistencyCommand.self, VerifyProofCommand.self,
            RetentionCommand.self, RedactCommand.self, ArchiveCommand.self, ServeCommand.self, KeysCommand.self, DemoCommand.self,
        ]
    )

    /// `verify` and `verify-proof` promise exit status 2 for usage errors (1 means "invalid log or proof");
    /// every other command keeps ArgumentParser's 64.
    package static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let verifying = ["verify", "verify-proof"].contains(CommandLine.arguments.dropFirst().first ?? "")
            if verifying && code == .validationFailure {
                let message = fullMessage(for: error)
                if !message.isEmpty { Console.error(message) }
                Self.exit(withError: ExitCode(2))
            }
            Self.exit(withError: error)
        }
    }
}
