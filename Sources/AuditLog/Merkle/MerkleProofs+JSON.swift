// The JSON forms of the proofs (FORMAT.md, "Proofs"): hashes as lowercase hex, the entry as base64.
//
//   {"leafIndex":…, "treeSize":…, "leafHash":"hex", "proof":["hex",…], "root":"hex", "entry":"base64"}
//   {"size1":…, "size2":…, "root1":"hex", "root2":"hex", "proof":["hex",…]}

extension InclusionProof: Codable {
    enum CodingKeys: String, CodingKey {
        case leafIndex, treeSize, leafHash, proof, root, entry
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.decodeIfPresent(String.self, forKey: .entry) ?? ""
        guard let entry = Base64.decode(text) else {
            throw DecodingError.dataCorruptedError(forKey: .entry, in: c, debugDescription: "not base64")
        }
        self.init(
            leafIndex: try c.decode(UInt64.self, forKey: .leafIndex), treeSize: try c.decode(UInt64.self, forKey: .treeSize),
            leafHash: try c.decode(SHA256Hash.self, forKey: .leafHash),
            proof: try c.decode([SHA256Hash].self, forKey: .proof), root: try c.decode(SHA256Hash.self, forKey: .root),
            entry: entry)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(leafIndex, forKey: .leafIndex)
        try c.encode(treeSize, forKey: .treeSize)
        try c.encode(leafHash, forKey: .leafHash)
        try c.encode(proof, forKey: .proof)
        try c.encode(root, forKey: .root)
        try c.encode(Base64.encode(entry), forKey: .entry)
    }

    /// Parses the JSON form.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` naming the member that is missing or malformed.
    public init(_ json: String) throws(AuditLogError) {
        let object = try ProofJSON(json, kind: "inclusion proof")
        guard let entry = Base64.decode(try object.string("entry", required: false) ?? "") else {
            throw object.malformed("entry", "base64")
        }
        self.init(
            leafIndex: try object.integer("leafIndex"), treeSize: try object.integer("treeSize"),
            leafHash: try object.hash("leafHash"), proof: try object.hashes("proof"), root: try object.hash("root"),
            entry: entry)
    }

    /// The JSON form.
    public var jsonString: String { (try? JSONText(encoding: self).text) ?? "{}" }
}

extension ConsistencyProof {
    /// Parses the JSON form.
    /// - Throws: ``AuditLogError/Code/invalidArgument`` naming the member that is missing or malformed.
    public init(_ json: String) throws(AuditLogError) {
        let object = try ProofJSON(json, kind: "consistency proof")
        self.init(
            size1: try object.integer("size1"), size2: try object.integer("size2"), root1: try object.hash("root1"),
            root2: try object.hash("root2"), proof: try object.hashes("proof"))
    }

    /// The JSON form.
    public var jsonString: String { (try? JSONText(encoding: self).text) ?? "{}" }
}

/// Reads the members of a proof's JSON object, with errors that name the member.
private struct ProofJSON {
    let members: [(key: String, value: JSONValue)]
    let kind: String

    init(_ json: String, kind: String) throws(AuditLogError) {
        self.kind = kind
        let value: JSONValue
        do throws(AuditLogError) {
            value = try JSONValue(try JSONText(json, maxNestingDepth: 4))
        } catch {
            throw AuditLogError(.invalidArgument, "not a \(kind): \(error.message)")
        }
        guard case .object(let members) = value else {
            throw AuditLogError(.invalidArgument, "not a \(kind): expected a JSON object")
        }
        self.members = members
    }

    func malformed(_ key: String, _ expected: String) -> AuditLogError {
        AuditLogError(.invalidArgument, "not a \(kind): expected \(expected)", field: key)
    }

    private func value(_ key: String) throws(AuditLogError) -> JSONValue {
        guard let value = members.first(where: { $0.key == key })?.value else {
            throw AuditLogError(.invalidArgument, "not a \(kind): missing", field: key)
        }
        return value
    }

    func integer(_ key: String) throws(AuditLogError) -> UInt64 {
        guard case .number(let text) = try value(key), let number = UInt64(text) else {
            throw malformed(key, "a whole number")
        }
        return number
    }

    func string(_ key: String, required: Bool = true) throws(AuditLogError) -> String? {
        if !required && !members.contains(where: { $0.key == key }) { return nil }
        guard case .string(let text) = try value(key) else { throw malformed(key, "a string") }
        return text
    }

    func hash(_ key: String) throws(AuditLogError) -> SHA256Hash {
        guard case .string(let text) = try value(key), let hash = SHA256Hash(hex: text) else {
            throw malformed(key, "64 hexadecimal digits")
        }
        return hash
    }

    func hashes(_ key: String) throws(AuditLogError) -> [SHA256Hash] {
        guard case .array(let items) = try value(key) else { throw malformed(key, "an array of hashes") }
        var hashes: [SHA256Hash] = []
        for item in items {
            guard case .string(let text) = item, let hash = SHA256Hash(hex: text) else {
                throw malformed(key, "an array of 64-hex-digit hashes")
            }
            hashes.append(hash)
        }
        return hashes
    }
}
