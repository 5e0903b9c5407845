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

func isValidKeyName(_ name: Substring) -> Bool {
    !name.isEmpty && !name.contains("+") && !name.contains(where: { $0.isWhitespace })
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
