import AuditLogSampleData
import Foundation
import Testing

@testable import AuditLog

extension Tag {
    /// Tests that take seconds (crash loops, power cuts, byte-by-byte sweeps, many threads).
    @Tag static var slow: Self
}

extension Trait where Self == ConditionTrait {
    /// Skips a slow test when `AUDITLOG_FAST_TESTS` is set (`make test-fast`); `make test` runs everything.
    static var skippedInFastRuns: Self {
        .enabled(
            if: ProcessInfo.processInfo.environment["AUDITLOG_FAST_TESTS"] == nil,
            "slow: run by make test, skipped by make test-fast")
    }
}

/// A fresh directory for one test, removed when the test ends.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "auditlog-test-XXXXXX").utf8CString)
        guard let result = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: result)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the directory.
    func file(_ name: String) -> String { path + "/" + name }
}

/// Sample events: deterministic for a seed.
func sampleEvents(_ count: Int, seed: UInt64 = 1) -> [AuditEvent] {
    var generator = SampleEventGenerator(seed: seed)
    return generator.events(count)
}

/// Every stored event of a log directory, read with a fresh reader.
func readAll(_ directory: String) throws -> [StoredEvent] {
    let reader = try AuditLogReader(directory: directory).eventIterator()
    var events: [StoredEvent] = []
    while let stored = try reader.next() { events.append(stored) }
    return events
}

/// Small segments and blocks, so that tests cross block and segment boundaries with few events.
func smallOptions(durability: AuditLog.Durability = .sync) -> AuditLog.Options {
    var options = AuditLog.Options(durability: durability)
    options.maxSegmentBytes = 16 << 10
    options.maxBlockBytes = 2 << 10
    return options
}

/// The segment files of a directory, sorted.
func segmentPaths(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()
        .map { directory + "/" + $0 }
}

/// RFC 6962 root computed straight from the definition (MTH, RFC 9162 §2.1.1), independently of
/// `MerkleFrontier`.
func referenceRoot(_ leaves: ArraySlice<SHA256Hash>, _ hasher: MerkleHasher) -> SHA256Hash {
    switch leaves.count {
    case 0: return hasher.emptyRoot()
    case 1: return leaves.first!
    default:
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let mid = leaves.startIndex + k
        return hasher.nodeHash(
            referenceRoot(leaves[leaves.startIndex..<mid], hasher), referenceRoot(leaves[mid...], hasher))
    }
}

/// The built `auditlog` tool, next to the test bundle.
func auditlogExecutable() -> String { builtExecutable("auditlog") }

/// An executable of this package built next to the test bundle.
func builtExecutable(_ name: String) -> String {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = url.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        url = url.deletingLastPathComponent()
    }
    // `swift test` runs from the package root.
    return FileManager.default.currentDirectoryPath + "/.build/debug/" + name
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the `auditlog` tool with `arguments`, feeding `input` on stdin, with `environment` added to ours.
func runAuditlog(_ arguments: [String], input: Data? = nil, environment: [String: String] = [:]) throws
    -> ProcessResult
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: auditlogExecutable())
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
    return ProcessResult(
        status: process.terminationStatus, stdout: String(decoding: collected.out, as: UTF8.self),
        stderr: String(decoding: collected.err, as: UTF8.self))
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var out = Data()
    private(set) var err = Data()
    func setOut(_ data: Data) { lock.withLock { out = data } }
    func setErr(_ data: Data) { lock.withLock { err = data } }
}

/// JSON Lines text of `events`.
func jsonLines(_ events: [AuditEvent]) -> String {
    events.map { $0.jsonString + "\n" }.joined()
}

func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var i = hex.startIndex
    while i < hex.endIndex {
        let j = hex.index(i, offsetBy: 2)
        bytes.append(UInt8(hex[i..<j], radix: 16)!)
        i = j
    }
    return bytes
}

/// The published test vectors, committed beside the tests (copied from shared/vectors).
func vectors(_ name: String) throws -> [String: Any] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors").appendingPathComponent(name)
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}

extension Array {
    /// The array cut into consecutive pieces of `size` elements (the last may be shorter).
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
