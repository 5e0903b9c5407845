import ArgumentParser
import AuditLog

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every event as JSON Lines, with its seq and leafHash.",
        discussion: """
            Streams in constant memory, oldest first. Each line has the input fields plus "seq" (the event's \
            sequence number and Merkle leaf index) and "leafHash" (hex SHA-256 leaf hash); timestamps are \
            RFC 3339 UTC with milliseconds. A log being written can be exported: the export holds every event \
            committed when it reaches the end.

            Examples:
              auditlog export --dir audit > all.jsonl
              auditlog export --dir audit --output all.jsonl
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Option(help: ArgumentHelp("Output format. Only jsonl for now.", valueName: "format"))
    var format: Format = .jsonl

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "Write to this file (created owner-only, moved into place when complete) instead of standard output.",
            valueName: "file"))
    var output: String?

    enum Format: String, ExpressibleByArgument {
        case jsonl
    }

    func run() throws {
        let started = monotonicSeconds()
        let count = try reportingErrors { () throws(AuditLogError) in
            let out = try output.map { (path) throws(AuditLogError) in try OutputFile(path: path) } ?? OutputFile()
            let n = try Exporter.exportJSONLines(directory: dir, to: out, showProgress: Console.stderrIsTerminal && output != nil)
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

/// Streams events out of a log.
enum Exporter {
    static func exportJSONLines(directory: String, to out: OutputFile, showProgress: Bool) throws(AuditLogError) -> Int {
        let reader = try LogReader(directory: directory)
        let total = showProgress ? (try? AuditLog.statistics(directory: directory).eventCount) ?? 0 : 0
        let bar = ProgressLine()
        var count = 0
        while let stored = try reader.next() {
            try out.append { buffer in
                stored.appendJSON(to: &buffer)
                buffer.append(0x0A)
            }
            count += 1
            if showProgress && count & 0x3FFF == 0 {
                bar.update(ProgressLine.bar(Double(count) / Double(max(1, total))) + "  \(Console.grouped(count)) events")
            }
        }
        bar.finish()
        return count
    }
}
