import CGuardedCopy
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A read-only memory mapping of a whole file. Index files are only ever appended to or replaced by rename,
/// never truncated in place, so a mapping cannot fault (a file truncated under a mapping raises SIGBUS).
///
/// How the kernel fills a mapping from the disk depends on how it is read (`Access`): a page fault in a file that is
/// not in memory reads the device's whole read-ahead window around the page (8 MiB on this machine's disk), which
/// suits a file read through, and ruins one read at a few places: a query's first page in a cold 33 MB segment read
/// most of it, 20-30 ms. A mapping read at places reads only the pages touched, and a reader about to copy a range
/// of several pages asks for it first (``willNeed(_:)``): one read of the range instead of a fault per page; a reader
/// about to read a few bytes asks for the part of the file around them (``willRead(around:)``), once, and again when
/// the kernel may have dropped it since.
final class MappedFile: @unchecked Sendable {
    enum Access {
        /// Read through, or most of it: the kernel reads ahead around each fault.
        case whole
        /// Read at a few places (a segment's blocks, an index's entries): each fault reads only its page, and
        /// ``MappedFile/willRead(around:)`` asks for the `part` bytes around a read (never, for nil).
        case atPlaces(part: Int?)
    }

    let bytes: UnsafeRawBufferPointer
    /// Whether the file is read at places (``Access/atPlaces(part:)``): only then is the kernel asked for anything.
    private let atPlaces: Bool
    /// Read at places: when the parts of the file (`part` bytes each) were asked for by ``willRead(around:)``.
    private let asked: (parts: AskedParts, part: Int)?

    /// Maps `path`; nil if it does not exist or is empty.
    convenience init?(path: String, access: Access = .whole) {
        guard let fd = try? FileDescriptor.openForReading(path) else { return nil }
        self.init(fd, access: access)
    }

    /// Maps the whole file open as `fd`; nil if it is empty or cannot be mapped.
    init?(_ fd: FileDescriptor, access: Access = .whole) {
        guard let size = try? fd.size(), size > 0,
            let address = mmap(nil, Int(size), PROT_READ, MAP_SHARED, fd.rawValue, 0), address != MAP_FAILED
        else { return nil }
        bytes = UnsafeRawBufferPointer(start: address, count: Int(size))
        if case .atPlaces(let part) = access {
            atPlaces = true
            asked = part.map { (AskedParts(count: (Int(size) + $0 - 1) / $0), $0) }
            // Advice only: a kernel that refuses it reads ahead as it would anyway.
            _ = madvise(address, Int(size), MADV_RANDOM)
        } else {
            (atPlaces, asked) = (false, nil)
        }
    }

    /// Asks the kernel, the first time any bytes of a part of the file (``Access/atPlaces(part:)``) are read here,
    /// for the whole part (one disk read where the next few reads often land; a mapping read at places would read a
    /// page per fault); calls in the next ``AskedParts/fresh`` seconds cost an atomic load and a clock read (vDSO),
    /// and the first one after them asks again: the kernel may have dropped the part since (a long-lived reader,
    /// `auditlog serve`, would otherwise read it a page per fault from then on). Nothing for a mapping read through.
    func willRead(around range: Range<Int>) {
        let range = range.clamped(to: 0..<bytes.count)
        guard let (parts, size) = asked, !range.isEmpty else { return }
        let now = AskedParts.now()
        for part in range.lowerBound / size...(range.upperBound - 1) / size where parts.shouldAsk(part, now: now) {
            willNeed(part * size..<(part + 1) * size)
        }
    }

    /// Asks the kernel to read the pages of `range` (byte offsets) that are not in memory, in one go, before they
    /// are touched. Costs a system call (~1 µs when they are all in memory already); for ranges of several pages.
    /// Nothing for a mapping read through (the kernel reads ahead of its faults; the active segment's `.idx`, read
    /// whole at each of its views, is asked nothing by the queries that loop over its entries).
    func willNeed(_ range: Range<Int>) {
        let range = range.clamped(to: 0..<bytes.count)
        guard atPlaces, !range.isEmpty else { return }
        let start = range.lowerBound & ~(Self.pageSize - 1)
        _ = madvise(
            UnsafeMutableRawPointer(mutating: bytes.baseAddress! + start), range.upperBound - start, MADV_WILLNEED)
    }

    static let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}

