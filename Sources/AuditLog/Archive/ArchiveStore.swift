/// Object storage that sealed segments are archived to (FORMAT.md, "Archive"): an S3 bucket and prefix, for
/// example. The library defines what it needs and stays free of any network code; the `AuditLogS3` target
/// implements it over HTTP.
///
/// Calls block the calling thread until the store answers; the library calls them from its own background thread
/// or from a command-line tool, never from a Swift concurrency executor.
public protocol ArchiveStore: Sendable {
    /// Where the store puts objects, for messages: `s3://bucket/prefix`.
    var location: String { get }

    /// Stores `bytes` under `key` (relative to the store's prefix) and returns only once the store holds exactly
    /// these bytes: checked end to end (a checksum the store verifies, compared again on its answer), never on a
    /// success status alone. With `retainDays`, the object is locked against deletion and overwriting (S3 Object
    /// Lock, COMPLIANCE mode) for that many days.
    func put(_ key: String, bytes: [UInt8], retainDays: Int?) throws(ArchiveStoreError)

    /// The object's bytes (`range`: only those bytes), or nil when there is no such object.
    func get(_ key: String, range: Range<Int64>?) throws(ArchiveStoreError) -> [UInt8]?

    /// The objects whose keys start with `prefix` (relative to the store's prefix), in key order.
    func list(prefix: String) throws(ArchiveStoreError) -> [ArchivedObject]

    /// The object, with its retention date when it is locked, or nil when there is no such object.
    func head(_ key: String) throws(ArchiveStoreError) -> ArchivedObject?

    /// Removes the object for good: every version of it (on a versioned bucket a plain delete only hides it).
    /// - Throws: ``ArchiveStoreError/Kind/refused`` when a version is still under retention (object lock): the
    ///   store keeps it, whoever asks.
    func delete(_ key: String) throws(ArchiveStoreError)
}

extension ArchiveStore {
    /// ``get(_:range:)`` with a failure as ``AuditLogError`` naming the object (``AuditLogError/Code/archiveRefused``
    /// or ``AuditLogError/Code/archiveUnavailable``); nil when there is no such object.
    func fetch(_ key: String, range: Range<Int64>? = nil) throws(AuditLogError) -> [UInt8]? {
        do throws(ArchiveStoreError) {
            return try get(key, range: range)
        } catch {
            throw AuditLogError(archive: error, "cannot fetch \(location)/\(key)")
        }
    }
}

/// An object in an ``ArchiveStore``.
public struct ArchivedObject: Sendable, Equatable {
    /// The key, relative to the store's prefix.
    public var key: String
    public var size: Int64
    /// The end of its retention, as the store reports it (ISO 8601), when locked.
    public var retainUntil: String?
    /// The store's tag of the object's content (S3's ETag): changes when the object is replaced.
    public var etag: String?

    public init(key: String, size: Int64, retainUntil: String? = nil, etag: String? = nil) {
        self.key = key
        self.size = size
        self.retainUntil = retainUntil
        self.etag = etag
    }
}

/// Why an ``ArchiveStore`` call failed.
public struct ArchiveStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The store could not be reached, or failed on its side: trying again later may work.
        case unavailable
        /// The store refused the request (credentials, permissions, a missing bucket, a locked object): trying again
        /// will not help until something is changed.
        case refused
        /// The store answered with something other than what was stored or asked for.
        case integrity
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var isTransient: Bool { kind == .unavailable }
    public var description: String { message }
}
