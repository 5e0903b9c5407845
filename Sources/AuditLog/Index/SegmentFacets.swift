/// A field whose distinct values a log can list with their counts, without reading records: what the audit-log
/// page's multi-select filters offer.
public enum FacetField: String, CaseIterable, Sendable, Codable {
    case actor, action, resourceType, project, org, source
}

/// One distinct value of a ``FacetField`` and how many events carry it.
public struct FacetValue: Sendable, Equatable, Codable {
    /// The value: an actor, project or org id, an action, a resource type, a source.
    public var value: String
    public var count: UInt64
    /// For actors, projects and orgs: a name some event gave it.
    public var name: String?
    /// For actors: their type (`user`, `api_key`, `service`, `system`).
    public var kind: String?

    public init(value: String, count: UInt64, name: String? = nil, kind: String? = nil) {
        self.value = value
        self.count = count
        self.name = name
        self.kind = kind
    }
}

/// The distinct values of the facet fields in one segment, with counts, per org (FORMAT.md, "Indexes"): derived
/// data, written as `NNN.fct` for sealed segments, rebuilt from the records when missing or damaged.
struct SegmentFacets: Equatable, Sendable {
    struct Key: Hashable {
        var field: FacetField
        /// The event's `org.id`, empty when it has none.
        var org: String
        var value: String
    }

    struct Entry: Equatable {
        var count: UInt64 = 0
        var name: String?
        var kind: String?
    }

    var entries: [Key: Entry] = [:]
    /// Seqs covered: `[baseSeq, endSeq)`.
    var baseSeq: UInt64
    var endSeq: UInt64

    init(baseSeq: UInt64) {
        self.baseSeq = baseSeq
        endSeq = baseSeq
    }

    /// Adds the counts of another summary (names from the later one win).
    mutating func merge(_ other: SegmentFacets) {
        for (key, entry) in other.entries {
            var merged = entries[key, default: Entry()]
            merged.count += entry.count
            merged.name = entry.name ?? merged.name
            merged.kind = entry.kind ?? merged.kind
            entries[key] = merged
        }
        endSeq = max(endSeq, other.endSeq)
    }

    /// Counts the records of the blocks a walk reports until it ends (a sealed segment's footer, the end of what
    /// is written, or damage, which verify reports).
    mutating func add(walking walker: inout SegmentWalker) throws(AuditLogError) {
        var payload: [UInt8] = []
        var tally = FacetTally()
        defer { merge(tally.summary(baseSeq: baseSeq)) }
        while case .block(let header, let offset) = try walker.next() {
            var failure: DecodeFailure?
            do throws(DecodeFailure) {
                try walker.forEachRecord(header, payload: &payload) { (_, record) throws(DecodeFailure) in
                    tally.add(try RecordFields(record))
                }
            } catch {
                failure = error
            }
            if let failure {
                throw AuditLogError(
                    .corrupt, "block at seq \(header.firstSeq): \(failure.reason)", path: walker.file.path,
                    offset: offset)
            }
            endSeq = header.endSeq
        }
    }

    // MARK: The .fct file

    static let fileExtension = ".fct"
    static let magic: [UInt8] = Array("ALFC".utf8)
    static let headerSize = 32

    static func path(directory: String, baseSeq: UInt64) -> String {
        LogFiles.path(directory, LogFiles.name(baseSeq, fileExtension))
    }

    /// Header (magic, version 1, base and end seq, entry count, CRC-32C of the body), then per entry: field code,
    /// count, org, value, name and kind (varints and length-prefixed UTF-8; empty name or kind means none).
    func encode() -> [UInt8] {
        var body: [UInt8] = []
        let sorted = entries.sorted {
            ($0.key.field.rawValue, $0.key.org, $0.key.value) < ($1.key.field.rawValue, $1.key.org, $1.key.value)
        }
        for (key, entry) in sorted {
            body.append(UInt8(key.field.code))
            body.appendVarint(entry.count)
            body.appendLengthPrefixed(key.org)
            body.appendLengthPrefixed(key.value)
            body.appendLengthPrefixed(entry.name ?? "")
            body.appendLengthPrefixed(entry.kind ?? "")
        }
        var out = Self.magic
        out.appendLittleEndian(UInt16(1))
        out.appendLittleEndian(UInt16(0))
        out.appendLittleEndian(baseSeq)
        out.appendLittleEndian(endSeq)
        out.appendLittleEndian(UInt32(entries.count))
        out.appendLittleEndian(CRC32C.checksum(body))
        return out + body
    }

    /// A sealed segment's `.fct` file, if it is whole and covers exactly the segment (its footer's end seq); with
    /// `field`, only that field's entries.
    static func stored(_ segment: (baseSeq: UInt64, path: String), directory: String, only field: FacetField? = nil)
        -> SegmentFacets?
    {
        guard let facets = read(baseSeq: segment.baseSeq, directory: directory, only: field),
            endsAtFooter(segment, facets.endSeq)
        else { return nil }
        return facets
    }

