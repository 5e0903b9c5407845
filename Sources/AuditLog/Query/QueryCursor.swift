/// The opaque keyset cursor: `v1.<seq>.<fingerprint>` in base64url. Pages continue strictly after (oldest first)
/// or before (newest first) that seq, so a cursor stays exact while the writer appends.
enum QueryCursor {
    static func encode(after seq: UInt64, query: Query) -> String {
        let text = "v1.\(seq).\(String(query.fingerprint, radix: 16))"
        return Base64.encode(Array(text.utf8)).base64URL
    }

    static func decode(_ cursor: String, query: Query) throws(AuditLogError) -> UInt64 {
        let invalid = AuditLogError(
            .invalidArgument, "this cursor is not valid: pass the nextCursor of a previous page")
        guard let bytes = Base64.decode(base64URL: cursor) else { throw invalid }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ".")
        guard parts.count == 3, parts[0] == "v1", let seq = UInt64(parts[1]),
            let fingerprint = UInt64(parts[2], radix: 16)
        else { throw invalid }
        guard fingerprint == query.fingerprint else {
            throw AuditLogError(
                .invalidArgument, "this cursor belongs to a query with other filters or order; start again without it")
        }
        return seq
    }
}
