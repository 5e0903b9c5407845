import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// Tests that run the `auditlog` tool in child processes.
@Suite("Multiple processes")
struct ProcessTests {
    @Test func aReaderInAnotherProcessSeesACommittedPrefixWhileWritesGoOn() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(1500)
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        var exports = 0
        for chunk in stride(from: 0, to: 1500, by: 10) {
            try log.append(Array(events[chunk..<chunk + 10]))
            if chunk % 300 == 0 {
                let result = try runAuditlog(["export", "--dir", dir.path])
                #expect(result.status == 0, "\(result.stderr)")
                let lines = result.stdout.split(separator: "\n")
                #expect(lines.count >= chunk + 10)
                for (i, line) in lines.enumerated() {
                    let decoded = try EventDecoder().decode(String(line))
                    #expect(decoded == events[i])
                    #expect(line.contains(#""seq":\#(i),"#))
                }
                exports += 1
            }
        }
        try log.close()
        #expect(exports == 5)
    }

    @Test func aWriterKilledMidIngestLosesNothingItAcknowledged() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(6000, seed: 9)
        let input = dir.file("events.jsonl")
        try jsonLines(events).write(toFile: input, atomically: false, encoding: .utf8)
        for attempt in 0..<3 {
            let logDir = dir.file("log\(attempt)")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: auditlogExecutable())
            process.arguments = ["ingest", "--dir", logDir, input, "--progress", "json", "--segment-size", "64KiB"]
            let stderr = Pipe()
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // Read progress lines until some events are durable, then kill the writer without warning.
            var acknowledged = 0
            var buffer = Data()
            let killAfter = 1 + attempt * 1500
            while acknowledged < killAfter {
                let chunk = stderr.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
                    if let n = line.split(separator: ":").last.flatMap({
                        Int($0.dropLast().trimmingCharacters(in: .whitespaces))
                    }) {
                        acknowledged = max(acknowledged, n)
                    }
                }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(acknowledged > 0)

            let reopened = try AuditLog(directory: logDir)
            let size = Int(reopened.state.treeSize)
            try reopened.close()
            #expect(size >= acknowledged, "attempt \(attempt): \(size) stored, \(acknowledged) acknowledged")
            let stored = try readAll(logDir)
            #expect(stored.count == size)
            #expect(stored.map(\.event) == Array(events[0..<size]))
        }
    }

    @Test func aSecondWriterProcessIsRefusedWithExitStatus75() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        let result = try runAuditlog(["ingest", "--dir", dir.path], input: Data(jsonLines(sampleEvents(2)).utf8))
        #expect(result.status == 75)
        #expect(result.stderr.contains("has this log open; a log has one writer at a time"))
        try log.close()
    }
}
