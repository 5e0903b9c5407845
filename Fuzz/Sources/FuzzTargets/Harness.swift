import Glibc

@testable import AuditLog

/// One parser under fuzzing: what it does with an input, and the inputs it starts from.
///
/// A harness must not crash on any input; beyond that, each checks properties that tie the parser to its
/// encoder or to an independent reading (round trips, two decoders that must agree, queries that must match a
/// full scan). A broken property aborts with a message, which libFuzzer reports as a crash and saves.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case eventJSON = "event-json"
    case record
    case block
    case segment
    case index
    case note
    case sha256
    case lz4

    public var summary: String {
        switch self {
        case .eventJSON: "JSON event decoder: accepted events survive JSON and record round trips"
        case .record: "record decoder: the export transcoder refuses exactly what it refuses; round trips"
        case .block: "block header and payload decoder, whole and by prefix (LZ4 and uncompressed)"
        case .segment: "segment header/footer reader, recovery, verify and readers on a whole segment file"
        case .index: "block and actor index readers: queries over fuzzed .idx/.aix return only true events"
        case .note: "signed-note, checkpoint and key parsers: accepted texts round-trip"
        case .sha256: "SHA-256 with the SHA extensions, one and two messages at a time, against EVP"
        case .lz4: "LZ4 prefix decoder of queries against liblz4's whole decoder, on any stream"
        }
    }

    /// Runs one input.
    public func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .eventJSON: EventJSONTarget.run(bytes)
        case .record: RecordTarget.run(bytes)
        case .block: BlockTarget.run(bytes)
        case .segment: SegmentTarget.shared.run(bytes)
        case .index: IndexTarget.shared.run(bytes)
        case .note: NoteTarget.run(bytes)
        case .sha256: SHA256Target.run(bytes)
        case .lz4: LZ4PrefixTarget.run(bytes)
        }
    }

    /// Valid inputs to start from, made with the library's own encoders so they follow the format as it is.
    public func seeds() -> [[UInt8]] {
        switch self {
        case .eventJSON: EventJSONTarget.seeds()
        case .record: RecordTarget.seeds()
        case .block: BlockTarget.seeds()
        case .segment: SegmentTarget.seeds()
        case .index: IndexTarget.shared.seeds()
        case .note: NoteTarget.seeds()
        case .sha256: SHA256Target.seeds()
        case .lz4: LZ4PrefixTarget.seeds()
        }
    }
}

/// Aborts with `message` when a property does not hold (libFuzzer then saves the input).
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    guard !condition else { return }
    let text = "fuzz property violated: \(message())\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    abort()
}

/// A private temporary directory, removed with its files at exit of the harness process.
final class ScratchDirectory {
    let path: String

    init(_ name: String) {
        var template = Array("/tmp/auditlog-fuzz-\(name)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        require(made != nil, "cannot create a temporary directory")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Removes every file in the directory (the harness directories hold files only).
    func empty() {
        for name in (try? FileSystem.contents(of: path)) ?? [] { try? FileSystem.remove(file(name)) }
    }

    deinit {
        empty()
        rmdir(path)
    }
}

/// Writes `bytes` to `path`, replacing its contents (owner-only, like the log's own files).
func writeFile(_ path: String, _ bytes: [UInt8]) {
    do throws(AuditLogError) {
        let fd = try FileDescriptor.openForWriting(path, create: true)
        try fd.truncate(to: 0)
        try fd.write(bytes, at: 0)
    } catch {
        require(false, "cannot write \(path): \(error)")
    }
}

func readFile(_ path: String) -> [UInt8]? {
    guard let fd = try? FileDescriptor.openForReading(path), let size = try? fd.size() else { return nil }
    return try? fd.read(count: Int(size), at: 0)
}

/// Stores the CRC-32C of `bytes[range]` little-endian at `offset`, so that mutations get past the checksum to
/// the checks behind it.
func storeChecksum(of range: Range<Int>, at offset: Int, in bytes: inout [UInt8]) {
    guard range.lowerBound >= 0, range.upperBound <= bytes.count, offset >= 0, offset + 4 <= bytes.count else { return }
    let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
    bytes.storeLittleEndian(crc, at: offset)
}

func loadUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32? {
    guard offset >= 0, offset + 4 <= bytes.count else { return nil }
    return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
}
