import AuditLog
import CCrypto
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Where objects live: `s3://BUCKET/PREFIX`.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    /// Without leading or trailing slash; empty for the bucket's root.
    public var prefix: String

    public init(bucket: String, prefix: String = "") {
        self.bucket = bucket
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
    }

    /// Parses `s3://BUCKET[/PREFIX]`.
    public init(parsing text: String) throws(S3Error) {
        guard text.hasPrefix("s3://") else {
            throw S3Error(.invalidArgument, "\"\(text)\" is not an s3://BUCKET/PREFIX address")
        }
        let rest = text.dropFirst("s3://".count)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = String(parts[0])
        // S3's rules: 3-63 characters of lower-case letters, digits, dots and hyphens, a letter or digit at each end.
        let allowed = bucket.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }
        guard (3...63).contains(bucket.count), allowed, bucket.first != "-", bucket.first != ".", bucket.last != "-",
            bucket.last != "."
        else {
            throw S3Error(
                .invalidArgument,
                "\"\(bucket)\" is not a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens")
        }
        self.init(bucket: bucket, prefix: parts.count > 1 ? String(parts[1]) : "")
    }

    /// The key of `name` under the prefix.
    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix)/\(name)" }

    public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }
}

/// What went wrong talking to S3, with S3's own code when it answered (`NoSuchKey`, `AccessDenied`, …).
public struct S3Error: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// A bad address, name or option: nothing was sent.
        case invalidArgument
        /// No credentials, or the server refused them (`InvalidAccessKeyId`, `SignatureDoesNotMatch`, 403).
        case credentials
        /// The bucket or object does not exist.
        case notFound
        /// The server refused the request for another reason (an Object Lock, a conflict, a bad request).
        case refused
        /// The server could not be reached, or the connection broke; worth retrying.
        case network
        /// The server answered with a 5xx or something that is not S3; worth retrying.
        case server
        /// What came back is not what was sent (a checksum or size mismatch).
        case integrity
    }

    public var kind: Kind
    public var message: String
    /// S3's error code, when the server sent one.
    public var code: String?
    public var status: Int?

    public init(_ kind: Kind, _ message: String, code: String? = nil, status: Int? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
        self.status = status
    }

    /// Whether trying again later may succeed.
    public var isTransient: Bool { kind == .network || kind == .server }

    public var description: String {
        var text = message
        if let code { text += " (\(code)" + (status.map { ", HTTP \($0)" } ?? "") + ")" }
        return text
    }
}

/// An object as a listing or HEAD describes it.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int64
    /// Without quotes.
    public var etag: String
    /// When it may first be deleted, for an object under COMPLIANCE or GOVERNANCE retention (HEAD only).
    public var retainUntil: String?
    /// The version HEAD saw, on a bucket with versioning (Object Lock turns it on).
    public var versionID: String?
}

/// One version of an object, or a delete marker, on a bucket with versioning.
public struct S3ObjectVersion: Sendable, Equatable {
    public var key: String
    public var versionID: String
    public var isDeleteMarker: Bool
}

/// A small S3 client: path-style requests over HTTP(S), signed with ``SigV4``. Every upload is checked end to end:
/// the body's SHA-256 is signed (`x-amz-content-sha256`, which the server checks against what it received) and its
/// MD5 is sent (`Content-MD5`) and compared with the ETag the server returns.
public final class S3Client: Sendable {
    public let endpoint: URL
    public let signer: SigV4
    private let session: URLSession

    public init(endpoint: URL, region: String, credentials: SigV4.Credentials, timeout: TimeInterval = 30) {
        self.endpoint = endpoint
        self.signer = SigV4(credentials: credentials, region: region)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        self.session = URLSession(configuration: configuration)
    }

