import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// What a hostile or careless environment cannot make the log do: expose files, follow links out of the log
/// directory, or write anywhere else.
@Suite("Security")
struct SecurityTests {
    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func everyFileAndTheDirectoryAreOwnerOnly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("log")
        var options = smallOptions()
        options.checkpointSigner = try NoteSigner.generate(name: "example.com/log")
        options.checkpointInterval = .zero
        let log = try AuditLog(directory: path, options: options)
        _ = try log.append(sampleEvents(500, seed: 31))
        try log.close()
        #expect(try mode(path) == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        #expect(files.count > 3)
        for file in files { #expect(try mode(path + "/" + file) == 0o600, "\(file)") }
    }

    /// A segment replaced by a symbolic link to a file elsewhere: opening, reading and verifying refuse it, and
    /// the file it points to is never written.
    @Test func aSymlinkInsideTheLogIsRefusedNotFollowed() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("log")
        let log = try AuditLog(directory: path, options: smallOptions())
        _ = try log.append(sampleEvents(50, seed: 32))
        try log.close()
        let segment = try segmentPaths(path).last!
        let outside = dir.file("outside.seg")
        try FileManager.default.moveItem(atPath: segment, toPath: outside)
        try FileManager.default.createSymbolicLink(atPath: segment, withDestinationPath: outside)
        let before = try Data(contentsOf: URL(fileURLWithPath: outside))

        #expect(throws: AuditLogError.self) {
            let reopened = try AuditLog(directory: path, options: smallOptions())
            _ = try reopened.append(sampleEvents(5, seed: 33))
            try reopened.close()
        }
        #expect(throws: AuditLogError.self) { _ = try readAll(path) }
        let report = try? AuditLogReader(directory: path).verify()
        #expect(report?.isValid != true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: outside)) == before)
    }

    /// The log directory itself given as a symbolic link is refused too: nothing is created through it.
    @Test func aSymlinkedLogDirectoryIsRefused() throws {
        let dir = try TemporaryDirectory()
        let real = dir.file("real")
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: false)
        let link = dir.file("link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        #expect(throws: AuditLogError.self) { _ = try AuditLog(directory: link, options: smallOptions()) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: real).isEmpty)
    }

    /// Hostile JSON is refused with bounded work: nesting past the limit and oversized events.
    @Test func hostileJSONIsRefused() throws {
        let decoder = EventDecoder()
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let event =
            #"{"actor":{"type":"user","id":"u"},"action":"a","resource":{"type":"t","id":"i"},"metadata":{"x":"#
            + deep + "}}"
        #expect(throws: AuditLogError.self) { _ = try decoder.decode(event) }
        var limits = EventLimits()
        limits.maxEventBytes = 1024
        let big =
            #"{"actor":{"type":"user","id":"u"},"action":"a","resource":{"type":"t","id":"i"},"metadata":{"x":""#
            + String(repeating: "a", count: 5000) + #""}}"#
        #expect(throws: AuditLogError.self) { _ = try EventDecoder(limits: limits).decode(big) }
    }
}
