#if canImport(Glibc)
    import Glibc
#endif

/// A sealed segment whose bytes live in the archive only (FORMAT.md, "Archive"): `<base seq>.evicted` in place of
/// `<base seq>.seg`, one line naming the object. Its index files stay in the directory, so readers find the
/// blocks they need there and fetch just those bytes (``RemoteSegmentBytes``).
///
/// Written by local retention (``LocalRetention``) once the segment's upload is verified, and by
/// ``ArchiveReader/download(to:progress:)`` for every segment of an archived log's local copy.
struct EvictedSegment: Equatable {
    static let fileExtension = ".evicted"

    /// The store's address (`s3://bucket/prefix`) and the log's id in it: the object is
    /// `<storeLocation>/<logID>/<segment file name>`.
    var storeLocation: String
    var logID: String
    var size: Int64
    /// What names this exact content: the segment's SHA-256 (local retention) or the store's tag of the object
    /// (a downloaded copy). Cached bytes are filed under it, so a replaced object never reads stale ones.
    var contentTag: String

    static func path(directory: String, baseSeq: UInt64) -> String {
        LogFiles.path(directory, LogFiles.name(baseSeq, fileExtension))
    }

    /// The stub of the segment at `segmentPath` (`…/<base seq>.seg`), or nil when there is none.
    static func read(segmentPath: String) throws(AuditLogError) -> EvictedSegment? {
        let stubPath = String(segmentPath.dropLast(LogFiles.segmentExtension.count)) + fileExtension
        guard let bytes = try SidecarFile.read(stubPath) else { return nil }
        let fields = bytes.dropLast().split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
        // The tag names cache files: letters, digits and '-' only.
        guard bytes.last == 0x0A, fields.count == 4, let size = Int64(fields[2]),
            size > 0, (1...128).contains(fields[3].utf8.count),
            fields[3].utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        else {
            throw AuditLogError(
                .corrupt, "not a stub of an archived segment: expected `<store> <log id> <size> <tag>`",
                path: stubPath)
        }
        return EvictedSegment(storeLocation: fields[0], logID: fields[1], size: size, contentTag: fields[3])
    }

    /// Writes the stub crash-safely (aside, synced, renamed, directory synced).
    func write(directory: String, baseSeq: UInt64, directoryFD: FileDescriptor) throws(AuditLogError) {
        let line = "\(storeLocation) \(logID) \(size) \(contentTag)\n"
        try FileSystem.writeAtomically(
            Array(line.utf8), to: Self.path(directory: directory, baseSeq: baseSeq), directoryFD: directoryFD)
    }

    /// The segment file name and the object's address, for messages.
    func address(_ name: String) -> String { "\(storeLocation)/\(logID)/\(name)" }
}

/// Where the stores named by stubs are found: every process that reads logs with evicted segments says how to
/// reach a store by its address, once. ``AuditLog`` registers the store of its ``ArchiveOptions``; the `auditlog`
/// tool sets a resolver that builds an S3 client from the `AWS_*` variables.
public enum ArchiveStores {
    private struct State {
        var stores: [String: any ArchiveStore] = [:]
        var resolver: (@Sendable (String) throws(AuditLogError) -> any ArchiveStore)?
        var cacheBytes: Int64 = LocalRetention.defaultCacheBytes
    }

    private static let state = Locked(State())

    /// Reads of objects at `store.location` go to `store`.
    public static func register(_ store: any ArchiveStore) {
        state.withLock { $0.stores[store.location] = store }
    }

    /// Stores not registered are made by `resolver` from their address (`s3://bucket/prefix`), once each.
    public static func setResolver(_ resolver: @escaping @Sendable (String) throws(AuditLogError) -> any ArchiveStore) {
        state.withLock { $0.resolver = resolver }
    }

    /// The bound of each log directory's cache of fetched segment bytes (`archive-cache/`); default 256 MiB.
    public static var cacheBytes: Int64 {
        get { state.withLock { $0.cacheBytes } }
        set { state.withLock { $0.cacheBytes = max(0, newValue) } }
    }

    /// The store at `location` (`s3://bucket/prefix`): the one registered there, or the resolver's.
    public static func store(at location: String) throws(AuditLogError) -> any ArchiveStore {
        try store(at: location, for: location)
    }

    /// Whether the log in `directory` holds segments evicted to an archive (reading it needs their store).
    public static func areNeeded(byLogIn directory: String) -> Bool {
        (try? FileSystem.contents(of: directory))?.contains {
            LogFiles.number(ofFileNamed: $0, fileExtension: EvictedSegment.fileExtension) != nil
        } ?? false
    }

    static func store(at location: String, for what: String) throws(AuditLogError) -> any ArchiveStore {
        let (store, resolver) = state.withLock { ($0.stores[location], $0.resolver) }
        if let store { return store }
        guard let resolver else {
            throw AuditLogError(
                .archiveRefused,
                "\(what) is in the archive at \(location) and this process has no store for it "
                    + "(ArchiveStores.register, or the auditlog tool with AWS_* credentials)")
        }
        let made = try resolver(location)
        register(made)
        return made
    }
}

/// An evicted segment's bytes, fetched from the store in aligned chunks with ranged GETs as reads need them, and
/// kept in the directory's bounded cache (``ArchiveCache``); the chunk read last is also kept in memory, so the
/// blocks of one chunk cost one fetch. (Fetching just the bytes of small reads, such as headers and footers, was
/// measured slower: a request costs more than a MiB here, and such reads would not be cached; see PERFORMANCE.md.)
final class RemoteSegmentBytes: ByteSource {
    static let chunkSize = 1 << 20

