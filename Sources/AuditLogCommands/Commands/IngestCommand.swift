import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Append events from a JSON Lines file or standard input.",
        discussion: """
            Each line is one event object (see README, "The event"). Lines are appended in order and get \
            consecutive sequence numbers.

            On an invalid line ingest stops, names the line, field and reason, and exits 65. Every event before \
            that line is stored and durable, and the message says how many; continue with \
            `tail -n +LINE FILE | auditlog ingest --dir DIR` once the line is fixed. With --skip-invalid, bad \
            lines are reported and skipped instead.

            Examples:
              auditlog ingest --dir audit events.jsonl
              producer | auditlog ingest --dir audit --durability interval:100
              auditlog ingest --dir audit big.jsonl --progress json 2> progress.log
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory (created if missing).", valueName: "dir"))
    var dir: String

    @Argument(help: ArgumentHelp("JSON Lines file to read; - or nothing reads standard input.", valueName: "file"))
    var file: String = "-"

    @Option(
        help: ArgumentHelp(
            "When an append is acknowledged: sync (every commit fdatasynced), interval:MS (synced within MS "
                + "milliseconds), none (left to the OS).", valueName: "mode"))
    var durability: DurabilityArgument = DurabilityArgument(argument: "sync")!

    @Option(
        name: .customLong("segment-size"),
        help: ArgumentHelp("Seal a segment and start a new one past this size, e.g. 32MiB.", valueName: "size"))
    var segmentSize: ByteSize = ByteSize(argument: "32MiB")!

    @Option(help: ArgumentHelp("Largest accepted event (JSON line), e.g. 1MiB.", valueName: "size"))
    var maxEventSize: ByteSize = ByteSize(argument: "1MiB")!

    @Flag(help: "Report invalid lines on stderr and skip them instead of stopping.")
    var skipInvalid = false

    @Option(
        help: ArgumentHelp(
            "Progress reporting: json prints {\"durableEvents\": N} on stderr after each group commit. "
                + "On a terminal a progress bar is shown by default.", valueName: "format"))
    var progress: ProgressFormat?

    enum ProgressFormat: String, ExpressibleByArgument {
        case json
    }

    func run() throws {
        var options = AuditLog.Options(durability: durability.value)
        options.maxSegmentBytes = segmentSize.bytes
        options.limits.maxEventBytes = maxEventSize.bytes
        let log = try reportingErrors { () throws(AuditLogError) in try AuditLog(directory: dir, options: options) }
        if log.recoveryReport.repaired {
            let report = log.recoveryReport
            Console.error(
                "recovered: cut \(report.truncatedBytes) bytes of incomplete writes from the end of the log"
                    + (report.reason.map { " (\($0))" } ?? ""))
        }

        let source: JSONLinesSource = file == "-" ? .standardInput : .file(file)
        let totalBytes = file == "-" ? nil : Console.regularFileSize(file)
        let bar = ProgressLine()
        let started = monotonicSeconds()
        let progress: @Sendable (JSONLinesImportProgress) -> Void
        if self.progress == .json {
            progress = { Console.error("{\"durableEvents\": \($0.stored)}") }
        } else if Console.stderrIsTerminal {
            progress = { report in
                let rate = Double(report.bytesRead) / max(0.001, monotonicSeconds() - started) / 1e6
                let prefix = totalBytes.map { ProgressLine.bar(Double(report.bytesRead) / Double(max(1, $0))) + "  " }
                bar.update(
                    "\(prefix ?? "")\(Console.grouped(report.stored)) events stored  \(Console.fixed(rate, 1)) MB/s")
            }
        } else {
            progress = { _ in }
        }
        let skips = SkipReporter()
        let summary: JSONLinesImportSummary
        do throws(AuditLogError) {
            summary = try log.appendJSONLines(
                from: source, skipInvalid: skipInvalid, progress: progress, onInvalidLine: skips.report)
        } catch {
            try? log.close()
            throw fail(error)
        }
        bar.finish()
        skips.finish()
        let closeError: AuditLogError? = {
            do throws(AuditLogError) { try log.close() } catch { return error }
            return nil
        }()

        if let storage = summary.storageError ?? closeError {
            throw fail(
                storage,
                hint: summary.stored == 0
                    ? "no event of this input was stored."
                    : "stored \(Console.grouped(summary.stored)) events (input lines 1–\(summary.lastStoredLine)); "
                        + "later lines were not acknowledged.")
        }
        if let (line, error) = summary.stoppedAt {
            throw fail(
                error,
                hint: "stored \(Console.grouped(summary.stored)) events from the lines before line \(line); they are "
                    + "durable. Nothing from line \(line) on was stored.\nFix or remove that line, then continue "
                    + "with: tail -n +\(line) \(file) | auditlog ingest --dir \(dir)")
        }
        let mb = Double(summary.bytesRead) / 1e6
        let seconds = max(Console.seconds(summary.duration), 1e-9)
        let rate = Int(Double(summary.stored) / seconds)
        Console.error(
            "stored \(Console.grouped(summary.stored)) events"
                + (summary.skipped > 0 ? ", skipped \(Console.grouped(summary.skipped)) invalid lines" : "")
                + " in \(Console.fixed(seconds, 2)) s (\(Console.grouped(rate)) events/s, "
                + "\(Console.fixed(mb / seconds, 1)) MB/s)")
    }
}

/// Prints the first hundred skipped lines and counts the rest.
final class SkipReporter: Sendable {
    private let printed = Mutex(0)

    func report(_ error: AuditLogError) {
        let count = printed.withLock { n -> Int in
            n += 1
            return n
        }
        if count <= 100 { Console.error("skipped \(error)") }
    }

    func finish() {
        let count = printed.withLock { $0 }
        if count > 100 { Console.error("… and \(count - 100) more skipped lines") }
    }
}
