import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The audit-log page: plain HTML, CSS and JavaScript modules from `Resources/page`, served at `/` and `/ui/<file>`
/// with a strict Content-Security-Policy (scripts and styles from this origin only, no inline script, no framing).
/// The page holds no data of its own: it calls the API with the key the user signs in with.
enum PageAssets {
    /// Every file of the page, read once: name → (content type, bytes).
    static let files: [String: (type: String, bytes: [UInt8])] = {
        guard let directory = Bundle.module.url(forResource: "page", withExtension: nil, subdirectory: "Resources"),
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [:] }
        var files: [String: (String, [UInt8])] = [:]
        for name in names {
            guard let type = contentType(of: name),
                let data = try? Data(contentsOf: directory.appendingPathComponent(name))
            else { continue }
            files[name] = (type, Array(data))
        }
        return files
    }()

    private static func contentType(of name: String) -> String? {
        switch name.split(separator: ".").last {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        default: nil
        }
    }

    /// The headers every page response carries.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "no-referrer",
        .xFrameOptions: "DENY",
        .cacheControl: "no-cache",
    ]

    static func response(_ name: String) throws -> Response {
        guard let file = files[name] else {
            throw APIError.notFound("no file \(name) in the page (is this build missing its resources?)")
        }
        var headers = securityHeaders
        headers[.contentType] = file.type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}
