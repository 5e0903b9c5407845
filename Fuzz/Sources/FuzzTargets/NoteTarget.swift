@testable import AuditLog

/// The signed-note (C2SP signed-note), checkpoint (C2SP tlog-checkpoint) and key parsers. Input: the text
/// (invalid UTF-8 is repaired, as when a note file is read). Every accepted text must print back to an equal value.
enum NoteTarget {
    static let signer = try? NoteSigner.generate(name: "fuzz.example/log")
    /// What the seeds had signed (with a fresh key each run, so no saved input carries a valid signature).
    nonisolated(unsafe) static var signedTexts: Set<String> = []

    static func run(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let note = try? SignedNote(text) {
            var printed = note.text + "\n"
            for signature in note.signatures {
                printed += "— \(signature.name) \(Base64.encode(signature.keyID + signature.signature))\n"
            }
            require((try? SignedNote(printed)) == note, "a signed note does not print back to itself")
            if let key = signer?.verifierKey, note.isSigned(by: key) {
                require(signedTexts.contains(note.text), "a text the harness never signed verifies under its key")
            }
            checkCheckpoint(note.text)
        }
        checkCheckpoint(text)
        if let key = try? NoteVerifierKey(text) {
            require((try? NoteVerifierKey(key.description)) == key, "a verifier key does not print back to itself")
        }
        if let signer = try? NoteSigner(text) {
            require(
                (try? NoteSigner(signer.privateKeyText))?.verifierKey == signer.verifierKey, "signer key round trip")
        }
    }

    private static func checkCheckpoint(_ text: String) {
        guard let checkpoint = try? Checkpoint(text) else { return }
        require((try? Checkpoint(checkpoint.text)) == checkpoint, "a checkpoint does not print back to itself")
    }

    static func seeds() -> [[UInt8]] {
        guard let signer, let witness = try? NoteSigner.generate(name: "witness.example"),
            let root = SHA256Hash(bytes: [UInt8](repeating: 0xab, count: 32))
        else { return [] }
        let checkpoint = Checkpoint(origin: "example.com/audit", treeSize: 1234, root: root).text
        var seeds = [
            checkpoint, checkpoint + "extension line\n", signer.verifierKey.description, signer.privateKeyText,
        ]
        signedTexts.insert(checkpoint)
        if let note = try? signer.sign(checkpoint), let cosigned = try? witness.sign(checkpoint),
            let cosignature = cosigned.split(separator: "\n").last
        {
            seeds += [note, note + cosignature + "\n"]
        }
        return seeds.map { Array($0.utf8) }
    }
}
