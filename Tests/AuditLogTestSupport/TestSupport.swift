import AuditLog
import AuditLogSampleData
import Foundation
import Testing

// What both test targets use: temporary directories, sample events and running the built tools.

extension Tag {
    /// Tests that take seconds (crash loops, power cuts, byte-by-byte sweeps, many threads).
    @Tag public static var slow: Self
}

extension Trait where Self == ConditionTrait {
    /// Skips a slow test when `AUDITLOG_FAST_TESTS` is set (`make test-fast`); `make test` runs everything.
    public static var skippedInFastRuns: Self {
        .enabled(
            if: ProcessInfo.processInfo.environment["AUDITLOG_FAST_TESTS"] == nil,
            "slow: run by make test, skipped by make test-fast")
    }
}

/// A fresh directory for one test, removed when the test ends.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        var template = Array((NSTemporaryDirectory() + "auditlog-test-XXXXXX").utf8CString)
        guard let result = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: result)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }
}

/// Sample events: deterministic for a seed.
public func sampleEvents(_ count: Int, seed: UInt64 = 1) -> [AuditEvent] {
    var generator = SampleEventGenerator(seed: seed)
    return generator.events(count)
}

/// The built `auditlog` tool, next to the test bundle.
public func auditlogExecutable() -> String { builtExecutable("auditlog") }

/// An executable of this package built next to the test bundle.
public func builtExecutable(_ name: String) -> String {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = url.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        url = url.deletingLastPathComponent()
    }
    // `swift test` runs from the package root.
    return FileManager.default.currentDirectoryPath + "/.build/debug/" + name
}

public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdoutData: Data
    public var stderrData: Data
    public var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrData, as: UTF8.self) }
}

/// Runs the `auditlog` tool with `arguments`, feeding `input` on stdin, with `environment` added to ours.
public func runAuditlog(_ arguments: [String], input: Data? = nil, environment: [String: String] = [:]) throws
    -> ProcessResult
{
    try runProcess(auditlogExecutable(), arguments, input: input, environment: environment)
}

/// Runs a program to its end, feeding `input` on stdin, with `environment` added to ours.
public func runProcess(
    _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:]
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    // Drain both output pipes while feeding input, so that neither side blocks on a full pipe.
    let collected = OutputCollector()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { collected.setOut(stdout.fileHandleForReading.readDataToEndOfFile()) }
    DispatchQueue.global().async(group: group) { collected.setErr(stderr.fileHandleForReading.readDataToEndOfFile()) }
    if let input { stdin.fileHandleForWriting.write(input) }
    try stdin.fileHandleForWriting.close()
    process.waitUntilExit()
    group.wait()
    return ProcessResult(status: process.terminationStatus, stdoutData: collected.out, stderrData: collected.err)
}

/// ``runProcess(_:_:input:environment:)`` on a Dispatch thread, so that many can run at once from async code
/// without holding the concurrency pool's few threads.
public func runProcess(
    _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:]
) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(
                with: Result { try runProcess(executable, arguments, input: input, environment: environment) })
        }
    }
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var out = Data()
    private(set) var err = Data()
    func setOut(_ data: Data) { lock.withLock { out = data } }
    func setErr(_ data: Data) { lock.withLock { err = data } }
}

/// JSON Lines text of `events`.
public func jsonLines(_ events: [AuditEvent]) -> String {
    events.map { $0.jsonString + "\n" }.joined()
}

extension Array {
    /// The array cut into consecutive pieces of `size` elements (the last may be shorter).
    public func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

/// A test's own failure with a message (a wait that timed out, an answer of the wrong shape).
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
