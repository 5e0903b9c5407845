import AuditLog
import AuditLogKeys
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The ready service: the API of one open log on an HTTP (or HTTPS) listener, with graceful shutdown. What
/// `auditlog serve` runs.
public enum AuditLogServer {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port (the real one is passed to `onListening`).
        public var port = 8080
        /// PEM files; with both set the listener speaks HTTPS only.
        public var tlsCertificatePath: String?
        public var tlsKeyPath: String?
        /// A connection that sends nothing for this long is closed: a client that stops in the middle of its
        /// request body gets no answer, and nothing of it is appended. Default 30 s.
        public var idleTimeout: Duration = .seconds(30)
        /// Largest header line and all headers together. Default 16 KiB and 64 KiB.
        public var maxHeaderFieldBytes = 16 << 10
        public var maxHeaderBytes = 64 << 10
        public var service = AuditLogService.Configuration()

        public init() {}
    }

    /// Serves `log` until SIGTERM or SIGINT, then stops accepting connections, lets requests in flight finish,
    /// and returns; the caller closes the log. Changes to the API keys made meanwhile (by `auditlog keys` on the
    /// same directory) are picked up, and recorded in the log, within a second.
    public static func run(
        log: AuditLog, configuration: Configuration, logger: Logger,
        onListening: @escaping @Sendable (_ host: String, _ port: Int) -> Void
    ) async throws {
        let service = try AuditLogService(log: log, configuration: configuration.service)
        try await service.keys.recordChanges(in: log)
        let router = Router(context: AuditLogRequestContext.self)
        service.addRoutes(to: router)

        var http = HTTP1Channel.Configuration(idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.wholeNanoseconds)))
        http.httpDecoder = .init(
            maxHeaderFieldSize: configuration.maxHeaderFieldBytes, maxHeaderListSize: configuration.maxHeaderBytes,
            maxHeaderFieldCount: 100)
        var server = HTTPServerBuilder.http1(configuration: http)
        var scheme = "http"
        if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            server = try .tls(server, tlsConfiguration: tls)
            scheme = "https"
        }
        let url = scheme
        let app = Application(
            router: router, server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "auditlog"),
            services: [KeyChangeRecorder(keys: service.keys, log: log, logger: logger)],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("listening on \(url)://\(configuration.host):\(port)")
                onListening(configuration.host, port)
            },
            logger: logger)
        try await app.runService()
    }
}

/// Records in the log, within a second, the API key changes that `auditlog keys` makes to the key file while the
/// server holds the log.
struct KeyChangeRecorder: Service {
    let keys: APIKeyStore
    let log: AuditLog
    let logger: Logger

    func run() async throws {
        var seen = SidecarFile.version(keys.path)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let now = SidecarFile.version(keys.path)
            guard now.map({ "\($0)" }) != seen.map({ "\($0)" }) else { continue }
            seen = now
            do {
                try await keys.recordChanges(in: log)
            } catch {
                logger.error("could not record API key changes in the log: \(error.message)")
            }
        }
    }
}

extension Duration {
    var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
