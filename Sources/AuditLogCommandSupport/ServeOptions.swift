import ArgumentParser
import AuditLog

/// The options of `auditlog serve`, parsed by `auditlog` (for its help and its errors) and again by
/// `auditlog-serve`, the server binary it runs (FORMAT.md is unaffected; see README, "Run it as a service").
package struct ServeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The log directory (created if missing).", valueName: "dir"))
    package var dir: String

    @Option(help: ArgumentHelp("Address to listen on; port 0 picks a free port.", valueName: "host:port"))
    package var listen: String = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("Private key (from `auditlog keygen`) to sign checkpoints with.", valueName: "file"))
    package var key: String?

    @Option(
        help: ArgumentHelp(
            "Sign a checkpoint at least this often while events arrive (with --key).", valueName: "duration"))
    package var checkpointInterval: DurationArgument = DurationArgument(argument: "60s")!

    @Option(help: ArgumentHelp("TLS certificate chain (PEM); serve HTTPS with --tls-key.", valueName: "file"))
    package var tlsCert: String?

    @Option(help: ArgumentHelp("TLS private key (PEM).", valueName: "file"))
    package var tlsKey: String?

    @Option(help: ArgumentHelp("Largest request body, e.g. 16MiB; larger ones get 413.", valueName: "size"))
    package var maxBody: ByteSize = ByteSize(argument: "16MiB")!

    @Option(
        help: ArgumentHelp(
            "When an append is acknowledged: sync (fdatasynced), interval:MS, none.", valueName: "mode"))
    package var durability: DurabilityArgument = DurabilityArgument(argument: "sync")!

    @Option(
        help: ArgumentHelp("Close connections idle this long (a stalled request body too).", valueName: "duration"))
    package var idleTimeout: DurationArgument = DurationArgument(argument: "30s")!

    @Option(
        help: ArgumentHelp(
            "Rules mapping actions to OCSF classes for format=ocsf and ecs exports (FORMAT.md, \"SIEM formats\").",
            valueName: "file"))
    package var ocsfMapping: String?

    @Option(
        help: ArgumentHelp(
            "Upload sealed segments to s3://BUCKET/PREFIX in the background (see `auditlog archive --help`).",
            valueName: "s3-url"))
    package var archive: String?

    @Option(
        help: ArgumentHelp(
            "The log's name in the archive (default: the name of --key, or of the newest checkpoint's origin).",
            valueName: "id"))
    package var archiveLogID: String?

    @Option(
        help: ArgumentHelp(
            "Lock archived objects for this many days (COMPLIANCE mode; the bucket needs Object Lock).",
            valueName: "days"))
    package var objectLockDays: Int?

    @Option(
        help: ArgumentHelp(
            "Keep at most this much of the log's sealed segments on the local disk (such as 10GiB): the oldest "
                + "archived ones are removed locally and read from the archive on demand.",
            valueName: "size"))
    package var keepLocal: ByteSize?

    @Option(
        help: ArgumentHelp(
            "Keep sealed segments on the local disk while their newest event is younger than this (such as 30d); "
                + "older archived ones are read from the archive on demand.",
            valueName: "duration"))
    package var keepLocalFor: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "With --keep-local or --keep-local-for: the bound of the cache of bytes read back from the archive.",
            valueName: "size"))
    package var archiveCache: ByteSize = ByteSize(argument: "256MiB")!

    @Option(
        help: ArgumentHelp(
            "Keep this much of decoded records in memory for pages asked again (0 for none); the metrics show its "
                + "hits and misses.",
            valueName: "size"))
    package var readCache: ByteSize = ByteSize(argument: "32MiB")!

    /// ``LocalRetention`` from `--keep-local`, `--keep-local-for` and `--archive-cache`, or nil.
    package var localRetention: LocalRetention? {
        guard keepLocal != nil || keepLocalFor != nil else { return nil }
        return LocalRetention(
            maxBytes: keepLocal.map { Int64($0.bytes) }, maxAge: keepLocalFor?.duration,
            cacheBytes: Int64(archiveCache.bytes))
    }

    package init() {}

    package func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("give --tls-cert and --tls-key together")
        }
        guard address != nil else {
            throw ValidationError("--listen takes HOST:PORT, such as 127.0.0.1:8080 or [::1]:0 (got \(listen))")
        }
        guard maxBody.bytes >= 1024 else { throw ValidationError("--max-body must be at least 1KiB") }
        guard archive != nil || (archiveLogID == nil && objectLockDays == nil && localRetention == nil) else {
            throw ValidationError(
                "--archive-log-id, --object-lock-days, --keep-local and --keep-local-for go with --archive s3://BUCKET/PREFIX"
            )
        }
    }

    /// `host:port` or `[v6]:port`.
    package var address: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}
