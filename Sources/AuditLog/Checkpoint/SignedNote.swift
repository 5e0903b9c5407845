/// A C2SP signed note (see ``NoteVerifierKey`` for the format), parsed: its text and its signatures.
public struct SignedNote: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public var name: String
        public var keyID: [UInt8]
        public var signature: [UInt8]

        public init(name: String, keyID: [UInt8], signature: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.signature = signature
        }
    }

    /// The note text, including its final newline: the signed bytes.
    public var text: String
    public var signatures: [Signature]

    public init(_ note: String) throws(AuditLogError) {
        guard let split = note.range(ofLast: "\n\n") else {
            throw AuditLogError(.invalidArgument, "not a signed note: no blank line before the signatures")
        }
        text = String(note[..<split.lowerBound]) + "\n"
        signatures = []
        for line in note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { continue }
            guard line.hasPrefix("— ") else { throw AuditLogError(.invalidArgument, "not a signature line: \(line)") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, let blob = Base64.decode(fields[1]), blob.count > 4 else {
                throw AuditLogError(.invalidArgument, "malformed signature line: \(line)")
            }
            signatures.append(
                Signature(name: String(fields[0]), keyID: Array(blob.prefix(4)), signature: Array(blob.dropFirst(4))))
        }
        guard !signatures.isEmpty else { throw AuditLogError(.invalidArgument, "signed note has no signatures") }
    }

    /// Whether one of the signatures is a valid signature by `key`.
    public func isSigned(by key: NoteVerifierKey) -> Bool {
        let message = Array(text.utf8)
        return signatures.contains {
            $0.name == key.name && $0.keyID == key.keyID
                && Ed25519.isValidSignature($0.signature, of: message, publicKey: key.publicKey)
        }
    }
}