    /// A client configured by the standard variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`; default us-east-1) and `AWS_ENDPOINT_URL`
    /// (default `https://s3.REGION.amazonaws.com`).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(S3Error) -> S3Client
    {
        guard let access = environment["AWS_ACCESS_KEY_ID"], !access.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else {
            throw S3Error(.credentials, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let address = environment["AWS_ENDPOINT_URL"] ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: address), endpoint.scheme == "http" || endpoint.scheme == "https",
            endpoint.host != nil
        else { throw S3Error(.invalidArgument, "AWS_ENDPOINT_URL \"\(address)\" is not an http(s) URL") }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Client(
            endpoint: endpoint, region: region,
            credentials: SigV4.Credentials(accessKeyID: access, secretAccessKey: secret, sessionToken: token))
    }

    // MARK: Buckets

    public func createBucket(_ bucket: String, objectLock: Bool = false) async throws(S3Error) {
        _ = try await send(
            "PUT", bucket: bucket, headers: objectLock ? [("x-amz-bucket-object-lock-enabled", "true")] : [])
    }

    // MARK: Objects

    /// Stores `body` at `key`, checked end to end; with `retainDays`, under COMPLIANCE retention for that many
    /// days (the bucket must have Object Lock enabled). Returns the ETag.
    @discardableResult
    public func putObject(
        bucket: String, key: String, body: [UInt8], retainDays: Int? = nil, now: Date = Date()
    ) async throws(S3Error) -> String {
        let md5 = SigV4.digest(body, EVP_md5())
        let headers = [("Content-MD5", Data(md5).base64EncodedString())] + Self.lockHeaders(retainDays, now)
        let (_, response) = try await send("PUT", bucket: bucket, key: key, headers: headers, body: body)
        let etag = Self.unquoted(response.value(forHTTPHeaderField: "ETag") ?? "")
        let expected = hexString(md5)
        guard etag == expected else {
            throw S3Error(
                .integrity, "s3://\(bucket)/\(key): the server's ETag \(etag) is not the MD5 of what was sent (\(expected))")
        }
        return etag
    }

    /// Stores `body` at `key` as a multipart upload in parts of `partSize` bytes (at least 5 MiB, S3's minimum for
    /// every part but the last): each part checked like a single PUT (Content-MD5, the signed SHA-256 of the body,
    /// its ETag the MD5 of what was sent), and the object afterwards must have S3's multipart ETag of exactly those
    /// parts and the size sent. On any failure the upload is aborted, so no part is left behind and no object
    /// appears. With `retainDays`, as ``putObject(bucket:key:body:retainDays:now:)``. Returns the ETag.
    @discardableResult
    public func putObjectInParts(
        bucket: String, key: String, body: [UInt8], partSize: Int = 8 << 20, retainDays: Int? = nil,
        now: Date = Date()
    ) async throws(S3Error) -> String {
        guard partSize >= 5 << 20 else { throw S3Error(.invalidArgument, "parts must be at least 5 MiB") }
        let (created, _) = try await send(
            "POST", bucket: bucket, key: key, query: [("uploads", "")], headers: Self.lockHeaders(retainDays, now))
        guard let uploadID = XMLText.value("UploadId", in: String(decoding: created, as: UTF8.self)) else {
            throw S3Error(.server, "s3://\(bucket)/\(key): the server started no multipart upload (no UploadId)")
        }
        do throws(S3Error) {
            var parts: [(number: Int, etag: String)] = []
            var digests: [UInt8] = []
            for start in stride(from: 0, to: max(body.count, 1), by: partSize) {
                let part = Array(body[start..<min(start + partSize, body.count)])
                let md5 = SigV4.digest(part, EVP_md5())
                let number = parts.count + 1
                let (_, response) = try await send(
                    "PUT", bucket: bucket, key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)],
                    headers: [("Content-MD5", Data(md5).base64EncodedString())], body: part)
                let etag = Self.unquoted(response.value(forHTTPHeaderField: "ETag") ?? "")
                guard etag == hexString(md5) else {
                    throw S3Error(.integrity, "s3://\(bucket)/\(key): part \(number)'s ETag \(etag) is not the MD5 of what was sent")
                }
                parts.append((number, etag))
                digests += md5
            }
            let list = parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\"\($0.etag)\"</ETag></Part>" }
            let (completed, _) = try await send(
                "POST", bucket: bucket, key: key, query: [("uploadId", uploadID)],
                body: Array(("<CompleteMultipartUpload>" + list.joined() + "</CompleteMultipartUpload>").utf8))
            // S3 can answer 200 with an error in the body.
            let answer = String(decoding: completed, as: UTF8.self)
            if answer.contains("<Error>") {
                throw S3Error(
                    .server, "s3://\(bucket)/\(key): completing the upload failed: \(XMLText.value("Message", in: answer) ?? answer)",
                    code: XMLText.value("Code", in: answer))
            }
            // Servers may not apply the retention asked for at the start of the upload (Ceph's gateway does not):
            // set it on the object too.
            if let retainDays { try await putRetention(bucket: bucket, key: key, days: retainDays, now: now) }
            // The complete call's own ETag is not to be trusted (Ceph's gateway sends an empty one): ask.
            let expected = hexString(SigV4.digest(digests, EVP_md5())) + "-\(parts.count)"
            guard let object = try await headObject(bucket: bucket, key: key), object.etag == expected,
                object.size == Int64(body.count)
            else {
                throw S3Error(
                    .integrity, "s3://\(bucket)/\(key): after the upload the object is not the \(parts.count) parts sent")
            }
            return expected
        } catch {
            _ = try? await send("DELETE", bucket: bucket, key: key, query: [("uploadId", uploadID)])
            throw error
        }
    }

    /// Locks the object's current version in COMPLIANCE mode for `days` from `now` (PutObjectRetention).
    public func putRetention(bucket: String, key: String, days: Int, now: Date = Date()) async throws(S3Error) {
        let until = Self.iso8601(now.addingTimeInterval(TimeInterval(days) * 86_400))
        let body = Array(
            "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>\(until)</RetainUntilDate></Retention>".utf8)
        _ = try await send(
            "PUT", bucket: bucket, key: key, query: [("retention", "")],
            headers: [("Content-MD5", Data(SigV4.digest(body, EVP_md5())).base64EncodedString())], body: body)
    }

    /// The object's bytes, or those of `range` (byte offsets, end exclusive).
    public func getObject(bucket: String, key: String, range: Range<Int64>? = nil) async throws(S3Error) -> [UInt8] {
        var headers: [(String, String)] = []
        if let range {
            guard !range.isEmpty else { return [] }
            headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)"))
        }
        let (data, _) = try await send("GET", bucket: bucket, key: key, headers: headers)
        if let range, data.count != range.count {
            throw S3Error(
                .integrity, "s3://\(bucket)/\(key): asked for \(range.count) bytes at \(range.lowerBound), got \(data.count)")
        }
        return [UInt8](data)
    }

    /// The object's size, ETag and retention, or nil when there is no such object.
    public func headObject(bucket: String, key: String) async throws(S3Error) -> S3Object? {
        do {
            let (_, response) = try await send("HEAD", bucket: bucket, key: key)
            return S3Object(
                key: key, size: Int64(response.value(forHTTPHeaderField: "Content-Length") ?? "") ?? 0,
                etag: Self.unquoted(response.value(forHTTPHeaderField: "ETag") ?? ""),
                retainUntil: response.value(forHTTPHeaderField: "x-amz-object-lock-retain-until-date"),
                versionID: response.value(forHTTPHeaderField: "x-amz-version-id"))
        } catch where error.kind == .notFound {
            return nil
        }
    }

    /// Deletes the object: without `versionID`, on a versioned bucket, a delete marker hides it (the data stays);
    /// with it, that version for good, which the server refuses while the version is under retention.
    public func deleteObject(bucket: String, key: String, versionID: String? = nil) async throws(S3Error) {
        _ = try await send("DELETE", bucket: bucket, key: key, query: versionID.map { [("versionId", $0)] } ?? [])
    }

    /// A URL that lets whoever holds it GET the object for `expires` seconds, without credentials.
    public func presignedGetURL(bucket: String, key: String, expires: Int = 3600) throws(S3Error) -> URL {
        let (url, host) = try address(bucket: bucket, key: key, query: [])
        let request = SigV4.Request(
            method: "GET", path: "/\(bucket)/\(key)", headers: [("Host", host)], payloadHash: "UNSIGNED-PAYLOAD")
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        components?.percentEncodedQuery = signer.presignedQuery(request, amzDate: Self.amzDate(Date()), expires: expires)
        guard let presigned = components?.url else { throw S3Error(.invalidArgument, "bad endpoint \(endpoint)") }
        return presigned
    }

    /// Every object whose key starts with `prefix`, in key order (ListObjectsV2, page by page).
    public func listObjects(bucket: String, prefix: String) async throws(S3Error) -> [S3Object] {
        var objects: [S3Object] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let (data, _) = try await send("GET", bucket: bucket, query: query)
            let xml = String(decoding: data, as: UTF8.self)
            for entry in XMLText.elements("Contents", in: xml) {
                guard let key = XMLText.value("Key", in: entry) else { continue }
                objects.append(
                    S3Object(
                        key: key, size: Int64(XMLText.value("Size", in: entry) ?? "") ?? 0,
                        etag: Self.unquoted(XMLText.value("ETag", in: entry) ?? ""), retainUntil: nil, versionID: nil))
            }
            token = XMLText.value("IsTruncated", in: xml) == "true" ? XMLText.value("NextContinuationToken", in: xml) : nil
        } while token != nil
        return objects
    }

    /// Every version and delete marker of the objects whose keys start with `prefix` (ListObjectVersions, page by
    /// page), newest version of each key first.
    public func listObjectVersions(bucket: String, prefix: String) async throws(S3Error) -> [S3ObjectVersion] {
        var versions: [S3ObjectVersion] = []
        var marker: (key: String, version: String)?
        repeat {
            var query: [(name: String, value: String)] = [("prefix", prefix), ("versions", "")]
            if let marker { query += [("key-marker", marker.key), ("version-id-marker", marker.version)] }
            let (data, _) = try await send("GET", bucket: bucket, query: query)
            let xml = String(decoding: data, as: UTF8.self)
            for (element, isDeleteMarker) in [("Version", false), ("DeleteMarker", true)] {
                for entry in XMLText.elements(element, in: xml) {
                    guard let key = XMLText.value("Key", in: entry), let id = XMLText.value("VersionId", in: entry)
                    else { continue }
                    versions.append(S3ObjectVersion(key: key, versionID: id, isDeleteMarker: isDeleteMarker))
                }
            }
            marker = nil
            if XMLText.value("IsTruncated", in: xml) == "true", let key = XMLText.value("NextKeyMarker", in: xml) {
                marker = (key, XMLText.value("NextVersionIdMarker", in: xml) ?? "")
            }
        } while marker != nil
        return versions
    }

    // MARK: Requests

    /// Sends one signed request; a non-2xx answer becomes an ``S3Error`` with S3's code and message.
    func send(
        _ method: String, bucket: String, key: String? = nil, query: [(name: String, value: String)] = [],
        headers extra: [(String, String)] = [], body: [UInt8] = []
    ) async throws(S3Error) -> (Data, HTTPURLResponse) {
        let path = "/" + bucket + (key.map { "/" + $0 } ?? "")
        let (url, hostHeader) = try address(bucket: bucket, key: key, query: query)
        let amzDate = Self.amzDate(Date())
        let payloadHash = SigV4.hexSHA256(body)
        var headers: [(name: String, value: String)] = [
            ("Host", hostHeader), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash),
        ]
        headers += extra.map { (name: $0.0, value: $0.1) }
        let request = SigV4.Request(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash)
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = method
        for (name, value) in signer.signedHeaders(request, amzDate: amzDate) where name != "Host" {
            urlRequest.setValue(value, forHTTPHeaderField: name)
        }
        if !body.isEmpty || method == "PUT" { urlRequest.httpBody = Data(body) }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: urlRequest)
        } catch {
            throw S3Error(.network, "\(method) \(url.absoluteString): \(error.localizedDescription)")
        }
        guard let http = response as? HTTPURLResponse else {
            throw S3Error(.server, "\(method) \(url.absoluteString): not an HTTP response")
        }
        guard (200..<300).contains(http.statusCode) else {
            throw Self.error(method: method, location: "s3://\(bucket)" + (key.map { "/" + $0 } ?? ""), http, data)
        }
        return (data, http)
    }

    /// The URL of a path-style request and its `Host` header.
    private func address(bucket: String, key: String?, query: [(name: String, value: String)]) throws(S3Error)
        -> (URL, String)
    {
        let path = "/" + bucket + (key.map { "/" + $0 } ?? "")
        let encodedPath = path.split(separator: "/", omittingEmptySubsequences: false)
            .map { SigV4.uriEncode(String($0)) }.joined(separator: "/")
        let queryText = SigV4.canonicalQuery(query)
        guard var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) else {
            throw S3Error(.invalidArgument, "bad endpoint \(endpoint)")
        }
        components.percentEncodedPath = encodedPath
        components.percentEncodedQuery = queryText.isEmpty ? nil : queryText
        guard let url = components.url, let host = endpoint.host else {
            throw S3Error(.invalidArgument, "bad endpoint \(endpoint)")
        }
        return (url, endpoint.port.map { "\(host):\($0)" } ?? host)
    }

    static func error(method: String, location: String, _ response: HTTPURLResponse, _ data: Data) -> S3Error {
        let xml = String(decoding: data, as: UTF8.self)
        let code = XMLText.value("Code", in: xml)
        let detail = XMLText.value("Message", in: xml).flatMap { $0.isEmpty ? nil : $0 }
        let status = response.statusCode
        let kind: S3Error.Kind
        switch (status, code) {
        case (_, "InvalidAccessKeyId"), (_, "SignatureDoesNotMatch"), (_, "ExpiredToken"), (_, "InvalidToken"):
            kind = .credentials
        case (_, "NoSuchBucket"), (_, "NoSuchKey"), (404, _): kind = .notFound
        case (_, "BadDigest"), (_, "XAmzContentSHA256Mismatch"): kind = .integrity
        case (500..., _): kind = .server
        case (403, _) where code != "AccessDenied": kind = .credentials
        default: kind = .refused
        }
        var message = "\(method) \(location): "
        switch kind {
        case .credentials: message += "the server refused the credentials; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        case .notFound: message += code == "NoSuchBucket" ? "no such bucket" : "not found"
        default: message += detail ?? HTTPURLResponse.localizedString(forStatusCode: status)
        }
        return S3Error(kind, message, code: code, status: status)
    }

    // MARK: Helpers

    /// COMPLIANCE retention for `retainDays` from `now`, or none.
    static func lockHeaders(_ retainDays: Int?, _ now: Date) -> [(String, String)] {
        guard let retainDays else { return [] }
        let until = now.addingTimeInterval(TimeInterval(retainDays) * 86_400)
        return [("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", iso8601(until))]
    }

    static func unquoted(_ etag: String) -> String {
        etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count >= 2 ? String(etag.dropFirst().dropLast()) : etag
    }

    /// `20150830T123600Z`.
    static func amzDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// `2026-12-29T20:00:00Z`.
    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// The little XML reading S3's answers need: the text of the first element with a name, and every element with a
/// name (S3's XML has no attributes on these and no nesting of same-named elements).
enum XMLText {
    static func elements(_ name: String, in xml: String) -> [Substring] {
        var found: [Substring] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            found.append(rest[open.upperBound..<close.lowerBound])
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func value(_ name: String, in xml: some StringProtocol) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        return unescaped(String(xml[open.upperBound..<close.lowerBound]))
    }

    static func unescaped(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }
}
