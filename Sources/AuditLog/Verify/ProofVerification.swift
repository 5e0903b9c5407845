/// The outcome of checking a proof against signed checkpoints.
public enum ProofVerification: Sendable, Equatable {
    /// The proof holds, and leads to the root of this checkpoint, signed by the key.
    case valid(Checkpoint)
    case invalid(Failure)

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A checkpoint given is not signed by the key (or is not a checkpoint of the key's log).
        case checkpointNotTrusted(index: Int, reason: String)
        /// The inclusion proof's entry does not hash to its leaf hash.
        case entryDoesNotMatchLeafHash(leafIndex: UInt64)
        /// The hashes of the proof do not lead from the leaf (or the old tree) to the root.
        case proofDoesNotHold
        /// No signed checkpoint has the proof's tree size and root.
        case noCheckpointMatches(treeSize: UInt64, root: SHA256Hash)
        /// A signed checkpoint at the consistency proof's old size has another root than the proof.
        case oldCheckpointDiffers(treeSize: UInt64)

        public var description: String {
            switch self {
            case .checkpointNotTrusted(let index, let reason):
                "checkpoint \(index + 1) is not trusted: \(reason)"
            case .entryDoesNotMatchLeafHash(let leaf):
                "the entry of leaf \(leaf) does not hash to the proof's leaf hash"
            case .proofDoesNotHold:
                "the proof's hashes do not lead to its root"
            case .noCheckpointMatches(let size, let root):
                "no signed checkpoint has tree size \(size) and root \(root.hex)"
            case .oldCheckpointDiffers(let size):
                "the signed checkpoint at tree size \(size) has another root than the proof"
            }
        }
    }

    public var isValid: Bool {
        if case .valid = self { return true }
        return false
    }
}

extension InclusionProof {
    /// Checks the proof offline, as an auditor does: each checkpoint is a signed note by `key` (for the key's
    /// log), the entry hashes to the leaf hash, the path leads from the leaf to the root, and one checkpoint has
    /// the proof's tree size and root.
    /// - Parameter checkpoints: Signed checkpoint notes, as served by the log or kept by the auditor.
    public func verify(against checkpoints: [String], key: NoteVerifierKey) -> ProofVerification {
        let trusted: [Checkpoint]
        switch Self.trusted(checkpoints, key: key) {
        case .success(let list): trusted = list
        case .failure(let failure): return .invalid(failure)
        }
        guard let hasher = try? MerkleHasher() else { return .invalid(.proofDoesNotHold) }
        if !entry.isEmpty && hasher.leafHash(entry) != leafHash {
            return .invalid(.entryDoesNotMatchLeafHash(leafIndex: leafIndex))
        }
        guard isValid() else { return .invalid(.proofDoesNotHold) }
        guard let match = trusted.first(where: { $0.treeSize == treeSize && $0.root == root }) else {
            return .invalid(.noCheckpointMatches(treeSize: treeSize, root: root))
        }
        return .valid(match)
    }

    /// The checkpoints of `notes`, each checked to be signed by `key` with the key's name as its origin.
    static func trusted(_ notes: [String], key: NoteVerifierKey) -> Result<[Checkpoint], ProofVerification.Failure> {
        var result: [Checkpoint] = []
        for (index, text) in notes.enumerated() {
            do throws(AuditLogError) {
                let note = try SignedNote(text)
                guard note.isSigned(by: key) else {
                    return .failure(.checkpointNotTrusted(index: index, reason: "not signed by \(key.name)"))
                }
                let checkpoint = try Checkpoint(note.text)
                guard checkpoint.origin == key.name else {
                    return .failure(
                        .checkpointNotTrusted(
                            index: index, reason: "its origin \(checkpoint.origin) is not the key's name \(key.name)"))
                }
                result.append(checkpoint)
            } catch {
                return .failure(.checkpointNotTrusted(index: index, reason: error.message))
            }
        }
        return .success(result)
    }
}

extension ConsistencyProof {
    /// Checks the proof offline: each checkpoint is a signed note by `key`, the proof links the tree of `size1`
    /// to the tree of `size2`, one checkpoint has `size2` and `root2`, and any checkpoint at `size1` has `root1`.
    public func verify(against checkpoints: [String], key: NoteVerifierKey) -> ProofVerification {
        let trusted: [Checkpoint]
        switch InclusionProof.trusted(checkpoints, key: key) {
        case .success(let list): trusted = list
        case .failure(let failure): return .invalid(failure)
        }
        guard isValid() else { return .invalid(.proofDoesNotHold) }
        guard let match = trusted.first(where: { $0.treeSize == size2 && $0.root == root2 }) else {
            return .invalid(.noCheckpointMatches(treeSize: size2, root: root2))
        }
        if trusted.contains(where: { $0.treeSize == size1 && $0.root != root1 }) {
            return .invalid(.oldCheckpointDiffers(treeSize: size1))
        }
        return .valid(match)
    }
}
