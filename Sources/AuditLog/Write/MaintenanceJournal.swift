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
