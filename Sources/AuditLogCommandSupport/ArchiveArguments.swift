import ArgumentParser
import AuditLog
#if canImport(Glibc)
    import Glibc
#endif

/// Archive options for `s3-url`, with credentials from the environment and the log id given or derived from the
/// origin of the log's newest checkpoint.
package func archiveOptions(url: String, directory: String, logID: String?, retainDays: Int?) throws(ExitCode)
    -> ArchiveOptions
{
    let store = try reportingErrors { () throws(AuditLogError) in try archiveStore(url) }
    var id = logID
    if id == nil, access(directory, F_OK) == 0 {
        let checkpoint = try reportingErrors { () throws(AuditLogError) in
            try AuditLogReader(directory: directory).latestCheckpoint()
        }
        if let origin = checkpoint?.split(separator: "\n").first {
            id = ArchiveOptions.logID(origin: String(origin))
        }
    }
    guard let id else {
        Console.error(
            "error: the log has no signed checkpoint to name it after in the archive: give it a name (--log-id, "
                + "--archive-log-id for serve), such as the host's")
        throw ExitCode.validationFailure
    }
    return try reportingErrors { () throws(AuditLogError) in
        try ArchiveOptions(store: store, logID: id, retainDays: retainDays)
    }
}

/// The store at `s3://BUCKET/PREFIX`, made by the process's resolver (``ArchiveStores``: `auditlog-s3` and
/// `auditlog-serve` build S3 clients with credentials from the environment; a bad address is
/// ``AuditLogError/Code/invalidArgument``, missing credentials ``AuditLogError/Code/archiveRefused``).
package func archiveStore(_ url: String) throws(AuditLogError) -> any ArchiveStore {
    try ArchiveStores.store(at: url)
}
