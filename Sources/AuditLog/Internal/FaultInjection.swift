import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// Test hooks: crash points and in-process I/O faults. They are compiled only when AUDITLOG_FAULT_INJECTION is
// defined, which Package.swift does for debug builds (the test suite, the crash-loop writer and the debug
// `auditlog` the crash tests run). Release builds contain none of this: `crashPoint` is an empty inline function
// and the file layer makes its system calls directly (scripts/check-release-build.sh checks the release binary).

#if AUDITLOG_FAULT_INJECTION
/// Crash points for the crash tests: when the environment variable `AUDITLOG_CRASH_AT` names one, the process
/// exits on the spot with status 86 (no cleanup, like a kill), leaving the files exactly as they are there.
///
/// In-process faults for the storage tests (`@testable`): the next `fdatasync`/`fsync` after a countdown fails
/// with EIO, or the next `pwrite` writes a prefix and then fails with an errno (ENOSPC, EIO), as a full or failing
/// disk does; or a simulated power cut at the N-th write, which undoes what was written to each file since its
/// last sync except a random prefix of those writes (the last one possibly torn), and fails everything after.
/// Faults apply only to the files of the plan's directory. Off unless a test arms it; checked with one atomic
/// load on the hot path.
enum FaultInjection {
    private static let target: String? = getenv("AUDITLOG_CRASH_AT").map { String(cString: $0) }

    static func crashPoint(_ name: StaticString) {
        guard let target, target == name.description else { return }
        _exit(86)
    }

    struct Plan {
        /// The log directory the faults apply to; files elsewhere (other tests running at the same time in the
        /// process) are never touched.
        var directory: String
        /// Syncs that still succeed before every later one fails with EIO.
        var syncsBeforeFailure: Int?
        /// Writes that still succeed before every later one fails.
        var writesBeforeFailure: Int?
        /// Bytes of the failing write that reach the file first.
        var failingWritePrefix = 0
        var writeErrno: Int32 = ENOSPC
        /// Cut the power when this many more writes have been made (see ``cutPower(seed:)``).
        var powerCutAfterWrites: Int?
        /// Chooses which unsynced writes a power cut keeps.
        var powerCutSeed: UInt64 = 1
    }

    /// What a power cut needs to undo: the bytes each write since the file's last sync replaced.
    private struct UnsyncedWrite {
        var offset: Int64
        var count: Int
        /// The bytes the write overwrote (those that existed), and the file's size before it.
        var previous: [UInt8]
        var previousSize: Int64
    }

    nonisolated(unsafe) private static var unsynced: [String: [UnsyncedWrite]] = [:]
    nonisolated(unsafe) private static var poweredOff = false
    /// What the last power cut did, for the tests' messages: (file name, writes kept of unsynced, torn at byte).
    nonisolated(unsafe) private(set) static var lastPowerCut: [(file: String, kept: Int, of: Int, tornAt: Int?)] = []

    private static let lock = ConditionLock()
    nonisolated(unsafe) private static var plan: Plan?
    private static let armed = Atomic<Bool>(false)

    /// Arms `plan` for this process (tests only); `nil` disarms.
    static func arm(_ newPlan: Plan?) {
        lock.withLock {
            plan = newPlan
            unsynced = [:]
            poweredOff = false
            if newPlan != nil { lastPowerCut = [] }
            armed.store(newPlan != nil, ordering: .releasing)
        }
    }

    /// Whether `path` is the plan's directory or inside it.
    private static func inScope(_ path: String) -> Bool {
        guard let directory = plan?.directory else { return false }
        return path == directory || path.hasPrefix(directory + "/")
    }

    /// Whether this sync of `path` must fail; a sync that succeeds makes the file's writes durable.
    static func syncFails(path: String) -> Bool {
        guard armed.load(ordering: .acquiring) else { return false }
        return lock.withLock {
            guard inScope(path) else { return false }
            if poweredOff { return true }
            guard let left = plan?.syncsBeforeFailure else {
                unsynced[path] = nil
                return false
            }
            if left > 0 { plan?.syncsBeforeFailure = left - 1 }
            if left != 0 { unsynced[path] = nil }
            return left == 0
        }
    }

