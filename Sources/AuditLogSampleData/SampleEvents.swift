import AuditLog
