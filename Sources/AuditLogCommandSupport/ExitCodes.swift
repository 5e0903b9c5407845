import ArgumentParser
import AuditLog

/// sysexits(3) codes, so scripts can tell bad input from a failing disk.
package enum ExitStatus {
    package static let invalidInput = ExitCode(65)
    package static let ioError = ExitCode(74)
    package static let locked = ExitCode(75)
    /// A program this one needs is missing, or a server (the archive's object storage) cannot be reached.
    package static let unavailable = ExitCode(69)
    /// The archive's object storage refused: credentials, permissions, a missing bucket, a locked object.
    package static let archiveRefused = ExitCode(77)

    package static func code(for error: AuditLogError) -> ExitCode {
        switch error.code {
        case .invalidEvent: invalidInput
        case .locked: locked
        case .invalidArgument, .conflict: ExitCode.validationFailure
        case .archiveUnavailable: unavailable
        case .archiveRefused: archiveRefused
        default: ioError
        }
    }
}

/// Prints `error: …` to stderr and returns the matching exit status.
package func fail(_ error: AuditLogError, hint: String? = nil) -> ExitCode {
    Console.error("error: \(error)")
    if let hint { Console.error(hint) }
    return ExitStatus.code(for: error)
}

/// Runs `body`, turning an `AuditLogError` into a message on stderr and an exit status.
package func reportingErrors<T>(_ body: () throws(AuditLogError) -> T) throws(ExitCode) -> T {
    do {
        return try body()
    } catch {
        throw fail(error)
    }
}
