import AuditLogS3
import Foundation
import Testing

/// AWS's SigV4 test suite (Vectors/sigv4, from botocore's tests; Apache 2.0): for every case, the canonical
/// request, the string to sign and the Authorization header must be AWS's, byte for byte.
@Suite("AWS Signature V4")
struct SigV4Tests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/sigv4")
    static let credentials = SigV4.Credentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    /// Every folder with a `.req` file, as a path under the suite's root.
    static func cases() -> [String] {
        let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".req") }.map { ($0 as NSString).deletingLastPathComponent }.sorted()
    }

    /// A `.req` file: the request line, headers (continuation lines start with spaces), a blank line, the body.
    static func parse(_ text: String) throws -> (request: SigV4.Request, amzDate: String) {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        // "GET /path?query HTTP/1.1"; the path may contain spaces.
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        var headers: [(name: String, value: String)] = []
        while let line = lines.first, !line.isEmpty {
            lines.removeFirst()
            if line.first == " " || line.first == "\t" {
                headers[headers.count - 1].value += "\n" + line
            } else {
                let colon = try #require(line.firstIndex(of: ":"))
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let body = lines.dropFirst().joined(separator: "\n")
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query: [(name: String, value: String)] = parts.count > 1 && !parts[1].isEmpty
            ? parts[1].split(separator: "&").map { item in
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode = { (s: Substring) in s.removingPercentEncoding ?? String(s) }
                return (decode(pair[0]), pair.count > 1 ? decode(pair[1]) : "")
            } : []
        let amzDate = try #require(headers.first { $0.name.lowercased() == "x-amz-date" }?.value)
        let request = SigV4.Request(
            method: method, path: String(parts[0]), query: query, headers: headers,
            payloadHash: SigV4.hexSHA256(Array(body.utf8)))
        return (request, amzDate)
    }

    @Test("every case of the test suite", arguments: cases())
    func testSuiteCase(_ path: String) throws {
        #expect(Self.cases().count >= 30)
        let folder = Self.root.appendingPathComponent(path)
        let name = folder.lastPathComponent
        func read(_ ext: String) throws -> String {
            try String(contentsOf: folder.appendingPathComponent("\(name).\(ext)"), encoding: .utf8)
        }
        var (request, amzDate) = try Self.parse(try read("req"))
        if name == "post-sts-header-after" {
            // The token is added after signing (the suite's readme): not a signed header.
            request.headers.removeAll { $0.name.lowercased() == "x-amz-security-token" }
        }
        var credentials = Self.credentials
        if name == "get-vanilla-with-session-token" {
            // Temporary credentials: the signer adds and signs the token (the signed request shows its value).
            let signed = try read("sreq").components(separatedBy: "\n")
            let token = try #require(signed.first { $0.hasPrefix("X-Amz-Security-Token:") })
            credentials.sessionToken = String(token.dropFirst("X-Amz-Security-Token:".count))
        }
        let signer = SigV4(credentials: credentials, region: "us-east-1", service: "service")
        #expect(signer.canonicalRequest(request) == (try read("creq")))
        #expect(signer.stringToSign(request, amzDate: amzDate) == (try read("sts")))
        #expect(signer.authorization(request, amzDate: amzDate) == (try read("authz")))
    }

    @Test("S3 signs paths as they are: no dot or empty segments removed, each segment encoded once")
    func s3Paths() {
        let s3 = SigV4(credentials: Self.credentials, region: "us-east-1")
        let request = SigV4.Request(
            method: "GET", path: "/bucket/a//b/./c d/ሴ", headers: [("Host", "h")], payloadHash: "x")
        #expect(s3.canonicalRequest(request).split(separator: "\n")[1] == "/bucket/a//b/./c%20d/%E1%88%B4")
    }
}
