import AuditLogCommands

// A command line that reaches object storage runs as `auditlog-s3` (ObjectStorageDispatch); any other runs here.
ObjectStorageDispatch.runObjectStorageToolIfNeeded()
await AuditLogCommand.main()