/// When each part of a mapped file read at places was last asked for (``MappedFile/willRead(around:)``), read and
/// set from any thread without a lock.
final class AskedParts: @unchecked Sendable {
    // @unchecked: the stamps are atomics, allocated once.
    private let stamps: UnsafeMutablePointer<Atomic<UInt32>>
    private let count: Int

    /// For how many seconds a part asked for is taken to be in memory. The kernel keeps what is read often, so the
    /// parts a reader keeps reading are asked for again (one `madvise`, ~1-3 µs while their pages are there) only
    /// this often; a part it dropped meanwhile (this machine pages out files untouched for about a minute) is read
    /// in one go again instead of a page per fault.
    static let fresh: UInt32 = 10

    /// The time to pass to ``shouldAsk(_:now:)``: whole seconds of the monotonic clock, from 1.
    static func now() -> UInt32 { UInt32(truncatingIfNeeded: monotonicNanoseconds() / 1_000_000_000 &+ 1) }

    init(count: Int) {
        self.count = count
        stamps = .allocate(capacity: max(count, 1))
        for i in 0..<count { (stamps + i).initialize(to: Atomic(0)) }
    }

    deinit {
        stamps.deinitialize(count: count)
        stamps.deallocate()
    }

    /// Whether `part` is to be asked for at `now` (``now()``): never asked, or last asked ``fresh`` seconds or more
    /// before (a caller whose clock read is older than the part's time asks nothing); then it counts as asked at
    /// `now`, so exactly one of racing callers sees true.
    func shouldAsk(_ part: Int, now: UInt32) -> Bool {
        let then = stamps[part].load(ordering: .relaxed)
        guard then == 0 || (now > then && now - then >= Self.fresh) else { return false }
        return stamps[part].compareExchange(expected: then, desired: now, ordering: .relaxed).exchanged
    }
}

/// A segment read through a memory mapping (a reader's index view of a segment keeps one while the file is
/// unchanged): a read of a frame or a frame table is a copy, with no system call once its part of the file was
/// asked for; a whole block's read asks the kernel for its bytes first (one disk read when they are not in
/// memory, ``MappedFile/Access/atPlaces(part:)``). Every copy is guarded (`CGuardedCopy`): a file truncated
/// under the mapping (a writer cutting a torn tail at open, anything else), or a disk that fails to fill a page,
/// is an I/O error of that read, as it is for `pread`, instead of SIGBUS.
///
/// A segment is never rewritten in place (redaction writes a new file and renames it over; the mapping keeps
/// reading the file it mapped, which the reader's identity checks then drop); the active one only grows past what
/// the mapping covers, which its view does not know of either.
final class MappedSegmentBytes: ByteSource {
    let path: String
    private let mapping: MappedFile
    /// The identity of the file mapped.
    let file: FileIdentity

    /// Maps the file `fd` (at `path`) if guarded copies are available here; nil otherwise.
    init?(_ fd: FileDescriptor, path: String) {
        guard auditlog_guarded_copy_available() == 1, let identity = try? fd.identity(),
            let mapping = MappedFile(fd, access: .atPlaces(part: Self.readAround))
        else { return nil }
        self.path = path
        self.mapping = mapping
        file = identity
    }

    /// What a block's frame table or frame read brings in around it (``MappedFile/willRead(around:)``): four
    /// blocks, where a page's next frames often are.
    static let readAround = 256 << 10

    func size() -> Int64 { Int64(mapping.bytes.count) }

    func willRead(_ range: Range<Int64>) {
        let range = range.clamped(to: 0..<Int64(mapping.bytes.count))
        mapping.willNeed(Int(range.lowerBound)..<Int(range.upperBound))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(AuditLogError) -> Int {
        guard offset >= 0, offset < Int64(mapping.bytes.count), buffer.count > 0 else { return 0 }
        let n = min(buffer.count, mapping.bytes.count - Int(offset))
        // A whole block: exactly its bytes, each time (a time range's page reads one or two); a block's frame
        // table or a frame: the part around it, once.
        if n > 2 * MappedFile.pageSize {
            mapping.willNeed(Int(offset)..<Int(offset) + n)
        } else {
            mapping.willRead(around: Int(offset)..<Int(offset) + n)
        }
        guard auditlog_guarded_copy(buffer.baseAddress!, mapping.bytes.baseAddress! + Int(offset), n) == 0 else {
            throw AuditLogError(
                .io,
                "the segment could not be read here: it was truncated under the reader, or the disk failed; "
                    + "run `auditlog verify`", path: path, offset: offset, errno: EIO)
        }
        return n
    }
}
