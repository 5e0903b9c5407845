import AuditLog
import AuditLogKeys
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Every error of the HTTP API: a status and a JSON body with a stable `code`, a message for people, and where
/// known the 1-based `line` and the `field` of the event, or the query `parameter`, at fault.
///
/// ```json
/// {"error": {"code": "invalid_event", "message": "expected one of user, api_key, service, system",
///            "line": 2, "field": "actor.type"}}
/// ```
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var line: Int?
    public var field: String?
    public var parameter: String?
    public var headers: HTTPFields = [:]

    public init(
        _ status: HTTPResponse.Status, code: String, _ message: String, line: Int? = nil, field: String? = nil,
        parameter: String? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.line = line
        self.field = field
        self.parameter = parameter
    }

    static func unauthorized(_ message: String) -> APIError {
        var error = APIError(.unauthorized, code: "unauthorized", message)
        error.headers[.wwwAuthenticate] = #"Bearer realm="auditlog""#
        return error
    }

    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, code: "forbidden", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }

    static func badParameter(_ name: String, _ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_parameter", "\(name) \(message)", parameter: name)
    }

    /// The API form of a library error: refusals are the client's (4xx), storage trouble is the server's (5xx).
    init(_ error: AuditLogError, parameter: String? = nil) {
        switch error.code {
        case .invalidEvent:
            self.init(
                .badRequest, code: "invalid_event", error.message, line: error.line, field: error.field)
        case .invalidArgument:
            let name = parameter ?? error.field
            self.init(
                .badRequest, code: name == nil ? "invalid_argument" : "invalid_parameter",
                name.map { "\($0) \(error.message)" } ?? error.message, parameter: name)
        case .notFound:
            self.init(.notFound, code: "not_found", error.message)
        case .conflict:
            self.init(.conflict, code: "conflict", error.message, field: error.field)
        case .writerFailed, .closed:
            self.init(
                .serviceUnavailable, code: error.code.rawValue,
                "the log does not accept appends now; the server must be restarted")
        default:
            // The details (paths, offsets) are for the operator's log, not for clients.
            self.init(.internalServerError, code: "server_error", "the server could not read or write the log")
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"error":{"code":"#.utf8)
        JSONWriter.appendString(code, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONWriter.appendString(message, to: &out)
        if let line { out.append(contentsOf: ",\"line\":\(line)".utf8) }
        if let field {
            out.append(contentsOf: #","field":"#.utf8)
            JSONWriter.appendString(field, to: &out)
        }
        if let parameter {
            out.append(contentsOf: #","parameter":"#.utf8)
            JSONWriter.appendString(parameter, to: &out)
        }
        out.append(contentsOf: "}}\n".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }
}

/// Turns every error a route throws into the API's JSON error form (Hummingbird's own errors included: an unknown
/// route, a body over the limit), and logs server-side failures without their secrets.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes, as path patterns (`:name` matches one segment) and their methods: a known path asked with
    /// another method gets 405 with `Allow`, not 404.
    let routes: [(pattern: [Substring], methods: [String])]

    init(routes: [(path: String, methods: [String])]) {
        self.routes = routes.map { ($0.path.split(separator: "/"), $0.methods) }
    }

    private func allowedMethods(_ path: String) -> [String]? {
        let segments = path.split(separator: "/")
        return routes.first { route in
            route.pattern.count == segments.count
                && zip(route.pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }?.methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            if error.status.code >= 500 { context.logger.error("\(request.method) \(request.uri.path): \(error.message)") }
            return try error.response(from: request, context: context)
        } catch let error as AuditLogError {
            let api = APIError(error)
            if api.status.code >= 500 {
                context.logger.error("\(request.method) \(request.uri.path): \(error.description)")
            }
            return try api.response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError(
                .contentTooLarge, code: "payload_too_large", "the request body is over the limit of this route"
            ).response(from: request, context: context)
        } catch let error as HTTPError where error.status == .notFound && allowedMethods(request.uri.path) != nil {
            let allowed = allowedMethods(request.uri.path)!
            var api = APIError(
                .methodNotAllowed, code: "method_not_allowed",
                "\(request.uri.path) takes \(allowed.joined(separator: ", ")), not \(request.method)")
            api.headers[.allow] = allowed.joined(separator: ", ")
            return try api.response(from: request, context: context)
        } catch let error as HTTPError {
            let code =
                switch error.status {
                case .notFound: "not_found"
                case .contentTooLarge: "payload_too_large"
                case .methodNotAllowed: "method_not_allowed"
                case .unsupportedMediaType: "unsupported_media_type"
                default: error.status.code >= 500 ? "server_error" : "bad_request"
                }
            let message = error.body ?? error.status.reasonPhrase
            return try APIError(error.status, code: code, message).response(from: request, context: context)
        } catch {
            context.logger.error("\(request.method) \(request.uri.path): \(error)")
            return try APIError(.internalServerError, code: "server_error", "the server failed to answer")
                .response(from: request, context: context)
        }
    }
}
