import AuditLog
import CCrypto

/// AWS Signature Version 4: signs HTTP requests (an `Authorization` header, or a presigned URL) for S3 and other
/// AWS-compatible services. Tested against every case of AWS's published SigV4 test suite
/// (Tests/AuditLogS3Tests/Vectors/sigv4) and against a real S3 server.
public struct SigV4: Sendable {
    public struct Credentials: Sendable {
        public var accessKeyID: String
        public var secretAccessKey: String
        /// The session token of temporary credentials (`X-Amz-Security-Token`).
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// A request to sign. `path` is the decoded path (`/bucket/my key`); query items are decoded too.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        /// Every header to sign, `Host` included, in any order and case; repeated names are joined with commas.
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(
            method: String, path: String, query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)], payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public var credentials: Credentials
    public var region: String
    public var service: String
    /// S3 signs paths as they are; other services first remove `.` and `..` segments and empty segments.
    public var normalizesPath: Bool

    public init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = service != "s3"
    }

    // MARK: The steps

    /// The request as it is signed: with temporary credentials, `X-Amz-Security-Token` among its headers.
    func withToken(_ request: Request) -> Request {
        guard let token = credentials.sessionToken,
            !request.headers.contains(where: { $0.name.lowercased() == "x-amz-security-token" })
        else { return request }
        var signed = request
        signed.headers.append(("X-Amz-Security-Token", token))
        return signed
    }

    public func canonicalRequest(_ request: Request) -> String {
        let headers = Self.canonicalHeaders(withToken(request).headers)
        return [
            request.method,
            canonicalPath(request.path),
            Self.canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            headers.map(\.name).joined(separator: ";"),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    /// `20150830/us-east-1/service/aws4_request` for an `X-Amz-Date` of `20150830T123600Z`.
    public func scope(amzDate: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }

    public func stringToSign(_ request: Request, amzDate: String) -> String {
        [Self.algorithm, amzDate, scope(amzDate: amzDate), Self.hexSHA256(Array(canonicalRequest(request).utf8))]
            .joined(separator: "\n")
    }

    public func signature(_ request: Request, amzDate: String) -> String {
        var key = Self.hmac(Array("AWS4\(credentials.secretAccessKey)".utf8), Array(amzDate.prefix(8).utf8))
        for part in [region, service, "aws4_request"] { key = Self.hmac(key, Array(part.utf8)) }
        return hexString(Self.hmac(key, Array(stringToSign(request, amzDate: amzDate).utf8)))
    }

    /// The `Authorization` header's value. The request must already carry `X-Amz-Date`; with temporary
    /// credentials, `X-Amz-Security-Token` is signed too (send it: ``signedHeaders(_:amzDate:)`` does).
    public func authorization(_ request: Request, amzDate: String) -> String {
        let signed = Self.canonicalHeaders(withToken(request).headers).map(\.name).joined(separator: ";")
        return "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(amzDate: amzDate)), "
            + "SignedHeaders=\(signed), Signature=\(signature(request, amzDate: amzDate))"
    }

    /// The headers to send: the request's, the session token's if any, and `Authorization`.
    public func signedHeaders(_ request: Request, amzDate: String) -> [(name: String, value: String)] {
        withToken(request).headers + [("Authorization", authorization(request, amzDate: amzDate))]
    }

    /// The query of a presigned URL for `request` (whose headers are those the URL's user will send, `Host` at
    /// least), valid for `expires` seconds from `amzDate`: the request's own query plus the `X-Amz-*` parameters
    /// and the signature, encoded.
    public func presignedQuery(_ request: Request, amzDate: String, expires: Int) -> String {
        var presigned = request
        presigned.payloadHash = "UNSIGNED-PAYLOAD"
        let signed = Self.canonicalHeaders(request.headers).map(\.name).joined(separator: ";")
        presigned.query += [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(amzDate: amzDate))"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", signed),
        ]
        if let token = credentials.sessionToken { presigned.query.append(("X-Amz-Security-Token", token)) }
        let signature = signature(presigned, amzDate: amzDate)
        return Self.canonicalQuery(presigned.query + [("X-Amz-Signature", signature)])
    }

    // MARK: Canonical forms

    func canonicalPath(_ path: String) -> String {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if normalizesPath {
            var kept: [String] = []
            for segment in segments.dropFirst() {
                switch segment {
                case "", ".": continue
                case "..": _ = kept.popLast()
                default: kept.append(segment)
                }
            }
            let trailing = path.hasSuffix("/") && !kept.isEmpty
            segments = [""] + kept + (trailing ? [""] : [])
        }
        let encoded = segments.map { Self.uriEncode($0) }.joined(separator: "/")
        return encoded.isEmpty ? "/" : encoded
    }

    /// Sorted by encoded name, then value; every name and value URI-encoded.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name), uriEncode($0.value)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-case names, sorted; values trimmed, inner runs of spaces (and folded lines) made one space,
    /// repeated names joined with commas in their order.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var byName: [String: [String]] = [:]
        for (name, value) in headers {
            let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            byName[name.lowercased(), default: []].append(words.joined(separator: " "))
        }
        return byName.keys.sorted().map { ($0, byName[$0]!.joined(separator: ",")) }
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters `A-Z a-z 0-9 - . _ ~`.
    public static func uriEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    // MARK: Hashes

    public static func hexSHA256(_ bytes: [UInt8]) -> String {
        hexString(digest(bytes, EVP_sha256()))
    }

    /// One-shot digest of `bytes` with `type` (`EVP_sha256()`, `EVP_md5()`).
    static func digest(_ bytes: [UInt8], _ type: OpaquePointer?) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = bytes.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &out, &length, type, nil) }
        return Array(out.prefix(Int(length)))
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    m.count, &out, &length)
            }
        }
        return out
    }
}
