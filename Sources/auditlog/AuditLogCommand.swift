import ArgumentParser
import AuditLog

@main
struct AuditLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auditlog",
        abstract: "Append-only, tamper-evident audit log: ingest events, read them back, export them.",
        discussion: """
            A log is a directory of segment files. One writer at a time appends to it; any number of readers \
            (export, stats) may read it at the same time, from other processes too.

            Quick start:
              auditlog demo --dir demo-log                         # sample data, end to end
              auditlog ingest --dir audit events.jsonl             # append JSON Lines events
              auditlog export --dir audit --output events.jsonl    # every event, with seq and leafHash
              auditlog stats --dir audit                           # size, counts, Merkle root

            Exit status: 0 success, 64 usage error, 65 invalid input, 74 I/O or storage error, 75 log locked.
            """,
        subcommands: [IngestCommand.self, ExportCommand.self, StatsCommand.self, DemoCommand.self]
    )
}
