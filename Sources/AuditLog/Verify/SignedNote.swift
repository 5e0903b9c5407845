/// C2SP signed-note keys and notes, with Ed25519 signatures (algorithm byte 0x01).
///
/// A note is UTF-8 text ending in a newline, then a blank line, then one line per signature:
/// `— <key name> <base64(4-byte key ID || 64-byte signature)>`. The signed bytes are the text with its final
/// newline. Key ID = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
public struct NoteVerifierKey: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let keyID: [UInt8]
    public let publicKey: [UInt8]

    /// Parses the vkey form `name+hexkeyid+base64(0x01 || public key)`.
    public init(_ text: String) throws(AuditLogError) {
        let trimmed = text.trimmingWhitespace()
        let parts = trimmed.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, isValidKeyName(parts[0]), parts[1].utf8.count == 8,
            let id = decodeHex(parts[1]), let key = Base64.decode(parts[2]), key.count == 33, key[0] == 0x01
        else {
            throw AuditLogError(.invalidArgument, "not a verifier key of the form name+hexkeyid+base64key (Ed25519)")
        }
        name = String(parts[0])
        publicKey = Array(key[1...])
        keyID = id
        guard try Self.keyID(name: name, publicKey: publicKey) == id else {
            throw AuditLogError(.invalidArgument, "verifier key \(name): key ID does not match the public key")
        }
    }

    init(name: String, publicKey: [UInt8]) throws(AuditLogError) {
        self.name = name
        self.publicKey = publicKey
        keyID = try Self.keyID(name: name, publicKey: publicKey)
    }

    static func keyID(name: String, publicKey: [UInt8]) throws(AuditLogError) -> [UInt8] {
        let sha = try SHA256Hasher()
        let input = Array(name.utf8) + [0x0A, 0x01] + publicKey
        return Array(input.withUnsafeBytes { sha.hash($0) }.bytes.prefix(4))
    }

    /// The vkey text.
    public var description: String {
        "\(name)+\(hexString(keyID))+\(Base64.encode([0x01] + publicKey))"
    }
}

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

/// A parsed signed note.
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

/// A C2SP tlog-checkpoint: origin, tree size and root hash.
public struct Checkpoint: Sendable, Equatable, Codable {
    public var origin: String
    public var treeSize: UInt64
    public var root: SHA256Hash

    public init(origin: String, treeSize: UInt64, root: SHA256Hash) {
        self.origin = origin
        self.treeSize = treeSize
        self.root = root
    }

    /// Parses a checkpoint from note text (`origin\nsize\nbase64 root\n`, extension lines allowed after).
    public init(_ text: String) throws(AuditLogError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, !lines[0].isEmpty, let size = UInt64(lines[1]), String(size) == lines[1],
            let rootBytes = Base64.decode(lines[2]), let root = SHA256Hash(bytes: rootBytes)
        else {
            throw AuditLogError(.invalidArgument, "not a checkpoint: expected origin, tree size and base64 root lines")
        }
        origin = String(lines[0])
        treeSize = size
        self.root = root
    }

    /// The note text: `origin\nsize\nbase64 root\n`.
    public var text: String {
        "\(origin)\n\(treeSize)\n\(Base64.encode(root.bytes))\n"
    }
}

private func isValidKeyName(_ name: Substring) -> Bool {
    !name.isEmpty && !name.contains("+") && !name.contains(where: { $0.isWhitespace })
}

func hexString(_ bytes: [UInt8]) -> String {
    String(decoding: bytes.flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 0xF)]] }, as: UTF8.self)
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }

    /// The range of the last occurrence of `needle`.
    func range(ofLast needle: String) -> Range<String.Index>? {
        let n = needle.count
        guard count >= n else { return nil }
        var end = endIndex
        while let start = index(end, offsetBy: -n, limitedBy: startIndex) {
            if self[start..<end] == needle { return start..<end }
            end = index(before: end)
        }
        return nil
    }
}
