import AuditLogTestSupport
import CCrypto
import Foundation
import Testing

@testable import AuditLogS3

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The S3 client against a real S3 server: Ceph's gateway, started by scripts/check-s3.sh (part of `make test`),
/// which sets AUDITLOG_TEST_S3, the AWS_* variables and AUDITLOG_TEST_AWS_CLI (the AWS CLI, an independent client).
/// Without it these tests do not run (plain `swift test`).
@Suite("S3 client against a real server", .enabled(if: ProcessInfo.processInfo.environment["AUDITLOG_TEST_S3"] == "1"))
struct S3ClientTests {
    let client: S3Client
    let bucket: String

    init() async throws {
        client = try S3Client.fromEnvironment()
        bucket = "client-" + UUID().uuidString.lowercased().prefix(12)
        try await client.createBucket(bucket, objectLock: true)
    }

    @Test("objects go in and come back whole: put, head, get, ranged get, list in pages, delete")
    func roundTrip() async throws {
        var random = SystemRandomNumberGenerator()
        let body = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let keys = ["log/seg 1.bin", "log/ünïcode+plus&amp.bin", "log/a/b/c.bin"]
        for key in keys { try await client.putObject(bucket: bucket, key: key, body: body) }
        for key in keys {
            #expect(try await client.getObject(bucket: bucket, key: key) == body)
            let head = try #require(try await client.headObject(bucket: bucket, key: key))
            #expect(head.size == Int64(body.count))
        }
        #expect(try await client.getObject(bucket: bucket, key: keys[0], range: 1000..<1100) == Array(body[1000..<1100]))
        #expect(try await client.headObject(bucket: bucket, key: "log/absent") == nil)
        // More objects than one page of a listing holds (1,000), listed in key order.
        let many = (0..<1005).map { String(format: "many/%05d", $0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: many.count, by: 100) {
                group.addTask {
                    for key in many[chunk..<min(chunk + 100, many.count)] {
                        try await client.putObject(bucket: bucket, key: key, body: [1])
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await client.listObjects(bucket: bucket, prefix: "many/").map(\.key) == many)
        #expect(Set(try await client.listObjects(bucket: bucket, prefix: "log/").map(\.key)) == Set(keys))
        try await client.deleteObject(bucket: bucket, key: keys[0])
        #expect(try await client.headObject(bucket: bucket, key: keys[0]) == nil)
    }

    @Test("what the client uploads, the AWS CLI reads back byte for byte, and a presigned URL serves it")
    func interoperates() async throws {
        let body = Array("an archived segment\n".utf8)
        try await client.putObject(bucket: bucket, key: "x/y.txt", body: body)
        let dir = try TemporaryDirectory()
        let out = dir.path + "/y.txt"
        let aws = ProcessInfo.processInfo.environment["AUDITLOG_TEST_AWS_CLI"] ?? "/usr/bin/aws"
        let result = try await runProcess(aws, ["s3", "cp", "--only-show-errors", "s3://\(bucket)/x/y.txt", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: out).map([UInt8].init) == body)

        let url = try client.presignedGetURL(bucket: bucket, key: "x/y.txt", expires: 60)
        let (data, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect([UInt8](data) == body)
        // The signature covers the key: the same query on another key is refused.
        var other = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        other.percentEncodedPath = "/\(bucket)/x/z.txt"
        let (_, refused) = try await URLSession.shared.data(from: other.url!)
        #expect((refused as? HTTPURLResponse)?.statusCode == 403)
    }

    @Test("a multipart upload comes back whole, with S3's ETag of its parts, locked when asked; the archive store uses it above its threshold")
    func multipart() async throws {
        var random = SystemRandomNumberGenerator()
        let body = (0..<(12 << 20) + 12_345).map { _ in UInt8.random(in: 0...255, using: &random) }
        let etag = try await client.putObjectInParts(bucket: bucket, key: "big/seg", body: body, partSize: 5 << 20)
        #expect(etag.hasSuffix("-3"))
        #expect(try await client.getObject(bucket: bucket, key: "big/seg") == body)
        #expect(try await client.getObject(bucket: bucket, key: "big/seg", range: 6_000_000..<6_000_100)
            == Array(body[6_000_000..<6_000_100]))
        try await client.putObjectInParts(bucket: bucket, key: "big/locked", body: body, partSize: 5 << 20, retainDays: 1)
        #expect(try await client.headObject(bucket: bucket, key: "big/locked")?.retainUntil != nil)
        // Parts below S3's 5 MiB minimum are refused before anything is sent.
        await #expect(throws: S3Error.self) {
            try await client.putObjectInParts(bucket: bucket, key: "big/small", body: body, partSize: 1 << 20)
        }
        // The archive store switches to parts above its threshold.
        var store = S3ArchiveStore(client: client, location: S3Location(bucket: bucket, prefix: "store"))
        store.multipartThreshold = 6 << 20
        store.partSize = 5 << 20
        try await Task.detached { try store.put("seg", bytes: body, retainDays: nil) }.value
        let object = try #require(try await client.headObject(bucket: bucket, key: "store/seg"))
        #expect(object.etag.hasSuffix("-3") && object.size == Int64(body.count))
    }

    @Test("a COMPLIANCE-locked version cannot be deleted, not even by its owner; a delete only hides it")
    func objectLock() async throws {
        try await client.putObject(bucket: bucket, key: "locked.bin", body: [1, 2, 3], retainDays: 1)
        let head = try #require(try await client.headObject(bucket: bucket, key: "locked.bin"))
        #expect(head.retainUntil != nil)
        let version = try #require(head.versionID)
        do {
            try await client.deleteObject(bucket: bucket, key: "locked.bin", versionID: version)
            Issue.record("the locked version was deleted")
        } catch {
            #expect(error.kind == .refused && error.code == "AccessDenied", "\(error)")
        }
        // A plain delete on a versioned bucket writes a delete marker; the locked version is still there.
        try await client.deleteObject(bucket: bucket, key: "locked.bin")
        #expect(try await client.headObject(bucket: bucket, key: "locked.bin") == nil)
        do {
            try await client.deleteObject(bucket: bucket, key: "locked.bin", versionID: version)
            Issue.record("the locked version was deleted after a delete marker")
        } catch {
            #expect(error.code == "AccessDenied", "\(error)")
        }
    }

    @Test("wrong credentials, a missing bucket, a body that does not match its digest and no server are clear errors")
    func errors() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_SECRET_ACCESS_KEY"] = "wrong" + (environment["AWS_SECRET_ACCESS_KEY"] ?? "")
        let wrong = try S3Client.fromEnvironment(environment)
        do {
            _ = try await wrong.listObjects(bucket: bucket, prefix: "")
            Issue.record("wrong credentials were accepted")
        } catch {
            #expect(error.kind == .credentials && error.code == "SignatureDoesNotMatch", "\(error)")
            #expect(error.description.contains("AWS_SECRET_ACCESS_KEY"))
            #expect(!error.description.contains(environment["AWS_SECRET_ACCESS_KEY"]!))
        }
        do {
            _ = try await client.getObject(bucket: "no-such-bucket-here", key: "k")
            Issue.record("a missing bucket answered")
        } catch {
            #expect(error.kind == .notFound && error.code == "NoSuchBucket", "\(error)")
        }
        do {
            _ = try await client.getObject(bucket: bucket, key: "absent")
            Issue.record("a missing key answered")
        } catch {
            #expect(error.kind == .notFound && error.code == "NoSuchKey", "\(error)")
        }
        // A body that is not the one its MD5 was computed from (as if changed on the way) is refused, not stored.
        do {
            let md5OfOther = Data(SigV4.digest([9, 9, 9], EVP_md5())).base64EncodedString()
            _ = try await client.send(
                "PUT", bucket: bucket, key: "damaged", headers: [("Content-MD5", md5OfOther)], body: [1, 2, 3])
            Issue.record("a body that does not match its Content-MD5 was stored")
        } catch {
            #expect(error.kind == .integrity && error.code == "BadDigest", "\(error)")
        }
        #expect(try await client.headObject(bucket: bucket, key: "damaged") == nil)

        environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "AWS_ACCESS_KEY_ID")
        #expect(throws: S3Error.self) { try S3Client.fromEnvironment(environment) }
        #expect(throws: S3Error.self) { try S3Location(parsing: "s3://No_Such") }
        #expect(try S3Location(parsing: "s3://bucket-1/a/b/").key("c") == "a/b/c")

        // Nothing listens on port 9 of 127.0.0.1.
        environment = ProcessInfo.processInfo.environment
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        do {
            _ = try await S3Client.fromEnvironment(environment).headObject(bucket: bucket, key: "k")
            Issue.record("a closed port answered")
        } catch {
            #expect(error.kind == .network && error.isTransient, "\(error)")
        }
    }
}
