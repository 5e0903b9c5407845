import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import FoundationEssentials

/// `--dir DIR`, or `--archive s3://BUCKET/PREFIX/<log id>`: the log a read-only command reads. An archived log is
/// first brought up to date in a local cache (only new or changed objects are fetched), which is then read like
/// any log directory.
struct LogLocation: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String?

    @Option(
        help: ArgumentHelp(
            "Read an archived log instead: s3://BUCKET/PREFIX/<log id> (credentials from the AWS_* variables).",
            valueName: "s3-url"))
    var archive: String?

    @Option(
        help: ArgumentHelp(
            "Where archived logs are cached (default: $XDG_CACHE_HOME/auditlog/archive or ~/.cache/auditlog/archive).",
            valueName: "dir"))
    var cacheDir: String?

    func validate() throws {
        guard (dir == nil) != (archive == nil) else {
            throw ValidationError("give --dir DIR, or --archive s3://BUCKET/PREFIX/<log id>")
        }
        guard archive != nil || cacheDir == nil else { throw ValidationError("--cache-dir goes with --archive") }
    }

    /// The directory to read: `--dir`, or the archived log's local copy, brought up to date first.
    func directory() throws(ExitCode) -> String {
        if let dir { return dir }
        return try reportingErrors { () throws(AuditLogError) -> String in try cachedCopy(of: archiveReader(archive!)) }
    }

    /// With `--archive s3://BUCKET/PREFIX`: every log archived there, each by its id and up-to-date local copy.
    func fleet() throws(ExitCode) -> [(id: String, directory: String)] {
        guard let url = archive else {
            Console.error("error: --all-logs reads a fleet's archive: give --archive s3://BUCKET/PREFIX")
            throw ExitCode.validationFailure
        }
        return try reportingErrors { () throws(AuditLogError) -> [(id: String, directory: String)] in
            let store = try archiveStore(url)
            let ids = try ArchiveReader.logIDs(in: store)
            if ids.isEmpty { throw AuditLogError(.notFound, "no archived log under \(store.location)") }
            return try ids.map { (id) throws(AuditLogError) in
                (id, try cachedCopy(of: ArchiveReader(store: store, logID: id)))
            }
        }
    }

    /// The archived log's local copy in the cache, brought up to date.
    private func cachedCopy(of reader: ArchiveReader) throws(AuditLogError) -> String {
        let environment = ProcessInfo.processInfo.environment
        let base =
            cacheDir
            ?? (environment["XDG_CACHE_HOME"].map { $0 + "/auditlog/archive" }
                ?? FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/auditlog/archive")
        // One directory per archived log: its address, with every byte that is not safe in a name escaped.
        let name = reader.location.dropFirst("s3://".count).map { c -> String in
            c.isLetter || c.isNumber || c == "." || c == "-" || c == "_" ? String(c) : "+"
        }.joined()
        do {
            try FileManager.default.createDirectory(
                atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AuditLogError(.io, "cannot create the cache directory", path: base)
        }
        let path = base + "/" + name
        let showProgress = Console.stderrIsTerminal
        let result = try reader.download(to: path) { done, total in
            if showProgress { Console.error("fetching \(reader.location): \(done)/\(total) object(s)") }
        }
        if result.fetched > 0 || result.removed > 0 {
            Console.error(
                "\(reader.location): fetched \(result.fetched) object(s) (\(Console.bytes(result.bytes))) into "
                    + "\(path), \(result.unchanged) unchanged, \(result.removed) removed")
        }
        return path
    }
}
