import ArgumentParser
import AuditLog
import AuditLogCommandSupport

struct ExportCommand: ParsableCommand {
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

            Examples:
              auditlog export --dir audit > all.jsonl
              auditlog export --dir audit --format csv --actor user_42 --since 30d --output user_42.csv
              auditlog export --dir audit --format ocsf --since 1d --output today.ocsf.jsonl
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

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

    func run() throws {
        let query = try filters.query(defaultOrder: .oldestFirst)
        let started = monotonicSeconds()
        let mapping = try reportingErrors { () throws(AuditLogError) in
            try ocsfMapping.map { (path) throws(AuditLogError) in
                try SIEMMapping(parsing: try KeyArguments.contents(of: path), path: path)
            } ?? SIEMMapping()
        }
        let count = try reportingErrors { () throws(AuditLogError) in
            let out = try output.map { (path) throws(AuditLogError) in try OutputFile(path: path) } ?? OutputFile()
            let n = try Exporter.export(
                directory: dir, query: query, format: format, mapping: mapping, to: out,
                showProgress: Console.stderrIsTerminal && output != nil)
            try out.finish()
            return (n, out.bytesWritten)
        }
        if let output {
            let seconds = monotonicSeconds() - started
            Console.error(
                "exported \(Console.grouped(count.0)) events to \(output) (\(Console.bytes(count.1)), "
                    + "\(Console.fixed(Double(count.1) / 1e6 / max(seconds, 1e-9), 1)) MB/s)")
        }
    }
}

extension ExportEncoder.Format: ExpressibleByArgument {}

/// Streams events out of a log into an output file, with a progress bar on a terminal.
enum Exporter {
    static func export(
        directory: String, query: Query, format: ExportEncoder.Format, mapping: SIEMMapping = SIEMMapping(),
        to out: OutputFile, showProgress: Bool
    ) throws(AuditLogError) -> Int {
        let reader = try AuditLogReader(directory: directory)
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
            try out.append { $0.append(contentsOf: bytes) }
            return true
        }
        bar.finish()
        return summary.events
    }
}
