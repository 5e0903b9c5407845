import ArgumentParser
import AuditLog
import AuditLogServer
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a log over HTTP: ingest, queries, exports, proofs and metrics, behind API keys.",
        discussion: """
            Opens the log as its writer and serves the HTTP API described at /v1/openapi.json (README, "Run it as \
            a service"). Every route but /healthz and /metrics needs an API key: create them with \
            `auditlog keys create`, also while the server runs. Once it accepts connections it prints \
            `listening on http://HOST:PORT` on stderr (with --listen 127.0.0.1:0, the port it picked).

            With --key it signs a checkpoint of the log at every segment seal, at close and every \
            --checkpoint-interval, and serves the latest at /v1/checkpoint and its verifier key at \
            /v1/verifier-key. SIGTERM or SIGINT: stop accepting, finish the requests in flight, close the log, \
            exit 0.

            Examples:
              auditlog serve --dir audit
              auditlog serve --dir audit --listen 0.0.0.0:8443 --key keys/prod.key \\
                  --tls-cert tls/cert.pem --tls-key tls/key.pem
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory (created if missing).", valueName: "dir"))
    var dir: String

    @Option(help: ArgumentHelp("Address to listen on; port 0 picks a free port.", valueName: "host:port"))
    var listen: String = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("Private key (from `auditlog keygen`) to sign checkpoints with.", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("Sign a checkpoint at least this often while events arrive (with --key).", valueName: "duration"))
    var checkpointInterval: DurationArgument = DurationArgument(argument: "60s")!

    @Option(help: ArgumentHelp("TLS certificate chain (PEM); serve HTTPS with --tls-key.", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("TLS private key (PEM).", valueName: "file"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("Largest request body, e.g. 16MiB; larger ones get 413.", valueName: "size"))
    var maxBody: ByteSize = ByteSize(argument: "16MiB")!

    @Option(
        help: ArgumentHelp(
            "When an append is acknowledged: sync (fdatasynced), interval:MS, none.", valueName: "mode"))
    var durability: DurabilityArgument = DurabilityArgument(argument: "sync")!

    @Option(help: ArgumentHelp("Close connections idle this long (a stalled request body too).", valueName: "duration"))
    var idleTimeout: DurationArgument = DurationArgument(argument: "30s")!

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("give --tls-cert and --tls-key together") }
        guard Self.address(listen) != nil else {
            throw ValidationError("--listen takes HOST:PORT, such as 127.0.0.1:8080 or [::1]:0 (got \(listen))")
        }
        guard maxBody.bytes >= 1024 else { throw ValidationError("--max-body must be at least 1KiB") }
    }

    /// `host:port` or `[v6]:port`.
    static func address(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        AuditLogServer.bootstrapMetrics()
        let logger = Logger(label: "auditlog.serve")

        var options = AuditLog.Options(durability: durability.value)
        let signer = try key.map { (path) throws(ExitCode) in try reportingErrors { () throws(AuditLogError) in try KeyArguments.signer(path) } }
        options.checkpointSigner = signer
        options.checkpointInterval = signer == nil ? nil : checkpointInterval.duration
        let log = try reportingErrors { () throws(AuditLogError) in try AuditLog(directory: dir, options: options) }
        if log.recoveryReport.repaired {
            Console.error("recovered: cut \(log.recoveryReport.truncatedBytes) bytes of an incomplete write")
        }

        var configuration = AuditLogServer.Configuration()
        let address = Self.address(listen)!
        configuration.host = address.host
        configuration.port = address.port
        configuration.tlsCertificatePath = tlsCert
        configuration.tlsKeyPath = tlsKey
        configuration.idleTimeout = idleTimeout.duration
        configuration.service.maxBodyBytes = maxBody.bytes
        configuration.service.verifierKey = signer?.verifierKey
        let scheme = tlsCert == nil ? "http" : "https"
        do {
            try await AuditLogServer.run(log: log, configuration: configuration, logger: logger) { host, port in
                let shown = host.contains(":") ? "[\(host)]" : host
                Console.error("listening on \(scheme)://\(shown):\(port)")
            }
        } catch {
            try? await log.close()
            Console.error("error: \(error)")
            throw ExitStatus.ioError
        }
        do {
            try await log.close()
        } catch {
            throw fail(error)
        }
        Console.error("stopped; the log is closed")
    }
}
