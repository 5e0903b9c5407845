import ArgumentParser
import AuditLog
import AuditLogCommandSupport

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show events, segments, size on disk, compression, time span, tree size and root.",
        discussion: "Reads block headers only; safe while a writer appends."
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let stats = try reportingErrors { () throws(AuditLogError) in try AuditLogReader(directory: dir).statistics() }
        let oldest = stats.oldestTimestamp?.rfc3339
        let newest = stats.newestTimestamp?.rfc3339
        if json {
            Console.print(try reportingErrors { () throws(AuditLogError) in try JSONText(encoding: stats).text })
            return
        }
        Console.print("events             \(Console.grouped(stats.eventCount))")
        Console.print("segments           \(stats.segmentCount) (\(Console.grouped(stats.blockCount)) blocks)")
        Console.print("bytes on disk      \(Console.bytes(stats.bytesOnDisk))")
        Console.print(
            "compression        \(Console.fixed(stats.compressionRatio, 2))x "
                + "(\(Console.bytes(stats.recordBytes)) of records in \(Console.bytes(stats.storedPayloadBytes)))")
        Console.print("oldest event       \(oldest ?? "-")")
        Console.print("newest event       \(newest ?? "-")")
        Console.print("tree size          \(Console.grouped(stats.state.treeSize))")
        Console.print("root               \(stats.state.root.hex)")
    }
}
