#if canImport(Glibc)
    import Glibc
#endif

/// Streams events as JSON Lines, a JSON array, CSV, OCSF or ECS, one event at a time into a byte buffer, so
/// exports run in constant memory (FORMAT.md, "Exports" and "SIEM formats").
public struct ExportEncoder: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case jsonLines = "jsonl"
        case jsonArray = "json"
        case csv
        /// One OCSF 1.5 event per line.
        case ocsf
        /// One Elastic Common Schema document per line.
        case ecs
    }

    /// CSV columns, in order. Nested values (`actor.roles`, `before`, `after`, `metadata`, `redacted`) are JSON
    /// text cells.
    public static let csvColumns = [
        "seq", "id", "timestamp", "actor.type", "actor.id", "actor.name", "actor.roles", "actor.authMethod", "action",
        "resource.type", "resource.id", "resource.name", "org.id", "org.name", "project.id", "project.name", "source",
        "ip", "userAgent", "before", "after", "metadata", "leafHash", "redacted",
    ]

    public let format: Format
    /// The OCSF classes and ECS categories of events (``Format/ocsf`` and ``Format/ecs``).
    public let mapping: SIEMMapping
    private var count = 0
    private var profiles = SIEMEncoder.ProfileCache()

    public init(format: Format, mapping: SIEMMapping = SIEMMapping()) {
        self.format = format
        self.mapping = mapping
    }

    /// What comes before the first event: the CSV header row, or `[` of a JSON array.
    public func appendHeader(to out: inout [UInt8]) {
        header(to: &out)
    }

    func header(to out: inout some ByteOutput) {
        switch format {
        case .jsonLines, .ocsf, .ecs: break
        case .jsonArray: out.append(UInt8(ascii: "["))
        case .csv:
            for (i, column) in Self.csvColumns.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                var name = column
                name.withUTF8 { out.append(bytes: UnsafeRawBufferPointer($0)) }
            }
            out.append("\r\n")
        }
    }

    /// Appends the entry of a decoded event, with what separates it from the previous one.
    public mutating func append(_ stored: StoredEvent, to out: inout [UInt8]) {
        if format == .jsonLines || format == .jsonArray {
            startEntry(&out)
            stored.appendJSON(to: &out)
            endEntry(&out)
        } else {
            var entry = ByteBuffer()
            guard stored.withRecordFields({ append($0, leafHash: stored.leafHash, to: &entry) }) != nil else { return }
            entry.withUnsafeBytes { out.append(bytes: $0) }
        }
    }

    /// Appends the entry of a stored record's fields, with what separates it from the previous one: straight from
    /// the record's bytes, the same bytes ``append(_:to:)`` writes for the decoded record.
    mutating func append(_ fields: RecordFields, leafHash: SHA256Hash, to out: inout ByteBuffer) {
        startEntry(&out)
        switch format {
        case .jsonLines, .jsonArray:
            RecordJSON.append(fields, leafHash: leafHash, to: &out)
        case .csv:
            Self.appendCSVRow(fields, leafHash: leafHash, to: &out)
        case .ocsf:
            SIEMEncoder.appendOCSF(fields, leafHash: leafHash, mapping: mapping, cache: &profiles, to: &out)
        case .ecs:
            SIEMEncoder.appendECS(fields, leafHash: leafHash, mapping: mapping, cache: &profiles, to: &out)
        }
        endEntry(&out)
    }

    /// Sets how many entries count as written before the next: for a second encoder of the same export, whose
    /// entries never come first. Only separators and the footer of a JSON array depend on the count.
    mutating func resetCount(to count: Int) {
        self.count = count
    }

    private func startEntry(_ out: inout some ByteOutput) {
        if format == .jsonArray { out.append(count > 0 ? ",\n" : "\n") }
    }

    private mutating func endEntry(_ out: inout some ByteOutput) {
        count += 1
        if format == .jsonLines || format == .ocsf || format == .ecs { out.append(0x0A) }
    }

    /// What comes after the last event: `]` of a JSON array.
    public func appendFooter(to out: inout [UInt8]) {
        footer(to: &out)
    }

    func footer(to out: inout some ByteOutput) {
        if format == .jsonArray { out.append(count > 0 ? "\n]\n" : "]\n") }
    }

    /// One CSV row of a record's fields (``csvColumns``), CRLF-terminated: room for the worst case is made once,
    /// then the cells are stored one after the other.
    private static func appendCSVRow(_ f: RecordFields, leafHash: SHA256Hash, to out: inout some ByteOutput) {
        // The two JSON cells built from parts (rare: roles and redaction) are made first.
        var roles: [UInt8]?
        if f.hasRoles {
            var json: [UInt8] = [UInt8(ascii: "[")]
            f.forEachRole { role in
                if json.count > 1 { json.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(role, to: &json)
            }
            json.append(UInt8(ascii: "]"))
            roles = json
        }
        var redaction: [UInt8]?
        if let redacted = f.redaction {
            var json: [UInt8] = []
            redacted.appendJSON(to: &json)
            redaction = json
        }
        func size(_ text: UnsafeRawBufferPointer?) -> Int { text?.count ?? 0 }
        var textBytes = (roles?.count ?? 0) + (redaction?.count ?? 0) + f.id.count + f.actorID.count
        textBytes += size(f.actorName) + size(f.authMethod) + f.action.count + f.resourceType.count
        textBytes += f.resourceID.count + size(f.resourceName) + size(f.orgID) + size(f.orgName)
        textBytes += size(f.projectID) + size(f.projectName) + size(f.source) + size(f.ip) + size(f.userAgent)
        textBytes += size(f.before) + size(f.after) + size(f.metadata)
        // Every cell at worst doubles and gains two quotes and `'`, and a comma follows; seq, time, actor type and
        // hash have bounded sizes; one word may be stored past the end.
        let bound = 2 * textBytes + 4 * csvColumns.count + 20 + RFC3339.length + 2 * 8 + 64 + 2 + 8
        out.append(capacity: bound) { p in
            // Cells go through `cell` with the offset passed inout: a nested function capturing it made every
            // write a dynamic exclusivity check (`swift_beginAccess`, a quarter of the CSV profile).
            var o = DecimalDigits.store(f.seq, at: p)
            cell(nil, p, &o)
            cell(f.id, p, &o)
            RFC3339.store(milliseconds: f.timestamp, at: p + o)
            o += RFC3339.length
            cell(nil, p, &o)
            for byte in f.actorType.rawValue.utf8 {  // plain lowercase letters and `_`
                p[o] = byte
                o += 1
            }
            cell(nil, p, &o)
            cell(f.actorID, p, &o)
            cell(f.actorName, p, &o)
            if let roles {
                let start = o
                o += roles.withUnsafeBytes { storeCSVCell($0, at: p + start) }
            }
            cell(nil, p, &o)
            cell(f.authMethod, p, &o)
            cell(f.action, p, &o)
            cell(f.resourceType, p, &o)
            cell(f.resourceID, p, &o)
            cell(f.resourceName, p, &o)
            cell(f.orgID, p, &o)
            cell(f.orgName, p, &o)
            cell(f.projectID, p, &o)
            cell(f.projectName, p, &o)
            cell(f.source, p, &o)
            cell(f.ip, p, &o)
            cell(f.userAgent, p, &o)
            cell(f.before, p, &o)
            cell(f.after, p, &o)
            cell(f.metadata, p, &o)
            leafHash.withUnsafeBytes { HexDigits.store($0, at: p + o) }
            o += 64
            cell(nil, p, &o)
            if let redaction {
                let start = o
                o += redaction.withUnsafeBytes { storeCSVCell($0, at: p + start) }
            }
            p[o] = 0x0D
            p[o + 1] = 0x0A
            return o + 2
        }
    }

    /// Stores a cell (if any) and the comma after it at `p + o`, and moves `o` past them.
    @inline(__always)
    private static func cell(_ value: UnsafeRawBufferPointer?, _ p: UnsafeMutablePointer<UInt8>, _ o: inout Int) {
        if let value { o += storeCSVCell(value, at: p + o) }
        p[o] = UInt8(ascii: ",")
        o += 1
    }

    /// One RFC 4180 cell. A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
    /// carriage return) gets a leading `'`, which spreadsheets show as text and do not evaluate.
    static func appendCSVCell(bytes: UnsafeRawBufferPointer, to out: inout some ByteOutput) {
        // Room for the worst case (every byte a quote), the quotes around, `'`, and one word stored past the end.
        out.append(capacity: 2 * bytes.count + 3 + 8) { storeCSVCell(bytes, at: $0) }
    }

    /// Stores a cell at `p`, which must have room for twice its bytes and 11 more; returns the bytes it stored.
    /// Written in one pass, eight bytes at a time, quotes doubled as they are copied; the rare cell that turns out
    /// to need quoting is then moved up one byte for the opening quote.
    @inline(__always)
    private static func storeCSVCell(_ bytes: UnsafeRawBufferPointer, at p: UnsafeMutablePointer<UInt8>) -> Int {
        let formula: Bool
        switch bytes.first {
        case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D: formula = true
        default: formula = false
        }
        let n = bytes.count
        var o = 0
        if formula {
            p[0] = UInt8(ascii: "'")
            o = 1
        }
        var quoted = false
        /// Stores the eight bytes of `word`, `"` doubled.
        @inline(__always) func store(_ word: UInt64) {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let quotes = zeroBytes(word ^ (ones &* UInt64(UInt8(ascii: "\""))))
            let separators =
                zeroBytes(word ^ (ones &* UInt64(UInt8(ascii: ",")))) | zeroBytes(word ^ (ones &* 0x0A))
                | zeroBytes(word ^ (ones &* 0x0D))
            if quotes | separators != 0 { quoted = true }
            var done = 0  // bytes of `word` stored
            var m = quotes
            while m != 0 {
                let j = m.trailingZeroBitCount >> 3
                UnsafeMutableRawPointer(p + o).storeBytes(of: word >> (8 * UInt64(done)), as: UInt64.self)
                o += j + 1 - done
                p[o] = UInt8(ascii: "\"")
                o += 1
                done = j + 1
                m &= m - 1
            }
            UnsafeMutableRawPointer(p + o).storeBytes(of: word >> (8 * UInt64(done)), as: UInt64.self)
            o += 8 - done
        }
        var i = 0
        while i + 8 <= n {
            store(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i += 8
        }
        let rest = n - i
        if rest > 0 {
            // The last bytes in the low end of a word whose high bytes are zero, stored and then not counted.
            var last: UInt64 = 0
            if n >= 8 {
                last = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
                last >>= 8 * UInt64(8 - rest)
            } else {
                for k in 0..<rest { last |= UInt64(bytes[k]) << (8 * UInt64(k)) }
            }
            store(last)
            o -= 8 - rest
        }
        guard quoted else { return o }
        memmove(p + 1, p, o)
        p[0] = UInt8(ascii: "\"")
        p[o + 1] = UInt8(ascii: "\"")
        return o + 2
    }

    /// 0x80 in each byte of `x` that is zero, 0 in every other byte (exact per byte: no carry crosses bytes).
    @inline(__always)
    private static func zeroBytes(_ x: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((x & low7) &+ low7) | x | low7)
    }
}