    /// Whether a sealed segment has a whole `.fct` file covering exactly the segment (``stored(_:directory:only:)``
    /// without decoding its entries): what the writer's maintenance thread checks of every sealed segment at open.
    static func isStored(_ segment: (baseSeq: UInt64, path: String), directory: String) -> Bool {
        storedEnd(baseSeq: segment.baseSeq, directory: directory).map { endsAtFooter(segment, $0) } ?? false
    }

    /// Whether `segment` is sealed by a footer whose end seq is `endSeq`.
    private static func endsAtFooter(_ segment: (baseSeq: UInt64, path: String), _ endSeq: UInt64) -> Bool {
        guard let file = try? SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq),
            let footer = try? file.footer()
        else { return false }
        return footer.endSeq == endSeq
    }

    /// The `.fct` file of the segment at `baseSeq` if it is whole and undamaged, whatever it covers: a sealed
    /// segment's whole summary, or the active segment's as of the writer's last clean close.
    static func read(baseSeq: UInt64, directory: String, only field: FacetField? = nil) -> SegmentFacets? {
        guard let mapped = MappedFile(path: path(directory: directory, baseSeq: baseSeq)) else { return nil }
        return decode(mapped.bytes, baseSeq: baseSeq, only: field)
    }

    /// The end seq the `.fct` file of the segment at `baseSeq` covers, if it is whole and undamaged (its entries
    /// are not decoded).
    static func storedEnd(baseSeq: UInt64, directory: String) -> UInt64? {
        guard let mapped = MappedFile(path: path(directory: directory, baseSeq: baseSeq)) else { return nil }
        return checkedHeader(mapped.bytes, baseSeq: baseSeq)?.endSeq
    }

    /// A walk of the segment in `file` that goes on after the block ending at `endSeq` (where the active segment's
    /// summary stopped), started from the block index; nil if no block ends there.
    static func walker(resumingAfter endSeq: UInt64, in file: SegmentFile, directory: String) throws(AuditLogError)
        -> SegmentWalker?
    {
        guard endSeq > file.header.baseSeq else { return nil }
        var walker = try SegmentWalker(file: file, checking: .blocks, directory: directory, from: endSeq - 1)
        while case .block(let header, _) = try walker.next() {
            if header.endSeq == endSeq { return walker }
            if header.endSeq > endSeq { return nil }
        }
        return nil
    }

    /// The summary of a sealed segment, computed from its records.
    static func compute(_ segment: (baseSeq: UInt64, path: String)) throws(AuditLogError) -> SegmentFacets {
        var facets = SegmentFacets(baseSeq: segment.baseSeq)
        var walker = try SegmentWalker(
            file: SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq), checking: .blocks)
        try facets.add(walking: &walker)
        return facets
    }

    /// The summary in `bytes`, if they are a whole, undamaged `.fct` file for the segment at `baseSeq`; with
    /// `field`, only that field's entries (the others are stepped over without building their strings).
    static func decode(_ bytes: UnsafeRawBufferPointer, baseSeq: UInt64, only field: FacetField? = nil)
        -> SegmentFacets?
    {
        guard let (endSeq, count) = checkedHeader(bytes, baseSeq: baseSeq) else { return nil }
        var facets = SegmentFacets(baseSeq: baseSeq)
        facets.endSeq = endSeq
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[headerSize...]))
        do throws(DecodeFailure) {
            for _ in 0..<count {
                let code = Int(try r.readByte("field"))
                guard code < FacetField.allCases.count else { return nil }
                if let field, field.code != code {
                    _ = try r.readVarint("count")
                    _ = try r.readLengthPrefixed("org")
                    _ = try r.readLengthPrefixed("value")
                    _ = try r.readLengthPrefixed("name")
                    _ = try r.readLengthPrefixed("kind")
                    continue
                }
                let entryCount = try r.readVarint("count")
                let org = try r.readString("org")
                let value = try r.readString("value")
                let name = try r.readString("name")
                let kind = try r.readString("kind")
                facets.entries[Key(field: FacetField.allCases[code], org: org, value: value)] = Entry(
                    count: entryCount, name: name.isEmpty ? nil : name, kind: kind.isEmpty ? nil : kind)
            }
        } catch {
            return nil
        }
        return r.isAtEnd ? facets : nil
    }

    /// The end seq and entry count of a `.fct` file's bytes for the segment at `baseSeq`, if its header is valid
    /// and its body passes the checksum.
    private static func checkedHeader(_ bytes: UnsafeRawBufferPointer, baseSeq: UInt64) -> (
        endSeq: UInt64, count: UInt32
    )? {
        guard bytes.count >= headerSize, bytes.starts(with: magic),
            UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self)) == 1,
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) == baseSeq
        else { return nil }
        let endSeq = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        let count = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[headerSize...])) == crc, endSeq >= baseSeq
        else { return nil }
        return (endSeq, count)
    }
}
