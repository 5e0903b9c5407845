import ArgumentParser
import AuditLog
import AuditLogCommandSupport

/// Which binary runs a command line. `auditlog` has no HTTP stack: FoundationNetworking and libcurl (30 shared
/// libraries) cost every start about 15 ms, so a command that reaches object storage runs as `auditlog-s3`, the
/// same commands with the S3 store (docs/PERFORMANCE.md).
package enum ObjectStorageDispatch {
    /// Whether `arguments` need object storage: an `s3://` address, or a log directory (`--dir DIR`, `--dir=DIR`
    /// or a positional `DIR`) holding segments evicted to an archive.
    package static func isNeeded(_ arguments: [String]) -> Bool {
        arguments.contains { argument in
            if argument.contains("s3://") { return true }
            let path = argument.hasPrefix("--dir=") ? String(argument.dropFirst("--dir=".count)) : argument
            return !path.hasPrefix("-") && ArchiveStores.areNeeded(byLogIn: path)
        }
    }

    /// Runs the command line as `auditlog-s3` when it needs object storage (this process is replaced); returns
    /// otherwise.
    package static func runObjectStorageToolIfNeeded() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard isNeeded(arguments) else { return }
        do {
            try runSibling("auditlog-s3", arguments)
        } catch {
            AuditLogCommand.exit(withError: error)
        }
    }
}
