import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import FoundationEssentials

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a log offline: checksums, leaf hashes, stored roots, segment continuity, checkpoints.",
        discussion: """
            Read-only: works on a copy, on read-only media, and while a writer appends. Nothing derived is \
            trusted: every record is rehashed and every stored root and frontier recomputed. Checkpoints found in \
            the log directory and given with --checkpoint are checked: their signature (with --key) and that the \
            log holds their tree, with the same root.

            Problems are classified: modified, missing_segment, truncated, reordered, bad_signature, \
            inconsistent_with_checkpoint, each with the file, byte offset and seq where it starts. An incomplete \
            write at the very end of the log (cut short or zero-filled by a crash) is reported but is not a \
            failure. Verify a consistent copy: copying a log while its writer appends can catch a block half-copied.

            An archive in object storage (`auditlog archive`, `serve --archive`) is verified in place, with \
            read-only credentials and no local copy: give s3://BUCKET/PREFIX/<log id> instead of a directory \
            (credentials and server from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, \
            AWS_ENDPOINT_URL). The same checks and classes apply to its sealed segments and checkpoints; a bucket \
            that cannot be read (credentials, network) is an error (exit 2), never a verdict.

            Exit status: 0 valid, 1 integrity failure, 2 usage or I/O error.

            Examples:
              auditlog verify ./audit-copy --key auditor.vkey
              auditlog verify ./audit-copy --checkpoint yesterday.checkpoint --key 'audit.example.com+1a2b3c4d+AX…'
              auditlog verify ./audit-copy --json > report.json
              auditlog verify s3://audit-archive/prod/audit.example.com_orders --key auditor.vkey
              auditlog verify s3://audit-archive/prod --all-logs --key orders-1.vkey --key orders-2.vkey
            """
    )

    @Argument(
        help: ArgumentHelp("The log directory, or an archived log: s3://BUCKET/PREFIX/<log id>.", valueName: "dir"))
    var directory: String?

    @Option(name: .long, help: ArgumentHelp("The log directory (same as the argument).", valueName: "dir"))
    var dir: String?

    @Option(
        name: .customLong("checkpoint"),
        help: ArgumentHelp("A signed checkpoint file to check the log against (repeatable).", valueName: "file"))
    var checkpoints: [String] = []

    @Option(
        help: ArgumentHelp(
            "Verifier key (file or vkey text) that checkpoints must be signed by; with --all-logs, one per log "
                + "(repeatable: each log is checked with the key named after its origin).", valueName: "vkey"))
    var key: [String] = []

    @Flag(help: "Verify every log archived under s3://BUCKET/PREFIX (a fleet's), one line per log.")
    var allLogs = false

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @Option(
        help: """
            Threads verifying segments in parallel (default: the number of cores). A large segment is split over \
            two of them when one would otherwise have nothing left to do.
            """)
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard (directory ?? dir) != nil else { throw ValidationError("give the log directory: auditlog verify DIR") }
        guard directory == nil || dir == nil || directory == dir else {
            throw ValidationError("give the directory once")
        }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard key.count <= 1 || allLogs else { throw ValidationError("give one --key (several only with --all-logs)") }
        guard !allLogs || (directory ?? dir)!.hasPrefix("s3://") else {
            throw ValidationError("--all-logs verifies an archive: give s3://BUCKET/PREFIX")
        }
    }

    func run() throws {
        let path = (directory ?? dir)!
        if allLogs { return try verifyAllLogs(path) }
        let report: VerificationReport
        do throws(AuditLogError) {
            let verifierKey = try key.first.map { (text) throws(AuditLogError) in try KeyArguments.verifierKey(text) }
            var given: [(name: String, text: String)] = []
            for file in checkpoints { given.append((file, try KeyArguments.contents(of: file))) }
            let reporter = Console.stderrIsTerminal && !json ? SharedProgress(label: "verifying") : nil
            if path.hasPrefix("s3://") {
                report = try archiveReader(path).verify(
                    checkpoints: given, key: verifierKey, jobs: jobs, progress: reporter?.update)
            } else {
                report = try AuditLogReader(directory: path).verify(
                    checkpoints: given, key: verifierKey, jobs: jobs, progress: reporter?.update)
            }
            reporter?.finish()
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(2)
        }
        if json {
            Console.print(VerifyReportFormat.json(report))
        } else {
            Console.print(VerifyReportFormat.text(report, keyGiven: !key.isEmpty))
        }
        if !report.isValid { throw ExitCode(1) }
    }

    /// Every log under the prefix, each with the key named after its origin: one line (or JSON object) per log.
    private func verifyAllLogs(_ url: String) throws {
        var failed = false
        do throws(AuditLogError) {
            let keys = try key.map { (text) throws(AuditLogError) in try KeyArguments.verifierKey(text) }
            let store = try archiveStore(url)
            let ids = try ArchiveReader.logIDs(in: store)
            if ids.isEmpty { throw AuditLogError(.notFound, "no archived log under \(store.location)") }
            for id in ids {
                let logKey = keys.first { ArchiveOptions.logID(origin: $0.name) == id }
                let report = try ArchiveReader(store: store, logID: id).verify(key: logKey, jobs: jobs)
                let unkeyed = !keys.isEmpty && logKey == nil
                failed = failed || !report.isValid || unkeyed
                if json {
                    Console.print(VerifyReportFormat.json(report))
                    continue
                }
                var line = report.isValid && !unkeyed ? "ok      " : "FAILED  "
                line += "\(id)  \(report.segments.count) segment(s), tree size \(Console.grouped(report.treeSize))"
                line += ", \(report.checkpoints.count) checkpoint(s)"
                if keys.isEmpty { line += " (signatures not checked: pass --key)" }
                if unkeyed { line += "; no --key is named after this log's origin" }
                let kinds = Set(report.problems.map(\.kind.rawValue)).sorted()
                if !kinds.isEmpty { line += "; \(report.problems.count) problem(s): \(kinds.joined(separator: ", "))" }
                Console.print(line)
            }
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(2)
        }
        if failed { throw ExitCode(1) }
    }
}

