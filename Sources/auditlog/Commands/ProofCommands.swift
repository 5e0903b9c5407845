import ArgumentParser
import AuditLog
import Foundation

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

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Argument(help: "The event's sequence number.")
    var seq: UInt64

    @Option(help: ArgumentHelp("Prove against the tree of this many events (default: the whole log).", valueName: "n"))
    var treeSize: UInt64?

    func run() throws {
        let proof = try reportingErrors { () throws(AuditLogError) in
            try AuditLog.inclusionProof(directory: dir, seq: seq, treeSize: treeSize)
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

    @Option(name: .long, help: ArgumentHelp("The log directory.", valueName: "dir"))
    var dir: String

    @Option(help: ArgumentHelp("The earlier tree size.", valueName: "size1"))
    var from: UInt64

    @Option(help: ArgumentHelp("The later tree size (default: the whole log).", valueName: "size2"))
    var to: UInt64?

    func run() throws {
        let proof = try reportingErrors { () throws(AuditLogError) in
            try AuditLog.consistencyProof(directory: dir, from: from, to: to)
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
        var trusted: [Checkpoint] = []
        let proofText: String
        do throws(AuditLogError) {
            let verifierKey = try KeyArguments.verifierKey(key)
            for file in checkpoints {
                let note = try SignedNote(try KeyArguments.contents(of: file))
                guard note.isSigned(by: verifierKey) else {
                    Console.print("INVALID: \(file) is not signed by \(verifierKey.name)")
                    throw AuditLogError(.invalidArgument, "bad signature")
                }
                trusted.append(try Checkpoint(text: note.text))
            }
            proofText = try KeyArguments.contents(of: proofFile)
        } catch  where error.message == "bad signature" {
            throw ExitCode(1)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(2)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(proofText.utf8)) as? [String: Any] else {
            Console.error("error: \(proofFile) is not a JSON object")
            throw ExitCode(2)
        }
        func matches(_ size: UInt64, _ root: SHA256Hash) -> Bool {
            trusted.contains { $0.treeSize == size && $0.root == root }
        }
        func hash(_ key: String) -> SHA256Hash? { (object[key] as? String).flatMap { SHA256Hash(hex: $0) } }
        func size(_ key: String) -> UInt64? { (object[key] as? NSNumber)?.uint64Value }
        let path = (object["proof"] as? [String])?.compactMap { SHA256Hash(hex: $0) }
        if let index = size("leafIndex"), let treeSize = size("treeSize"), let leaf = hash("leafHash"),
            let root = hash("root"), let path, path.count == (object["proof"] as? [String])?.count
        {
            let entry = (object["entry"] as? String).flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } ?? []
            let proof = InclusionProof(
                leafIndex: index, treeSize: treeSize, leafHash: leaf, proof: path, root: root, entry: entry)
            guard proof.isValid() else {
                Console.print("INVALID: the inclusion proof does not lead from leaf \(index) to its root")
                throw ExitCode(1)
            }
            guard matches(treeSize, root) else {
                Console.print("INVALID: no signed checkpoint has tree size \(treeSize) and root \(root.hex)")
                throw ExitCode(1)
            }
            Console.print("VALID: event \(index) is in the tree of \(treeSize) events signed in the checkpoint")
        } else if let size1 = size("size1"), let size2 = size("size2"), let root1 = hash("root1"),
            let root2 = hash("root2"),
            let path, path.count == (object["proof"] as? [String])?.count
        {
            let proof = ConsistencyProof(size1: size1, size2: size2, root1: root1, root2: root2, proof: path)
            guard proof.isValid() else {
                Console.print("INVALID: the consistency proof does not link tree size \(size1) to \(size2)")
                throw ExitCode(1)
            }
            guard matches(size2, root2) else {
                Console.print("INVALID: no signed checkpoint has tree size \(size2) and root \(root2.hex)")
                throw ExitCode(1)
            }
            if trusted.contains(where: { $0.treeSize == size1 }) && !matches(size1, root1) {
                Console.print("INVALID: the signed checkpoint at tree size \(size1) has another root than the proof")
                throw ExitCode(1)
            }
            Console.print("VALID: the tree of \(size2) events extends the tree of \(size1) events")
        } else {
            Console.error("error: \(proofFile) is neither an inclusion nor a consistency proof")
            throw ExitCode(2)
        }
    }
}
