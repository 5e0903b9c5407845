/// One difference between `before` and `after`.
public struct FieldChange: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case added, removed, changed
    }

    /// Where: `config.temperature`, `labels[1]`, `["key with.dot"]`; empty for the whole value.
    public var path: String
    public var kind: Kind
    /// Canonical JSON of the old value (nil when added).
    public var old: String?
    /// Canonical JSON of the new value (nil when removed).
    public var new: String?

    public init(path: String, kind: Kind, old: String?, new: String?) {
        self.path = path
        self.kind = kind
        self.old = old
        self.new = new
    }
}

/// Field-level differences of JSON values, the way an auditor reads "what changed between version 5 and 6".
///
/// Objects are compared member by member (by key), arrays element by element (by index, so an insertion shows
/// as changes and an addition at the end); a value whose type changes is one change at its path.
public enum EventDiff {
    /// The changes from `before` to `after` of an event (an absent side counts as nothing there).
    public static func changes(of event: AuditEvent) throws(AuditLogError) -> [FieldChange] {
        let before = try event.before.map { (text) throws(AuditLogError) in try JSONValue(text) }
        let after = try event.after.map { (text) throws(AuditLogError) in try JSONValue(text) }
        return changes(from: before, to: after)
    }

    public static func changes(from old: JSONValue?, to new: JSONValue?) -> [FieldChange] {
        var out: [FieldChange] = []
        compare(old, new, path: "", into: &out)
        return out
    }

    private static func compare(_ old: JSONValue?, _ new: JSONValue?, path: String, into out: inout [FieldChange]) {
        switch (old, new) {
        case (nil, nil):
            return
        case (nil, let new?):
            out.append(FieldChange(path: path, kind: .added, old: nil, new: new.text))
        case (let old?, nil):
            out.append(FieldChange(path: path, kind: .removed, old: old.text, new: nil))
        case (.object(let a)?, .object(let b)?):
            let newKeys = Dictionary(b.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            let oldKeys = Set(a.map(\.key))
            for member in a {
                compare(member.value, newKeys[member.key], path: join(path, member.key), into: &out)
            }
            for member in b where !oldKeys.contains(member.key) {
                compare(nil, member.value, path: join(path, member.key), into: &out)
            }
        case (.array(let a)?, .array(let b)?):
            for i in 0..<max(a.count, b.count) {
                compare(i < a.count ? a[i] : nil, i < b.count ? b[i] : nil, path: "\(path)[\(i)]", into: &out)
            }
        case (let old?, let new?):
            if old != new { out.append(FieldChange(path: path, kind: .changed, old: old.text, new: new.text)) }
        }
    }

    private static func join(_ path: String, _ key: String) -> String {
        let plain =
            !key.isEmpty
            && key.unicodeScalars.allSatisfy {
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
            }
        if plain { return path.isEmpty ? key : "\(path).\(key)" }
        var quoted: [UInt8] = []
        JSONWriter.appendString(key, to: &quoted)
        return "\(path)[\(String(decoding: quoted, as: UTF8.self))]"
    }
}
