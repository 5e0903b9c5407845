/// An Ed25519 note signer: a key name and a private seed.
public struct NoteSigner: Sendable {
    public let name: String
    private let seed: [UInt8]
    public let verifierKey: NoteVerifierKey

    /// A new random key.
    public static func generate(name: String) throws(AuditLogError) -> NoteSigner {
        guard isValidKeyName(Substring(name)) else {
            throw AuditLogError(.invalidArgument, "a key name must be non-empty, without spaces or '+'")
        }
        return try NoteSigner(name: name, seed: try SecureRandom.bytes(Ed25519.seedSize))
    }

    private init(name: String, seed: [UInt8]) throws(AuditLogError) {
        self.name = name
        self.seed = seed
        verifierKey = try NoteVerifierKey(name: name, publicKey: try Ed25519.publicKey(seed: seed))
    }

    /// Parses the private key form `PRIVATE+KEY+name+hexkeyid+base64(0x01 || seed)`.
    public init(_ text: String) throws(AuditLogError) {
        let parts = text.trimmingWhitespace().split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY", isValidKeyName(parts[2]),
            let id = decodeHex(parts[3]), let key = Base64.decode(parts[4]), key.count == 33, key[0] == 0x01
        else {
            throw AuditLogError(.invalidArgument, "not a private key of the form PRIVATE+KEY+name+hexkeyid+base64key")
        }
        try self.init(name: String(parts[2]), seed: Array(key[1...]))
        guard verifierKey.keyID == id else {
            throw AuditLogError(.invalidArgument, "private key \(name): key ID does not match the key")
        }
    }

    /// The private key text (keep it secret; files holding it are written 0600).
    public var privateKeyText: String {
        "PRIVATE+KEY+\(name)+\(hexString(verifierKey.keyID))+\(Base64.encode([0x01] + seed))"
    }

    /// Signs note `text` (which must end in a newline) and returns the whole signed note.
    public func sign(_ text: String) throws(AuditLogError) -> String {
        guard text.hasSuffix("\n") else { throw AuditLogError(.invalidArgument, "note text must end with a newline") }
        let signature = try Ed25519.sign(Array(text.utf8), seed: seed)
        return text + "\n— \(name) \(Base64.encode(verifierKey.keyID + signature))\n"
    }
}
