import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import AuditLogKeys
import AuditLogSampleData
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate sample events, then ingest, read back, export, query, diff and verify them.",
        discussion: """
            Writes into DIR: events.jsonl (the generated input), log/ (the audit log) and export.jsonl. \
            Every step prints what it did and how fast, then the commands to explore the log yourself.

            With --serve it then serves the demo log (an existing one as it is, unless --replace) with the \
            audit-log page: it creates an API key that may read and export, and a key pair that signs \
            checkpoints (DIR/demo.key, DIR/demo.vkey), prints the URL and the API key, and runs \
            `auditlog serve` until Ctrl-C.

            Examples:
              auditlog demo
              auditlog demo --serve
            """
    )

    @Option(name: .long, help: ArgumentHelp("Working directory for the demo.", valueName: "dir"))
    var dir: String = "demo-log"

    @Option(help: "How many events to generate.")
    var events: Int = 50_000

    @Flag(help: "Delete DIR first if it already exists.")
    var replace = false

    @Flag(help: "Then serve the demo log with the audit-log page (needs auditlog-serve beside auditlog).")
    var serve = false

    @Option(help: ArgumentHelp("Address --serve listens on.", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    func validate() throws {
        guard events > 0 else { throw ValidationError("--events must be positive") }
    }

    func run() throws {
        let logPath = dir + "/log"
        if serve && !replace && access(logPath, F_OK) == 0 {
            Console.print("Serving the demo log made earlier in \(dir) (--replace makes a new one).")
        } else {
            try runDemo()
        }
        if serve { try serveDemo(logPath: logPath) }
    }

    private func runDemo() throws {
        if access(dir, F_OK) == 0 {
            guard replace else {
                throw fail(
                    AuditLogError(.invalidArgument, "\(dir) already exists", path: dir),
                    hint: "pass --replace to delete it and start over, or choose another --dir")
            }
            try removeTree(dir)
        }
        guard mkdir(dir, S_IRWXU) == 0 else {
            throw fail(AuditLogError(.io, "cannot create the demo directory", path: dir, errno: errno))
        }
        let inputPath = dir + "/events.jsonl"
        let logPath = dir + "/log"
        let exportPath = dir + "/export.jsonl"

        // 1. Generate.
        Console.print("1. generate   \(Console.grouped(events)) realistic audit events → \(inputPath)")
        var generator = SampleEventGenerator(seed: 2026)
        let sample = generator.events(events)
        try reportingErrors { () throws(AuditLogError) in
            let out = try OutputFile(path: inputPath)
            for event in sample {
                try out.append { buffer in
                    event.appendJSON(to: &buffer)
                    buffer.append(0x0A)
                }
            }
            try out.finish()
        }
        let inputBytes = Int64(sample.reduce(0) { $0 + $1.jsonString.utf8.count + 1 })
        Console.print("   \(Console.bytes(inputBytes)), \(inputBytes / Int64(events)) bytes per event on average")
        Console.print("   e.g. \(abbreviated(sample[0].jsonString))")

        // 2. Ingest through the same path as `auditlog ingest`.
        let log = try reportingErrors { () throws(AuditLogError) in try AuditLog(directory: logPath) }
        let summary = try reportingErrors { () throws(AuditLogError) in
            try log.appendJSONLines(from: .file(inputPath))
        }
        let state = log.state
        try reportingErrors { () throws(AuditLogError) in try log.close() }
        if let error = summary.storageError ?? summary.stoppedAt?.error { throw fail(error) }
        let ingestSeconds = Console.seconds(summary.duration)
        Console.print(
            "2. ingest     \(Console.grouped(summary.stored)) events into \(logPath) with durability sync in "
                + "\(Console.fixed(ingestSeconds, 2)) s (\(Console.grouped(Int(Double(summary.stored) / ingestSeconds))) events/s)"
        )
        Console.print("   tree size \(Console.grouped(state.treeSize)), Merkle root \(state.root.hex)")

        // 3. Read back and compare with the input.
        var mismatches = 0
        var readCount = 0
        try reportingErrors { () throws(AuditLogError) in
            let iterator = try AuditLogReader(directory: logPath).eventIterator()
            while let stored = try iterator.next() {
                if stored.seq != UInt64(readCount) || stored.event != sample[readCount] { mismatches += 1 }
                readCount += 1
            }
        }
        guard readCount == events, mismatches == 0 else {
            throw fail(AuditLogError(.corrupt, "read back \(readCount) events, \(mismatches) differ from the input"))
        }
        Console.print("3. read back  \(Console.grouped(readCount)) events in seq order; every field equals the input")

        // 4. Export.
        let started = monotonicSeconds()
        let exported = try reportingErrors { () throws(AuditLogError) in
            let out = try OutputFile(path: exportPath)
            let summary = try Exporter.export(
                reader: try AuditLogReader(directory: logPath), query: Query(order: .oldestFirst), format: .jsonLines,
                to: out, showProgress: false)
            try out.finish()
            return (summary.events, out.bytesWritten)
        }
        let seconds = monotonicSeconds() - started
        Console.print(
            "4. export     \(Console.grouped(exported.0)) events → \(exportPath) (\(Console.bytes(exported.1)), "
                + "\(Console.fixed(Double(exported.1) / 1e6 / max(seconds, 1e-9), 1)) MB/s)")
        Console.print("   first line: \(abbreviated(firstLine(of: exportPath)))")

        // 5. Query: the audit screen of the busiest actor, newest first.
        let busiest = Dictionary(grouping: sample, by: \.actor.id).max { $0.value.count < $1.value.count }!.key
        let queryStarted = monotonicSeconds()
        let page = try reportingErrors { () throws(AuditLogError) in
            try AuditLogReader(directory: logPath).events(matching: Query(actorIDs: [busiest], limit: 5))
        }
        Console.print(
            "5. query      first page of \(busiest)'s events, newest first "
                + "(\(Console.fixed((monotonicSeconds() - queryStarted) * 1000, 1)) ms):")
        for line in QueryCommand.table(page.events).split(separator: "\n") { Console.print("   " + line) }
        Console.print(
            "   next page: auditlog query --dir \(logPath) --actor \(busiest) --limit 5 --cursor \(page.nextCursor ?? "")"
        )

        // 6. What changed in one update.
        if let update = sample.indices.first(where: { sample[$0].action == "setLabel" }) {
            let changes = try reportingErrors { () throws(AuditLogError) in try EventDiff.changes(of: sample[update]) }
            Console.print(
                "6. show       event \(update) (\(sample[update].action) \(sample[update].resource.id)) changed:")
            for change in changes {
                Console.print("   \(change.kind.rawValue) \(change.path): \(change.old ?? "-") → \(change.new ?? "-")")
            }
        }

        // 7. Verify, as an auditor would.
        let report = try reportingErrors { () throws(AuditLogError) in
            try AuditLogReader(directory: logPath).verify(jobs: 2)
        }
        guard report.isValid else {
            throw fail(AuditLogError(.corrupt, "the demo log does not verify: \(report.problems)"))
        }
        Console.print(
            "7. verify     VALID: every record rehashed and every stored root checked in "
                + "\(Console.fixed(report.seconds * 1000, 0)) ms; root \(report.root!.hex.prefix(16))…")

        // 8. Stats.
        let stats = try reportingErrors { () throws(AuditLogError) in
            try AuditLogReader(directory: logPath).statistics()
        }
        Console.print(
            "8. stats      \(stats.segmentCount) segment(s), \(Console.grouped(stats.blockCount)) blocks, "
                + "\(Console.bytes(stats.bytesOnDisk)) on disk = "
                + "\(Console.fixed(Double(stats.bytesOnDisk) / Double(inputBytes), 3)) bytes per input byte, "
                + "LZ4 ratio \(Console.fixed(stats.compressionRatio, 2))x")
        Console.print()
        Console.print("Try next:")
        Console.print("  .build/release/auditlog query --dir \(logPath) --action delete --since 3650d")
        Console.print("  .build/release/auditlog show --dir \(logPath) 5")
        Console.print("  .build/release/auditlog verify \(logPath)")
        Console.print("  .build/release/auditlog stats --dir \(logPath)")
        Console.print("  .build/release/auditlog export --dir \(logPath) | head -n 3")
        Console.print("  .build/release/auditlog ingest --dir \(logPath) \(inputPath)   # appends them again")
        if !serve {
            Console.print()
            Console.print("See it in a browser, on the audit-log page:")
            Console.print("  .build/release/auditlog demo --dir \(dir) --serve")
        }
    }

    /// Runs `auditlog serve` on the demo log with a new read-and-export API key and a signing key, so that the
    /// audit-log page shows the log and its Verify button works.
    private func serveDemo(logPath: String) throws -> Never {
        let keyPath = dir + "/demo.key"
        let (token, keyName, verifierKey) = try reportingErrors {
            () throws(AuditLogError) -> (String, String, String) in
            if access(keyPath, F_OK) != 0 {
                let signer = try NoteSigner.generate(name: "demo.swift-audit-log.local/log")
                try writeNew(keyPath, signer.privateKeyText + "\n")
                try writeNew(dir + "/demo.vkey", signer.verifierKey.description + "\n", publicFile: true)
            }
            let signer = try KeyArguments.signer(keyPath)
            let stamp = Date.now.formatted(.iso8601)
            let created = try APIKeyStore(directory: logPath).create(
                name: "demo-page-\(stamp)", permissions: [.read, .export], org: nil, by: operatorActor())
            return (created.token, created.key.name, signer.verifierKey.description)
        }
        let port = listen.split(separator: ":").last.map(String.init) ?? ""
        Console.print()
        Console.print(
            port == "0" ? "Open the address the server prints below." : "Open http://\(listen)/ in a browser.")
        Console.print("Sign in with this API key (it may read and export; shown only now):")
        Console.print("  \(token)")
        Console.print("Verify checks events against the checkpoints signed with \(keyPath); to trust that key rather")
        Console.print("than the server, pin it under \"Verification key\" on the page (it is in \(dir)/demo.vkey):")
        Console.print("  \(verifierKey)")
        Console.print("Revoke the API key later with: auditlog keys revoke --dir \(logPath) \(keyName)")
        Console.print("Ctrl-C stops the server.")
        Console.print()
        try runServer(["--dir", logPath, "--listen", listen, "--key", keyPath])
    }

    private func abbreviated(_ text: String, _ limit: Int = 150) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

    private func firstLine(of path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        guard getline(&line, &capacity, file) > 0, let line else { return "" }
        return String(cString: line).trimmingSuffix("\n")
    }

    private func removeTree(_ path: String) throws {
        guard let dir = opendir(path) else {
            throw fail(AuditLogError(.io, "cannot open the demo directory to replace it", path: path, errno: errno))
        }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
                try removeTree(child)
            } else {
                unlink(child)
            }
        }
        closedir(dir)
        guard rmdir(path) == 0 else {
            throw fail(AuditLogError(.io, "cannot remove the demo directory", path: path, errno: errno))
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
