import ArgumentParser
import AuditLog
import AuditLogCommandSupport

struct ProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Print an RFC 9162 inclusion proof that event SEQ is in the log.",
        discussion: """
            Output: {"leafIndex":…, "treeSize":…, "leafHash":"hex", "proof":["hex",…], "root":"hex", \
            "entry":"base64"}, where entry is the canonical record (FORMAT.md, "Record") and \
            leafHash = SHA-256(0x00 || entry). Any RFC 9162 verifier accepts it; `auditlog verify-proof` checks it \
            against a signed checkpoint.

            Example:
              auditlog prove --dir audit 1832 --tree-size 5000 > proof.json
            """
    )

    @OptionGroup var log: LogLocation

    @Argument(help: "The event's sequence number.")
    var seq: UInt64

    @Option(help: ArgumentHelp("Prove against the tree of this many events (default: the whole log).", valueName: "n"))
    var treeSize: UInt64?

    func run() throws {
        let directory = try log.directory()
        let proof = try reportingErrors { () throws(AuditLogError) in
            try AuditLogReader(directory: directory).inclusionProof(seq: seq, treeSize: treeSize)
        }
        Console.print(proof.jsonString)
    }
}

struct ConsistencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistency",
        abstract: "Print an RFC 9162 consistency proof that the log's tree extends an earlier tree.",
        discussion: """
            Output: {"size1":…, "size2":…, "root1":"hex", "root2":"hex", "proof":["hex",…]}.

            Example:
              auditlog consistency --dir audit --from 1000000 > consistency.json
            """
    )

    @OptionGroup var log: LogLocation

    @Option(help: ArgumentHelp("The earlier tree size.", valueName: "size1"))
    var from: UInt64

    @Option(help: ArgumentHelp("The later tree size (default: the whole log).", valueName: "size2"))
    var to: UInt64?

    func run() throws {
        let directory = try log.directory()
        let proof = try reportingErrors { () throws(AuditLogError) in
            try AuditLogReader(directory: directory).consistencyProof(from: from, to: to)
        }
        Console.print(proof.jsonString)
    }
}

struct VerifyProofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Check an inclusion or consistency proof against signed checkpoints, without the log.",
        discussion: """
            The checkpoints must be signed by --key. An inclusion proof must match a checkpoint of its tree size \
            and root; a consistency proof must match a checkpoint at size2 (and, if given, one at size1).

            Exit status: 0 valid, 1 invalid, 2 usage or I/O error.

            Example:
              auditlog verify-proof proof.json --checkpoint today.checkpoint --key prod.vkey
            """
    )

    @Argument(help: ArgumentHelp("The proof JSON file, or - for standard input.", valueName: "proof"))
    var proofFile: String

    @Option(
        name: .customLong("checkpoint"), help: ArgumentHelp("Signed checkpoint file (repeatable).", valueName: "file"))
    var checkpoints: [String]

    @Option(help: ArgumentHelp("Verifier key (file or vkey text) that signed the checkpoints.", valueName: "vkey"))
    var key: String

    func run() throws {
        let (text, notes, verifierKey) = try reportingErrors { () throws(AuditLogError) in
            let verifierKey = try KeyArguments.verifierKey(key)
            var notes: [String] = []
            for file in checkpoints { notes.append(try KeyArguments.contents(of: file)) }
            return (try KeyArguments.contents(of: proofFile), notes, verifierKey)
        }
        // The JSON names the proof: an inclusion proof has a leaf index, a consistency proof two sizes.
        let verdict: ProofVerification
        let claim: String
        do throws(AuditLogError) {
            if text.contains("\"leafIndex\"") {
                let proof = try InclusionProof(text)
                verdict = proof.verify(against: notes, key: verifierKey)
                claim = "event \(proof.leafIndex) is in the tree of \(proof.treeSize) events signed in the checkpoint"
            } else {
                let proof = try ConsistencyProof(text)
                verdict = proof.verify(against: notes, key: verifierKey)
                claim = "the tree of \(proof.size2) events extends the tree of \(proof.size1) events"
            }
        } catch {
            Console.error("error: \(proofFile): \(error)")
            throw ExitCode(2)
        }
        switch verdict {
        case .valid:
            Console.print("VALID: \(claim)")
        case .invalid(let failure):
            if case .checkpointNotTrusted(let index, _) = failure {
                Console.print("INVALID: \(checkpoints[index]): \(failure)")
            } else {
                Console.print("INVALID: \(failure)")
            }
            throw ExitCode(1)
        }
    }
}
