import AuditLog
import AuditLogCommands
import AuditLogS3

// `auditlog` with object storage: what `auditlog` runs in its place for an s3:// address or a log with segments
// evicted to an archive (stores from their addresses, credentials from the AWS_* variables).
ArchiveStores.setResolver { url throws(AuditLogError) in try S3ArchiveStore.resolve(url) }
await AuditLogCommand.main()
