import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The OpenAPI 3.1 description of the API, kept in the repository (Sources/AuditLogServer/Resources/openapi.json)
/// and served at `/v1/openapi.json`; the tests validate it and check the server against it.
enum OpenAPIDocument {
    static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json", subdirectory: "Resources"),
            let data = try? Data(contentsOf: url)
        else { return Array(#"{"error":"the OpenAPI document is missing from this build"}"#.utf8) }
        return Array(data)
    }()

    static func response() throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
