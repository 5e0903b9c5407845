import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import FoundationEssentials

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Stream the events matching filters as JSON Lines, a JSON array, CSV, OCSF or ECS.",
        discussion: """
            Streams in constant memory, oldest first unless --order newest. Every format carries the input \
            fields plus "seq" (sequence number and Merkle leaf index) and "leafHash"; timestamps are RFC 3339 UTC \
            with milliseconds. CSV follows RFC 4180 with the columns listed in the README; before, after, metadata \
            and roles are JSON cells, and cells a spreadsheet would run as formulas are prefixed with '. A log being \
            written can be exported.

            For SIEMs: --format ocsf writes one OCSF 1.5 event per line (API Activity, Entity Management, Account \
            Change or Authentication, by action and resource type), --format ecs one Elastic Common Schema \
            document per line (an Elasticsearch bulk body without the action lines, or Filebeat's input). The \
            mapping is in FORMAT.md ("SIEM formats"); --ocsf-mapping FILE puts rules of your own first.

            Exactly once, from cron: with --bookmark FILE an export starts after the last event the previous one \
            shipped, and moves the bookmark (written aside, synced, renamed) only once the output is complete: \
            with --output, after the file is in place; else after standard output is flushed. A crash or kill \
            at any point re-exports the same range next time, and never skips one. The bookmark records the \
            Merkle root of what was shipped, so an export from a log that was replaced, rolled back or rewritten \
            is refused; events removed by retention before they were shipped are reported as a gap. \
            --after-seq N does the same from a seq you keep yourself.

            With --follow the export keeps running and writes each event as soon as it is committed (by \
            another process too), flushing each line and moving the bookmark at most once a second: pipe it \
            into Vector, Fluent Bit or a forwarder. SIGTERM or SIGINT ends it cleanly: the last line finished, \
            the bookmark moved, exit 0.

            Examples:
              auditlog export --dir audit > all.jsonl
              auditlog export --dir audit --format csv --actor user_42 --since 30d --output user_42.csv
              auditlog export --dir audit --format ocsf --bookmark siem.bookmark --output "hour-$(date +%H).jsonl"
              auditlog export --dir audit --format ecs --follow --bookmark ecs.bookmark | vector --config v.toml
            """
    )

    @OptionGroup var log: LogLocation

    @OptionGroup var filters: FilterOptions

    @Option(help: ArgumentHelp("jsonl (default), json, csv, ocsf or ecs.", valueName: "format"))
    var format: ExportEncoder.Format = .jsonLines

    @Option(
        help: ArgumentHelp(
            "Rules that map actions to OCSF classes before the defaults (FORMAT.md, \"SIEM formats\").",
            valueName: "file"))
    var ocsfMapping: String?

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "Write to this file (created owner-only, moved into place when complete) instead of standard output.",
            valueName: "file"))
    var output: String?

    @Option(name: .customLong("after-seq"), help: ArgumentHelp("Only events after this seq.", valueName: "seq"))
    var afterSeq: UInt64?

    @Option(
        help: ArgumentHelp(
            "Start after the seq this file records, and record the new end there once the output is complete.",
            valueName: "file"))
    var bookmark: String?

    @Flag(help: "Keep running: write each event as it is committed (jsonl, csv, ocsf or ecs).")
    var follow = false

    func validate() throws {
        if afterSeq != nil && bookmark != nil {
            throw ValidationError("give --after-seq or --bookmark, not both: the bookmark knows where to start")
        }
        if (bookmark != nil || follow || afterSeq != nil) && filters.order == "newest" {
            throw ValidationError("--after-seq, --bookmark and --follow export oldest first; drop --order newest")
        }
        if follow && format == .jsonArray {
            throw ValidationError("--follow writes a line per event: use --format jsonl, csv, ocsf or ecs")
        }
        if follow && log.archive != nil {
            throw ValidationError("--follow follows a log's writer; an archive has none: export it without --follow")
        }
        if follow && output != nil {
            throw ValidationError("--follow writes to standard output (a file would never be complete); drop --output")
        }
    }

    func run() async throws {
        var query = try filters.query(defaultOrder: .oldestFirst)
        let started = monotonicSeconds()
        let mapping = try reportingErrors { () throws(AuditLogError) in
            try ocsfMapping.map { (path) throws(AuditLogError) in
                try SIEMMapping(parsing: try KeyArguments.contents(of: path), path: path)
            } ?? SIEMMapping()
        }
        let directory = try log.directory()
        let reader = try reportingErrors { () throws(AuditLogError) in try AuditLogReader(directory: directory) }
        // Where to start: after --after-seq, or after what the bookmark says was shipped.
        let previous = try reportingErrors { () throws(AuditLogError) in
            try bookmark.flatMap { (path) throws(AuditLogError) in try ExportBookmark.read(path) }
        }
        if let previous, let bookmark {
            let gapEnd = try reportingErrors { () throws(AuditLogError) in
                try previous.check(against: reader, bookmarkPath: bookmark)
            }
            if let gapEnd {
                Console.error(
                    "warning: events \(previous.treeSize) to \(gapEnd - 1) were removed by retention before they were "
                        + "exported; the export continues at \(gapEnd), the first the log still has")
            }
            if previous.treeSize > 0 { query.afterSeq = previous.treeSize - 1 }
        } else if let afterSeq {
            query.afterSeq = afterSeq
        }
        let startSize = try reportingErrors { () throws(AuditLogError) in try reader.state().treeSize }

        let out = try reportingErrors { () throws(AuditLogError) in
            try output.map { (path) throws(AuditLogError) in try OutputFile(path: path) } ?? OutputFile()
        }
        let summary = try reportingErrors { () throws(AuditLogError) in
            let summary = try Exporter.export(
                reader: reader, query: query, format: format, mapping: mapping, to: out,
                showProgress: Console.stderrIsTerminal && output != nil)
            crashPoint("export-written")  // the output complete, not yet in place
            try out.finish()
            return summary
        }
        // Everything below `shipped` was exported (or does not match the filters), and is now in place.
        var shipped = max(startSize, summary.lastSeq.map { $0 + 1 } ?? 0, query.afterSeq.map { $0 + 1 } ?? 0)
        if let bookmark {
            crashPoint("export-in-place")  // the output in place, the bookmark not yet moved
            try reportingErrors { () throws(AuditLogError) in
                try ExportBookmark.at(shipped, of: reader).write(to: bookmark)
            }
        }
        if let output {
            let seconds = monotonicSeconds() - started
            Console.error(
                "exported \(Console.grouped(summary.events)) events to \(output) (\(Console.bytes(summary.bytes)), "
                    + "\(Console.fixed(Double(summary.bytes) / 1e6 / max(seconds, 1e-9), 1)) MB/s)"
                    + (bookmark.map { "; bookmark \($0) at tree size \(shipped)" } ?? ""))
        }
        guard follow else { return }
        shipped = try await followLog(reader, query: query, mapping: mapping, from: shipped)
        if let bookmark {
            try reportingErrors { () throws(AuditLogError) in
                try ExportBookmark.at(shipped, of: reader).write(to: bookmark)
            }
        }
    }

    /// Writes each event committed from seq `next` on to standard output, as it comes, until SIGTERM or SIGINT;
    /// returns the seq after the last event seen.
    private func followLog(_ reader: AuditLogReader, query: Query, mapping: SIEMMapping, from next: UInt64)
        async throws -> UInt64
    {
        let signals = StopSignals()
        let bookmarkPath = bookmark
        let format = format
        let task = Task { () throws -> UInt64 in
            let out = OutputFile()
            var encoder = ExportEncoder(format: format, mapping: mapping)
            var shipped = next
            var bookmarked = monotonicSeconds()
            for try await stored in reader.follow(from: next, pollInterval: .milliseconds(100)) {
                if query.matches(stored.event) {
                    try out.append { encoder.append(stored, to: &$0) }
                    try out.flush()
                }
                shipped = stored.seq + 1
                if let bookmarkPath, monotonicSeconds() - bookmarked >= 1 {
                    try ExportBookmark.at(shipped, of: reader).write(to: bookmarkPath)
                    bookmarked = monotonicSeconds()
                }
            }
            return shipped
        }
        signals.onSignal { task.cancel() }
        let result = await task.result
        signals.stop()
        switch result {
        case .success(let shipped): return shipped
        case .failure(let error as AuditLogError): throw fail(error)
        case .failure(let error): throw error
        }
    }
}

extension ExportEncoder.Format: ExpressibleByArgument {}

/// Streams events out of a log into an output file, with a progress bar on a terminal.
enum Exporter {
    static func export(
        reader: AuditLogReader, query: Query, format: ExportEncoder.Format, mapping: SIEMMapping = SIEMMapping(),
        to out: OutputFile, showProgress: Bool
    ) throws(AuditLogError) -> ExportSummary {
        let total = showProgress ? (try? reader.statistics().eventCount) ?? 0 : 0
        let bar = ProgressLine()
        let summary = try reader.export(
            matching: query, format: format, mapping: mapping,
            progress: showProgress
                ? { count in
                    bar.update(
                        ProgressLine.bar(Double(count) / Double(max(1, total))) + "  \(Console.grouped(count)) events")
                } : nil
        ) { (bytes) throws(AuditLogError) in
            try out.write(bytes)
            return true
        }
        bar.finish()
        return summary
    }
}
