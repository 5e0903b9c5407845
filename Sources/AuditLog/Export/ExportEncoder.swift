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

    /// One CSV row of a record's fields (``csvColumns``), CRLF-terminated.
    private static func appendCSVRow(_ f: RecordFields, leafHash: SHA256Hash, to out: inout some ByteOutput) {
        func cell(_ value: UnsafeRawBufferPointer?) {
            if let value { appendCSVCell(bytes: value, to: &out) }
            out.append(UInt8(ascii: ","))
        }
        // Cells that can never need quoting or neutralizing are written directly.
        JSONWriter.appendDecimal(f.seq, to: &out)
        out.append(UInt8(ascii: ","))
        cell(f.id)
        RFC3339.append(milliseconds: f.timestamp, to: &out)
        out.append(UInt8(ascii: ","))
        appendCSVCell(f.actorType.rawValue, to: &out)
        out.append(UInt8(ascii: ","))
        cell(f.actorID)
        cell(f.actorName)
        if f.hasRoles {
            var json: [UInt8] = [UInt8(ascii: "[")]
            f.forEachRole { role in
                if json.count > 1 { json.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(role, to: &json)
            }
            json.append(UInt8(ascii: "]"))
            json.withUnsafeBytes { appendCSVCell(bytes: $0, to: &out) }
        }
        out.append(UInt8(ascii: ","))
        cell(f.authMethod)
        cell(f.action)
        cell(f.resourceType)
        cell(f.resourceID)
        cell(f.resourceName)
        cell(f.orgID)
        cell(f.orgName)
        cell(f.projectID)
        cell(f.projectName)
        cell(f.source)
        cell(f.ip)
        cell(f.userAgent)
        cell(f.before)
        cell(f.after)
        cell(f.metadata)
        leafHash.appendHex(to: &out)
        out.append(UInt8(ascii: ","))
        if let redaction = f.redaction {
            var json: [UInt8] = []
            redaction.appendJSON(to: &json)
            json.withUnsafeBytes { appendCSVCell(bytes: $0, to: &out) }
        }
        out.append("\r\n")
    }

    /// One RFC 4180 cell. A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
    /// carriage return) gets a leading `'`, which spreadsheets show as text and do not evaluate.
    static func appendCSVCell(_ value: String, to out: inout some ByteOutput) {
        var copy = value
        copy.withUTF8 { appendCSVCell(bytes: UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Written in one pass, eight bytes at a time, quotes doubled as they are copied; the rare cell that turns out
    /// to need quoting is then moved up one byte for the opening quote.
    static func appendCSVCell(bytes: UnsafeRawBufferPointer, to out: inout some ByteOutput) {
        let formula: Bool
        switch bytes.first {
        case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D: formula = true
        default: formula = false
        }
        let n = bytes.count
        // Room for the worst case (every byte a quote), the quotes around, `'`, and one word stored past the end.
        out.append(capacity: 2 * n + 3 + 8) { p in
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
    }

    /// 0x80 in each byte of `x` that is zero, 0 in every other byte (exact per byte: no carry crosses bytes).
    @inline(__always)
    private static func zeroBytes(_ x: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((x & low7) &+ low7) | x | low7)
    }
}
