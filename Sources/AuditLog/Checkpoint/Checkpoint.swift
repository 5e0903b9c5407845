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
