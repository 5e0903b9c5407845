import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import AuditLogS3
import AuditLogServer
import Logging

/// The server binary that `auditlog serve` runs in its place: the options of `auditlog serve`, then
/// ``AuditLogServer/run(log:configuration:logger:onListening:)`` until SIGTERM or SIGINT.
@main
struct AuditLogServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auditlog serve",
        abstract: "Serve a log over HTTP (run through `auditlog serve`; see `auditlog serve --help`).")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        // The archive's store (--archive), and any other an evicted segment names: S3, credentials from AWS_*.
        ArchiveStores.setResolver { url throws(AuditLogError) in try S3ArchiveStore.resolve(url) }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        AuditLogServer.bootstrapMetrics()
        let logger = Logger(label: "auditlog.serve")

        var logOptions = AuditLog.Options(durability: options.durability.value)
        let signer = try options.key.map { (path) throws(ExitCode) in
            try reportingErrors { () throws(AuditLogError) in try KeyArguments.signer(path) }
        }
        logOptions.checkpointSigner = signer
        logOptions.checkpointInterval = signer == nil ? nil : options.checkpointInterval.duration
        logOptions.readCacheBytes = options.readCache.bytes
        if let archive = options.archive {
            logOptions.archive = try archiveOptions(
                url: archive, directory: options.dir,
                logID: options.archiveLogID ?? signer.map { ArchiveOptions.logID(origin: $0.name) },
                retainDays: options.objectLockDays)
            logOptions.archive?.localRetention = options.localRetention
        }
        // Read before the log opens, so that a bad file changes nothing.
        let siemMapping = try reportingErrors { () throws(AuditLogError) in
            try options.ocsfMapping.map { (path) throws(AuditLogError) in
                try SIEMMapping(parsing: try KeyArguments.contents(of: path), path: path)
            } ?? SIEMMapping()
        }
        let log = try reportingErrors { () throws(AuditLogError) in
            try AuditLog(directory: options.dir, options: logOptions)
        }
        if log.recoveryReport.repaired {
            Console.error("recovered: cut \(log.recoveryReport.truncatedBytes) bytes of an incomplete write")
        }

        var configuration = AuditLogServer.Configuration()
        let address = options.address!  // checked by validate()
        configuration.host = address.host
        configuration.port = address.port
        configuration.tlsCertificatePath = options.tlsCert
        configuration.tlsKeyPath = options.tlsKey
        configuration.idleTimeout = options.idleTimeout.duration
        configuration.service.maxBodyBytes = options.maxBody.bytes
        configuration.service.verifierKey = signer?.verifierKey
        configuration.service.siemMapping = siemMapping
        let scheme = options.tlsCert == nil ? "http" : "https"
        let archiveWatcher = Task { await Self.report(archiveOf: log, to: logger) }
        defer { archiveWatcher.cancel() }
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

    /// Logs the archive's uploads and failures as they happen (every 5 s at most), until cancelled.
    static func report(archiveOf log: AuditLog, to logger: Logger) async {
        guard log.archiveStatus != nil else { return }
        var uploaded = 0
        var evicted = 0
        var lastError: AuditLogError?
        while (try? await Task.sleep(for: .seconds(5))) != nil {
            guard let status = log.archiveStatus else { return }
            if status.uploadedSegments > uploaded {
                let count = status.uploadedSegments - uploaded
                logger.info(
                    "archived \(count) segment(s), up to \(status.lastUploaded ?? "?"); \(status.pendingSegments) pending"
                )
                uploaded = status.uploadedSegments
            }
            if status.evictedSegments > evicted {
                logger.info(
                    "removed \(status.evictedSegments - evicted) archived segment(s) from the local disk; they are read from the archive"
                )
                evicted = status.evictedSegments
            }
            if let error = status.lastError, error != lastError {
                logger.warning("archive: \(error) (appends go on; the upload is tried again)")
            }
            lastError = status.lastError
        }
    }
}
