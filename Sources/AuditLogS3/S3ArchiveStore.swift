import AuditLog
import Dispatch
import Foundation

/// An S3 bucket and prefix as the archive of logs (``ArchiveStore``): objects are `PREFIX/<log id>/<file name>`.
public struct S3ArchiveStore: ArchiveStore {
    public let client: S3Client
    public let bucket: S3Location
    /// Objects larger than this are uploaded in parts of ``partSize`` (multipart upload).
    public var multipartThreshold = 16 << 20
    public var partSize = 8 << 20

    public init(client: S3Client, location: S3Location) {
        self.client = client
        bucket = location
    }

    /// The store at `s3://BUCKET/PREFIX`, with the client and credentials of the standard environment variables
    /// (``S3Client/fromEnvironment(_:)``).
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(S3Error) {
        self.init(client: try S3Client.fromEnvironment(environment), location: try S3Location(parsing: url))
    }

    public var location: String { bucket.description }

    /// Makes stores from their address (`s3://BUCKET/PREFIX`) with credentials from the environment, for
    /// ``ArchiveStores/setResolver(_:)``: a bad address is ``AuditLogError/Code/invalidArgument``, missing
    /// credentials ``AuditLogError/Code/archiveRefused``.
    public static func resolve(_ url: String) throws(AuditLogError) -> any ArchiveStore {
        do throws(S3Error) {
            return try S3ArchiveStore(url: url)
        } catch {
            throw AuditLogError(error.kind == .invalidArgument ? .invalidArgument : .archiveRefused, error.message)
        }
    }

    public func put(_ key: String, bytes: [UInt8], retainDays: Int?) throws(ArchiveStoreError) {
        let (client, name, objectKey) = (client, bucket.bucket, bucket.key(key))
        let partSize = bytes.count > multipartThreshold ? partSize : nil
        try blocking { () async throws(S3Error) in
            if let partSize {
                try await client.putObjectInParts(
                    bucket: name, key: objectKey, body: bytes, partSize: partSize, retainDays: retainDays)
            } else {
                try await client.putObject(bucket: name, key: objectKey, body: bytes, retainDays: retainDays)
            }
            // The ETag matched the MD5 of what was sent (of each part), and the server checked the signed SHA-256
            // of the body; the object must also be there, whole, and locked when asked.
            guard let object = try await client.headObject(bucket: name, key: objectKey),
                object.size == Int64(bytes.count)
            else {
                throw S3Error(.integrity, "s3://\(name)/\(objectKey): not there with \(bytes.count) bytes after the upload")
            }
            if retainDays != nil && object.retainUntil == nil {
                throw S3Error(
                    .refused,
                    "s3://\(name)/\(objectKey): stored without the object lock asked for (is Object Lock enabled on the bucket?)"
                )
            }
        }
    }

    public func get(_ key: String, range: Range<Int64>?) throws(ArchiveStoreError) -> [UInt8]? {
        let (client, name, objectKey) = (client, bucket.bucket, bucket.key(key))
        return try blocking { () async throws(S3Error) -> [UInt8]? in
            do throws(S3Error) {
                return try await client.getObject(bucket: name, key: objectKey, range: range)
            } catch where error.kind == .notFound {
                return nil
            }
        }
    }

    public func list(prefix: String) throws(ArchiveStoreError) -> [ArchivedObject] {
        let (client, name, full) = (client, bucket.bucket, bucket.key(prefix))
        let base = bucket.prefix.isEmpty ? 0 : bucket.prefix.utf8.count + 1
        return try blocking { () async throws(S3Error) -> [ArchivedObject] in
            try await client.listObjects(bucket: name, prefix: full).map {
                ArchivedObject(
                    key: String($0.key.utf8.dropFirst(base))!, size: $0.size, retainUntil: $0.retainUntil, etag: $0.etag)
            }
        }
    }

    public func head(_ key: String) throws(ArchiveStoreError) -> ArchivedObject? {
        let (client, name, objectKey) = (client, bucket.bucket, bucket.key(key))
        return try blocking { () async throws(S3Error) -> ArchivedObject? in
            try await client.headObject(bucket: name, key: objectKey).map {
                ArchivedObject(key: key, size: $0.size, retainUntil: $0.retainUntil, etag: $0.etag)
            }
        }
    }

    public func delete(_ key: String) throws(ArchiveStoreError) {
        let (client, name, objectKey) = (client, bucket.bucket, bucket.key(key))
        try blocking { () async throws(S3Error) in
            // Every version and delete marker of exactly this key (a bucket without versioning lists one, "null").
            for version in try await client.listObjectVersions(bucket: name, prefix: objectKey)
            where version.key == objectKey {
                try await client.deleteObject(bucket: name, key: objectKey, versionID: version.versionID)
            }
        }
    }

    /// Runs an async request to completion on the calling thread, which must not be one of Swift concurrency's
    /// (``ArchiveStore`` is called from the log's background thread and from command-line tools).
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws(S3Error) -> T)
        throws(ArchiveStoreError) -> T
    {
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do throws(S3Error) {
                outcome.set(.success(try await body()))
            } catch {
                outcome.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        switch outcome.get()! {
        case .success(let value): return value
        case .failure(let error): throw ArchiveStoreError(error.archiveKind, error.description)
        }
    }
}

/// A result handed from a task to the thread waiting for it.
private final class Outcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, S3Error>?

    func set(_ value: Result<T, S3Error>) { lock.withLock { result = value } }
    func get() -> Result<T, S3Error>? { lock.withLock { result } }
}

extension S3Error {
    /// Whether trying again may help (the server could not be reached, failed, or answered with other bytes than
    /// sent) or not (credentials, a missing bucket, a refusal such as a locked object).
    var archiveKind: ArchiveStoreError.Kind {
        switch kind {
        case .network, .server: .unavailable
        case .integrity: .integrity
        case .invalidArgument, .credentials, .notFound, .refused: .refused
        }
    }
}
