import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `maintenance.pending`: names the retention or redaction event being applied, so that a crash after the
/// event was committed but before its files were all removed or rewritten is finished by the next open
/// (FORMAT.md, "Retention and redaction"). Written (aside, fsynced, renamed) before the event is committed,
/// removed once the change is complete.
enum MaintenanceJournal {
    static let name = "maintenance.pending"

    static func write(seq: UInt64, directory: String, directoryFD: FileDescriptor) throws(AuditLogError) {
        try FileSystem.writeAtomically(
            Array("\(seq)\n".utf8), to: LogFiles.path(directory, name), directoryFD: directoryFD)
    }

    /// The seq named by the journal, if there is one.
    static func read(directory: String) throws(AuditLogError) -> UInt64? {
        let path = LogFiles.path(directory, name)
        guard FileSystem.exists(path) else { return nil }
        let text = String(decoding: try FileDescriptor.openForReading(path).read(count: 64, at: 0), as: UTF8.self)
        guard let seq = UInt64(text.split(separator: "\n").first ?? "") else {
            throw AuditLogError(
                .corrupt, "the maintenance journal does not name an event; delete it to open the log", path: path)
        }
        return seq
    }

    static func remove(directory: String, directoryFD: FileDescriptor) throws(AuditLogError) {
        try FileSystem.remove(LogFiles.path(directory, name))
        try directoryFD.synchronize()
    }
}

/// Crash points for the crash tests: when the environment variable `AUDITLOG_CRASH_AT` names one, the process
/// exits on the spot with status 86 (no cleanup, like a kill), leaving the files exactly as they are there.
///
/// In-process faults for the storage tests (`@testable`): the next `fdatasync`/`fsync` after a countdown fails
/// with EIO, or the next `pwrite` writes a prefix and then fails with an errno (ENOSPC, EIO), as a full or failing
/// disk does. Off unless a test arms it; checked with one atomic load on the hot path.
enum FaultInjection {
    private static let target: String? = getenv("AUDITLOG_CRASH_AT").map { String(cString: $0) }

    static func crashPoint(_ name: StaticString) {
        guard let target, target == name.description else { return }
        _exit(86)
    }

    struct Plan {
        /// Syncs that still succeed before every later one fails with EIO.
        var syncsBeforeFailure: Int?
        /// Writes that still succeed before every later one fails.
        var writesBeforeFailure: Int?
        /// Bytes of the failing write that reach the file first.
        var failingWritePrefix = 0
        var writeErrno: Int32 = ENOSPC
    }

    private static let lock = ConditionLock()
    nonisolated(unsafe) private static var plan: Plan?
    private static let armed = Atomic<Bool>(false)

    /// Arms `plan` for this process (tests only); `nil` disarms.
    static func arm(_ newPlan: Plan?) {
        lock.withLock {
            plan = newPlan
            armed.store(newPlan != nil, ordering: .releasing)
        }
    }

    /// Whether this sync must fail.
    static func syncFails() -> Bool {
        guard armed.load(ordering: .acquiring) else { return false }
        return lock.withLock {
            guard let left = plan?.syncsBeforeFailure else { return false }
            if left > 0 { plan?.syncsBeforeFailure = left - 1 }
            return left == 0
        }
    }

    /// For a write that must fail: how many of its bytes to write first, and the errno.
    static func writeFault(count: Int) -> (prefix: Int, errno: Int32)? {
        guard armed.load(ordering: .acquiring) else { return nil }
        return lock.withLock {
            guard let plan, let left = plan.writesBeforeFailure else { return nil }
            if left > 0 {
                Self.plan?.writesBeforeFailure = left - 1
                return nil
            }
            return (min(count, plan.failingWritePrefix), plan.writeErrno)
        }
    }
}