    let path: String
    private let stub: EvictedSegment
    private let name: String
    private let cache: ArchiveCache?
    private let last = Locked<(index: Int64, bytes: [UInt8])?>(nil)

    init(_ stub: EvictedSegment, name: String, directory: String) {
        self.stub = stub
        self.name = name
        path = stub.address(name)
        cache = ArchiveCache(directory: directory)
    }

    func size() -> Int64 { stub.size }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(AuditLogError) -> Int {
        guard offset >= 0, offset < stub.size else { return 0 }
        let end = min(stub.size, offset + Int64(buffer.count))
        var position = offset
        while position < end {
            let index = position / Int64(Self.chunkSize)
            let chunk = try self.chunk(index)
            let start = Int(position - index * Int64(Self.chunkSize))
            let count = min(chunk.count - start, Int(end - position))
            chunk.withUnsafeBytes { raw in
                (buffer.baseAddress! + Int(position - offset)).copyMemory(from: raw.baseAddress! + start, byteCount: count)
            }
            position += Int64(count)
        }
        return Int(end - offset)
    }

    private func chunk(_ index: Int64) throws(AuditLogError) -> [UInt8] {
        if let last = last.withLock({ $0 }), last.index == index { return last.bytes }
        let start = index * Int64(Self.chunkSize)
        let range = start..<min(stub.size, start + Int64(Self.chunkSize))
        let key = "\(stub.contentTag).\(index)"
        let bytes: [UInt8]
        if let cached = cache?.read(key, count: range.count) {
            bytes = cached
        } else {
            bytes = try fetch(range)
            cache?.write(key, bytes)
        }
        last.withLock { $0 = (index, bytes) }
        return bytes
    }

    /// Exactly the bytes of `range`, from the store.
    private func fetch(_ range: Range<Int64>) throws(AuditLogError) -> [UInt8] {
        let store = try ArchiveStores.store(at: stub.storeLocation, for: name)
        let fetched = try store.fetch("\(stub.logID)/\(name)", range: range)
        guard let fetched, fetched.count == range.count else {
            throw AuditLogError(
                .archiveUnavailable,
                fetched == nil ? "\(path) is missing from the archive: run auditlog verify"
                    : "\(path) is shorter than its stub says: run auditlog verify")
        }
        return fetched
    }

    /// The whole segment in one fetch, for the verifier (which reads every byte once, and should not push the
    /// cache's other chunks out).
    static func fetchWhole(_ stub: EvictedSegment, name: String) throws(AuditLogError) -> MemoryBytes {
        let store = try ArchiveStores.store(at: stub.storeLocation, for: name)
        guard let bytes = try store.fetch("\(stub.logID)/\(name)") else {
            throw AuditLogError(.notFound, "evicted segment \(name) is not in the archive at \(stub.address(name))")
        }
        return MemoryBytes(bytes, path: stub.address(name))
    }
}

/// `archive-cache/` in a log directory: chunks of evicted segments, each a file `<content tag>.<chunk index>`
/// ending in the CRC32C of its bytes (a chunk torn by a crash is fetched again), at most
/// ``ArchiveStores/cacheBytes`` in all, the least recently read removed first. Best effort: a directory that
/// cannot be written to is simply not cached in.
struct ArchiveCache {
    static let directoryName = "archive-cache"
    let directory: String

    init?(directory logDirectory: String) {
        guard ArchiveStores.cacheBytes > 0 else { return nil }
        directory = LogFiles.path(logDirectory, Self.directoryName)
    }

    func read(_ key: String, count: Int) -> [UInt8]? {
        let path = LogFiles.path(directory, key)
        guard let fd = try? FileDescriptor.openForReading(path), let bytes = try? fd.read(count: count + 4, at: 0),
            bytes.count == count + 4
        else { return nil }
        let crc = bytes[count..<count + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
        guard bytes.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }) == crc else {
            return nil
        }
        _ = utimensat(AT_FDCWD, path, nil, 0)  // most recently read
        return Array(bytes[0..<count])
    }

    func write(_ key: String, _ bytes: [UInt8]) {
        guard (try? FileSystem.createDirectory(directory)) != nil else { return }
        var file = bytes
        file.appendLittleEndian(bytes.withUnsafeBytes { CRC32C.checksum($0) })
        let path = LogFiles.path(directory, key)
        guard let aside = try? FileSystem.writeAside(file, for: path, sync: false) else { return }
        guard (try? FileSystem.rename(aside, to: path)) != nil else { return }
        trim()
    }

    /// Removes the least recently read chunks while the cache is over its bound.
    private func trim() {
        guard let names = try? FileSystem.contents(of: directory) else { return }
        var files: [(path: String, size: Int64, used: Int64)] = names.compactMap { name in
            let path = LogFiles.path(directory, name)
            var info = stat()
            guard lstat(path, &info) == 0 else { return nil }
            return (path, Int64(info.st_size), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
        }
        var total = files.reduce(0) { $0 + $1.size }
        let limit = ArchiveStores.cacheBytes
        guard total > limit else { return }
        files.sort { $0.used < $1.used }
        for file in files where total > limit {
            try? FileSystem.remove(file.path)
            total -= file.size
        }
    }
}
