import AuditLog
import AuditLogKeys
import HTTPTypes
import Synchronization

/// The download links of exports asked for by browsers (`POST /v1/export/links`): each works once, within a
/// minute, and lives only in this process's memory. The token is 256 random bits; the link records which key
/// asked, so that the download is refused if that key was revoked meanwhile.
final class ExportLinks: Sendable {
    struct Link: Sendable {
        var keyID: String
        var query: Query
        var format: ExportEncoder.Format
        var filters: JSONValue
        /// Milliseconds since the epoch.
        var expires: Int64
    }

    static let lifetimeMilliseconds: Int64 = 60_000
    /// At most this many links wait at once; more is refused (a client asking for links in a loop).
    static let capacity = 10_000
    private let links = Mutex<[String: Link]>([:])

    /// Stores `link` under a fresh token.
    func issue(_ link: Link) throws -> (token: String, expires: Int64) {
        let token = Base64.encode(try SecureRandom.bytes(32)).base64URL
        let now = link.expires - Self.lifetimeMilliseconds
        try links.withLock { links in
            if links.count >= Self.capacity { links = links.filter { $0.value.expires > now } }
            guard links.count < Self.capacity else {
                throw APIError(
                    .tooManyRequests, code: "too_many_links",
                    "too many export links are waiting; use or let them expire")
            }
            links[token] = link
        }
        return (token, link.expires)
    }

    /// The link of `token` if it exists and has not expired; it is used up either way.
    func redeem(_ token: String, now: Int64) -> Link? {
        guard let link = links.withLock({ $0.removeValue(forKey: token) }), link.expires > now else { return nil }
        return link
    }
}
