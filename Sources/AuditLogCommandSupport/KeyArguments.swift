import AuditLog
import Foundation

/// `--key` values: a file holding the key, or the key text itself.
package enum KeyArguments {
    package static func text(_ argument: String) throws(AuditLogError) -> String {
        if FileManager.default.fileExists(atPath: argument) {
            guard let data = FileManager.default.contents(atPath: argument) else {
                throw AuditLogError(.io, "cannot read the key file", path: argument)
            }
            return String(decoding: data, as: UTF8.self)
        }
        return argument
    }

    package static func verifierKey(_ argument: String) throws(AuditLogError) -> NoteVerifierKey {
        try NoteVerifierKey(try text(argument))
    }

    package static func signer(_ argument: String) throws(AuditLogError) -> NoteSigner {
        try NoteSigner(try text(argument))
    }

    /// The contents of a file, or of standard input for `-`.
    package static func contents(of path: String) throws(AuditLogError) -> String {
        if path == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditLogError(.io, "cannot read the file", path: path)
        }
        return String(decoding: data, as: UTF8.self)
    }
}
