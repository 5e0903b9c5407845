import AuditLogKeys
import HTTPTypes
import Hummingbird
import NIOCore

/// What the audit-log routes need to know about a request beyond the request itself: the API key that
/// authenticated it and the peer's address (recorded in the log's own events). Conform your application's
/// context to mount the routes in another Hummingbird application.
public protocol AuditLogRequestContextProtocol: RequestContext, RemoteAddressRequestContext {
    /// Set by the authentication middleware.
    var apiKey: APIKey? { get set }
}

/// The request context of `auditlog serve`.
public struct AuditLogRequestContext: AuditLogRequestContextProtocol {
    public var coreContext: CoreRequestContextStorage
    public var apiKey: APIKey?
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
