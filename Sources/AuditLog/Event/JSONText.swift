/// A JSON value held as its canonical text: the form of `before`, `after` and `metadata`.
///
/// Canonical text (FORMAT.md, "Canonical JSON") has no insignificant whitespace, strings escaped minimally,
/// numbers exactly as written (no precision is lost), object keys in their original order and never
/// duplicated. Two inputs that differ only in whitespace or string escapes have the same canonical text, so an
/// event has exactly one record encoding and one leaf hash.
public struct JSONText: Sendable, Hashable, CustomStringConvertible {
    /// The canonical text.
    public let text: String

    /// Parses `json` and keeps its canonical form.
    /// - Throws: ``AuditLogError/Code/invalidEvent`` when `json` is not exactly one JSON value.
    public init(_ json: String, maxNestingDepth: Int = EventLimits().maxNestingDepth) throws(AuditLogError) {
        var copy = json
        let result = copy.withUTF8 { utf8 -> Result<String, JSONScanner.SyntaxError> in
            var scanner = JSONScanner(UnsafeRawBufferPointer(utf8), maxDepth: maxNestingDepth)
            return Result { () throws(JSONScanner.SyntaxError) -> String in
                var out: [UInt8] = []
                out.reserveCapacity(utf8.count)  // canonical text is rarely longer than its input
                try scanner.copyCanonicalValue(into: &out)
                if scanner.peek() != nil { throw scanner.error("unexpected data after the JSON value") }
                return String(decoding: out, as: UTF8.self)
            }
        }
        switch result {
        case .success(let text): self.text = text
        case .failure(let e): throw AuditLogError(.invalidEvent, "invalid JSON at byte \(e.offset): \(e.reason)")
        }
    }

    /// Text already known to be canonical (read back from a record whose checksum matched).
    init(canonical text: String) {
        self.text = text
    }

    /// Whether the value is a JSON object.
    public var isObject: Bool { text.utf8.first == UInt8(ascii: "{") }

    public var description: String { text }
}