/// The archived log at `s3://BUCKET/PREFIX/<log id>`, with credentials from the environment.
func archiveReader(_ url: String) throws(AuditLogError) -> ArchiveReader {
    let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
    guard let slash = trimmed.lastIndex(of: "/"), trimmed.distance(from: trimmed.startIndex, to: slash) > 5 else {
        throw AuditLogError(.invalidArgument, "\(url): give the archived log as s3://BUCKET/PREFIX/<log id>")
    }
    let store = try archiveStore(String(trimmed[..<slash]))
    return ArchiveReader(store: store, logID: String(trimmed[trimmed.index(after: slash)...]))
}

enum VerifyReportFormat {
    static func text(_ r: VerificationReport, keyGiven: Bool) -> String {
        var lines: [String] = []
        let bytes = r.segments.reduce(Int64(0)) { $0 + $1.bytes }
        lines.append(
            "Verifying \(r.directory): \(r.segments.count) segment(s), \(Console.bytes(bytes)), \(r.jobs) job(s)")
        let bad = Dictionary(grouping: r.problems.filter { $0.file?.hasSuffix(".seg") == true }, by: { $0.file! })
        for s in r.segments {
            let range = "seq \(Console.grouped(s.baseSeq))..<\(Console.grouped(s.endSeq))"
            if let problem = bad[s.file]?.first {
                lines.append(
                    "  FAILED  \(s.file)  \(problem.kind.rawValue) at byte \(problem.offset.map { Console.grouped($0) } ?? "?")"
                )
            } else {
                var state = s.sealed ? "sealed" : "active"
                if s.incompleteTailBytes > 0 {
                    state += ", \(s.incompleteTailBytes) bytes of an incomplete write at the end (cut on the next open)"
                }
                lines.append("  ok      \(s.file)  \(range)  (\(state))")
            }
        }
        if let pruned = r.prunedBelow {
            lines.append(
                "  pruned  seq 0..<\(Console.grouped(pruned)) removed by retention (recorded in the log; expected)")
        }
        if r.redactedEvents > 0 {
            lines.append(
                "  redacted  \(Console.grouped(r.redactedEvents)) event(s), each covered by a redaction event in the log"
            )
        }
        if !r.checkpoints.isEmpty {
            lines.append("Checkpoints" + (keyGiven ? ":" : " (signatures NOT checked: pass --key):"))
            for c in r.checkpoints {
                let size = c.checkpoint.map { "tree size \(Console.grouped($0.treeSize))" } ?? "unreadable"
                let predates = (c.checkpoint?.treeSize).map { $0 < (r.prunedBelow ?? 0) } ?? false
                let consistent =
                    c.consistent.map { $0 ? "matches the log" : "does NOT match the log" }
                    ?? (predates ? "not checkable (older than the retention boundary)" : "not checkable")
                let ok = c.signature != .invalid && c.consistent != false
                lines.append(
                    "  \(ok ? "ok    " : "FAILED")  \(c.source)  \(size), signature \(c.signature.rawValue.replacing("_", with: " ")), \(consistent)"
                )
            }
        }
        if r.isValid {
            lines.append("VALID: \(Console.grouped(r.treeSize)) events, every record, root and checkpoint checked")
        } else {
            lines.append("INVALID: \(r.problems.count) problem(s)")
            for p in r.problems {
                var place: [String] = []
                if let file = p.file { place.append(file) }
                if let offset = p.offset {
                    place.append(p.length.map { "bytes \(offset)..<\(offset + $0)" } ?? "byte \(offset)")
                }
                if let seq = p.seq { place.append("seq \(seq)") }
                lines.append("  \(p.kind.rawValue): \(place.joined(separator: ", ")): \(p.message)")
            }
        }
        if let root = r.root { lines.append("tree size \(r.treeSize), root \(root.hex)") }
        let mb = Double(r.recordBytes) / 1e6
        lines.append(
            "hashed \(Console.bytes(r.recordBytes)) of records in \(Console.fixed(r.seconds, 2)) s "
                + "(\(Console.fixed(mb / max(r.seconds, 1e-9), 1)) MB/s, "
                + "\(Console.grouped(Int(Double(r.eventCount) / max(r.seconds, 1e-9)))) events/s)")
        return lines.joined(separator: "\n")
    }

    static func json(_ r: VerificationReport) -> String {
        (try? JSONText(encoding: r).text) ?? "{}"
    }
}
