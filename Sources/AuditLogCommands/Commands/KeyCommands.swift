import ArgumentParser
import AuditLog
import AuditLogCommandSupport
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 key pair for signing checkpoints.",
        discussion: """
            Writes the private key to PREFIX.key (owner-only; keep it with the writer) and the verifier key to \
            PREFIX.vkey (one line, C2SP vkey form name+keyid+key; give it to auditors). Existing files are never \
            overwritten. NAME is the log's origin, the first line of its checkpoints, e.g. audit.example.com/prod.

            Example:
              auditlog keygen --name audit.example.com/prod --out keys/prod
            """
    )

    @Option(help: ArgumentHelp("Key name and checkpoint origin.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Path prefix of the two files written.", valueName: "prefix"))
    var out: String

    func run() throws {
        try reportingErrors { () throws(AuditLogError) in
            let signer = try NoteSigner.generate(name: name)
            try writeNew(out + ".key", signer.privateKeyText + "\n")
            try writeNew(out + ".vkey", signer.verifierKey.description + "\n", publicFile: true)
            Console.error("wrote \(out).key (private, 0600) and \(out).vkey (public, give it to auditors)")
            Console.print(signer.verifierKey.description)
        }
    }
}

/// Creates `path` with `text`, owner-only unless `publicFile`; refuses to replace an existing file.
func writeNew(_ path: String, _ text: String, publicFile: Bool = false) throws(AuditLogError) {
    let mode = publicFile ? S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH : S_IRUSR | S_IWUSR
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
    guard fd >= 0 else {
        let code = errno
        throw AuditLogError(
            .io, code == EEXIST ? "already exists; not overwriting it" : "cannot create", path: path,
            errno: code == EEXIST ? nil : code)
    }
    defer { close(fd) }
    guard Console.writeAll(fd, Array(text.utf8)), fsync(fd) == 0 else {
        throw AuditLogError(.io, "cannot write", path: path, errno: errno)
    }
}

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign a checkpoint (origin, tree size, root) of a log as a C2SP signed note.",
        discussion: """
            Reads the log without opening it for writing. Publish or hand the checkpoint to auditors: later, \
            `auditlog verify --checkpoint FILE --key VKEY` proves the log still holds that exact tree, and \
            `auditlog consistency` proves a later tree extends it.

            Example:
              auditlog checkpoint --dir audit --key keys/prod.key --out today.checkpoint
            """
    )

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Option(help: ArgumentHelp("Private key file (or its text), from `auditlog keygen`.", valueName: "key"))
    var key: String

    @Option(help: ArgumentHelp("Also write the checkpoint to this file.", valueName: "file"))
    var out: String?

    func run() throws {
        try reportingErrors { () throws(AuditLogError) in
            let signer = try KeyArguments.signer(key)
            let state = try AuditLogReader(directory: dir).state()
            let note = try signer.sign(Checkpoint(origin: signer.name, treeSize: state.treeSize, root: state.root).text)
            if let out { try writeNew(out, note) }
            Console.writeAll(1, Array(note.utf8))
        }
    }
}
