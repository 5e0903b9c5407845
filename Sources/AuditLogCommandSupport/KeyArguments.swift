import AuditLog
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

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
        if path == "-" { return try standardInput() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditLogError(.io, "cannot read the file", path: path)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Everything on standard input, as text.
    private static func standardInput() throws(AuditLogError) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw AuditLogError(.io, "cannot read standard input: \(String(cString: strerror(errno)))")
            }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