    /// For a write that must fail: how many of its bytes to write first, and the errno. While a power cut is
    /// planned every write is recorded first (what it overwrites); the write that reaches the count is made, then
    /// the power is cut (so it may be kept, torn or lost like the others) and it fails.
    static func writeFault(fd: Int32, path: String, bytes: UnsafeRawBufferPointer, at offset: Int64)
        -> (prefix: Int, errno: Int32)?
    {
        guard armed.load(ordering: .acquiring) else { return nil }
        return lock.withLock {
            guard let plan, inScope(path) else { return nil }
            if poweredOff { return (0, EIO) }
            if let left = plan.powerCutAfterWrites {
                var info = stat()
                let size = fstat(fd, &info) == 0 ? Int64(info.st_size) : 0
                var previous = [UInt8](repeating: 0, count: max(0, min(bytes.count, Int(size - offset))))
                let n = previous.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                previous.removeLast(previous.count - max(0, n))
                unsynced[path, default: []].append(
                    UnsyncedWrite(offset: offset, count: bytes.count, previous: previous, previousSize: size))
                guard left > 0 else {
                    _ = pwrite(fd, bytes.baseAddress, bytes.count, off_t(offset))
                    cutPower(seed: plan.powerCutSeed)
                    return (0, EIO)
                }
                Self.plan?.powerCutAfterWrites = left - 1
            }
            guard let left = plan.writesBeforeFailure else { return nil }
            if left > 0 {
                Self.plan?.writesBeforeFailure = left - 1
                return nil
            }
            return (min(bytes.count, plan.failingWritePrefix), plan.writeErrno)
        }
    }

    /// Cuts the power now if a power cut is planned and has not happened (tests call it when the writes they made
    /// did not reach the planned count).
    static func cutPowerNow() {
        lock.withLock {
            guard let plan, plan.powerCutAfterWrites != nil, !poweredOff else { return }
            cutPower(seed: plan.powerCutSeed)
        }
    }

    /// The page cache is lost: for each file, keep a random prefix of its writes since its last sync (the last kept
    /// one torn at a random byte half of the time) and undo the rest, newest first. From now on every write and sync
    /// fails with EIO. Renames, truncations and creations are taken as durable (the writer syncs the directory).
    private static func cutPower(seed: UInt64) {
        poweredOff = true
        var random = seed
        func next(_ bound: Int) -> Int {
            random &+= 0x9E37_79B9_7F4A_7C15
            var z = random
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(max(1, bound)))
        }
        lastPowerCut = []
        for (path, writes) in unsynced.sorted(by: { $0.key < $1.key }) {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }  // removed since: nothing to undo
            defer { close(fd) }
            let kept = next(writes.count + 1)
            for write in writes[kept...].reversed() {
                _ = write.previous.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(write.offset)) }
                _ = ftruncate(fd, off_t(write.previousSize))
            }
            var tornAt: Int?
            if kept > 0, next(2) == 0 {
                let last = writes[kept - 1]
                let cut = next(last.count)
                let restored = last.previous.dropFirst(cut)
                _ = Array(restored).withUnsafeBytes {
                    pwrite(fd, $0.baseAddress, $0.count, off_t(last.offset) + off_t(cut))
                }
                _ = ftruncate(fd, off_t(max(last.previousSize, last.offset + Int64(cut))))
                tornAt = cut
            }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            lastPowerCut.append((name, kept, writes.count, tornAt))
        }
        unsynced = [:]
    }
}
#else

/// Release builds: no crash points, no faults.
enum FaultInjection {
    @inline(__always)
    static func crashPoint(_ name: StaticString) {}
}

#endif

/// A crash point in the tools (`auditlog export --bookmark`), for their crash tests: exits with status 86 where
/// `AUDITLOG_CRASH_AT` names it, in debug builds only.
@inline(__always)
package func crashPoint(_ name: StaticString) {
    FaultInjection.crashPoint(name)
}
