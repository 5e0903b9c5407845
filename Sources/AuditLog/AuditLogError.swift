#if canImport(Glibc)
    import Glibc
#endif

/// The one error type of the AuditLog library.
///
/// Every error carries a stable ``code`` (for programs), a human ``message`` and, where known, the file, byte
/// offset, input line, event field and errno that locate the problem. `description` renders all of it, for
/// example `line 1832: field "actor.type": expected one of user, api_key, service, system`.
public struct AuditLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// An event was refused: bad JSON, wrong type, missing field, limit exceeded.
        public static let invalidEvent = Code(rawValue: "invalid_event")
        /// A call was made with an argument that can never work (bad option, unknown seq).
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        /// A system call failed; ``AuditLogError/errno`` says why.
        public static let io = Code(rawValue: "io")
        /// Another writer holds the log directory's lock.
        public static let locked = Code(rawValue: "locked")
        /// A file of the log does not have the content the format requires.
        public static let corrupt = Code(rawValue: "corrupt")
        /// A file was written by a newer format version than this library reads.
        public static let unsupportedFormat = Code(rawValue: "unsupported_format")
        /// The writer stopped accepting appends after a failed write or fsync; close and reopen the log.
        public static let writerFailed = Code(rawValue: "writer_failed")
        /// The log was closed.
        public static let closed = Code(rawValue: "closed")
        /// The path is not a log directory, or what was asked for does not exist.
        public static let notFound = Code(rawValue: "not_found")
        /// The request conflicts with what exists (a name already taken).
        public static let conflict = Code(rawValue: "conflict")
        /// The archive's object storage could not be reached, or failed: trying again later may work.
        public static let archiveUnavailable = Code(rawValue: "archive_unavailable")
        /// The archive's object storage refused the request (credentials, permissions, a missing bucket, a locked
        /// object): trying again will not help until that is changed.
        public static let archiveRefused = Code(rawValue: "archive_refused")
    }

    public var code: Code
    public var message: String
    /// The file the error is about.
    public var path: String?
    /// The byte offset in ``path`` where the problem starts.
    public var offset: Int64?
    /// The 1-based input line (JSON Lines ingest).
    public var line: Int?
    /// The dotted name of the event field, such as `actor.type`.
    public var field: String?
    /// The underlying `errno`, for ``Code/io`` errors.
    public var errno: Int32?

    public init(
        _ code: Code, _ message: String, path: String? = nil, offset: Int64? = nil, line: Int? = nil,
        field: String? = nil, errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.line = line
        self.field = field
        self.errno = errno
    }

    public var description: String {
        var text = ""
        if let line { text += "line \(line): " }
        if let field { text += "field \"\(field)\": " }
        text += message
        if let errno { text += ": \(String(cString: strerror(errno)))" }
        if let path {
            text += " (\(path)"
            if let offset { text += ", offset \(offset)" }
            text += ")"
        }
        return text
    }

    /// The same error with `prefix` before its message.
    func prefixed(_ prefix: String) -> AuditLogError {
        var copy = self
        copy.message = prefix + message
        return copy
    }

    /// The same error, located at a 1-based input line.
    public func at(line: Int) -> AuditLogError {
        var copy = self
        copy.line = line
        return copy
    }
}
