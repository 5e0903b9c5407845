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
        switch format {
        case .jsonLines, .ocsf, .ecs: break
        case .jsonArray: out.append(UInt8(ascii: "["))
        case .csv:
            for (i, column) in Self.csvColumns.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += Array(column.utf8)
            }
            out += [0x0D, 0x0A]
        }
    }

    public mutating func append(_ stored: StoredEvent, to out: inout [UInt8]) {
        switch format {
        case .jsonLines, .jsonArray:
            var json: [UInt8] = []
            stored.appendJSON(to: &json)
            append(encoded: json, to: &out)
        case .csv:
            count += 1
            Self.appendCSVRow(stored, to: &out)
        case .ocsf, .ecs:
            var line: [UInt8] = []
            guard stored.withRecordFields({ appendSIEM($0, leafHash: stored.leafHash, to: &line) }) != nil else { return }
            append(encoded: line, to: &out)
        }
    }

    /// The entry of a stored record, without what separates entries (``append(encoded:to:)`` adds that): straight
    /// from the record's bytes for JSON, OCSF and ECS, the same bytes ``append(_:to:)`` writes for the decoded
    /// record. On failure (a record that would not decode) `out` is left as it was.
    mutating func encode(record: UnsafeRawBufferPointer, using hasher: MerkleHasher, to out: inout [UInt8])
        throws(DecodeFailure)
    {
        switch format {
        case .jsonLines, .jsonArray:
            try RecordJSON.append(record, using: hasher, to: &out)
        case .csv:
            Self.appendCSVRow(try RecordCodec.decode(record, into: StoredEvent.self, using: hasher), to: &out)
        case .ocsf, .ecs:
            appendSIEM(try RecordFields(record), leafHash: RecordCodec.leafHash(of: record, using: hasher), to: &out)
        }
    }

    /// Appends an entry from ``encode(record:using:to:)`` with what separates it from the previous one.
    mutating func append(encoded entry: [UInt8], to out: inout [UInt8]) {
        defer { count += 1 }
        if format == .jsonArray {
            if count > 0 { out.append(UInt8(ascii: ",")) }
            out.append(0x0A)
        }
        out.append(contentsOf: entry)
        if format == .jsonLines || format == .ocsf || format == .ecs { out.append(0x0A) }
    }

    private mutating func appendSIEM(_ fields: RecordFields, leafHash: SHA256Hash, to out: inout [UInt8]) {
        if format == .ocsf {
            SIEMEncoder.appendOCSF(fields, leafHash: leafHash, mapping: mapping, cache: &profiles, to: &out)
        } else {
            SIEMEncoder.appendECS(fields, leafHash: leafHash, mapping: mapping, cache: &profiles, to: &out)
        }
    }

    /// What comes after the last event: `]` of a JSON array.
    public func appendFooter(to out: inout [UInt8]) {
        if format == .jsonArray { out += Array((count > 0 ? "\n]\n" : "]\n").utf8) }
    }

    private static func appendCSVRow(_ stored: StoredEvent, to out: inout [UInt8]) {
        let e = stored.event
        func cell(_ value: String?) {
            if let value { appendCSVCell(value, to: &out) }
            out.append(UInt8(ascii: ","))
        }
        // Cells that can never need quoting or neutralizing are written directly.
        out += Array(String(stored.seq).utf8)
        out.append(UInt8(ascii: ","))
        cell(e.id)
        RFC3339.append(milliseconds: e.timestamp.millisecondsSinceEpoch, to: &out)
        out.append(UInt8(ascii: ","))
        cell(e.actor.type.rawValue)
        cell(e.actor.id)
        cell(e.actor.name)
        if let roles = e.actor.roles {
            var json: [UInt8] = [UInt8(ascii: "[")]
            for (i, role) in roles.enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(role, to: &json)
            }
            json.append(UInt8(ascii: "]"))
            json.withUnsafeBytes { appendCSVCell(bytes: $0, to: &out) }
        }
        out.append(UInt8(ascii: ","))
        for value in [
            e.actor.authMethod, e.action, e.resource.type, e.resource.id, e.resource.name, e.org?.id, e.org?.name,
            e.project?.id, e.project?.name, e.source, e.ip, e.userAgent, e.before?.text, e.after?.text,
            e.metadata?.text,
        ] {
            cell(value)
        }
        stored.leafHash.withUnsafeBytes { raw in
            for byte in raw {
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            }
        }
        out.append(UInt8(ascii: ","))
        if let redaction = stored.redaction {
            var json: [UInt8] = []
            redaction.appendJSON(to: &json)
            json.withUnsafeBytes { appendCSVCell(bytes: $0, to: &out) }
        }
        out += [0x0D, 0x0A]
    }

    /// One RFC 4180 cell. A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
    /// carriage return) gets a leading `'`, which spreadsheets show as text and do not evaluate.
    static func appendCSVCell(_ value: String, to out: inout [UInt8]) {
        var copy = value
        copy.withUTF8 { appendCSVCell(bytes: UnsafeRawBufferPointer($0), to: &out) }
    }

    static func appendCSVCell(bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let formula: Bool
        switch bytes.first {
        case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D: formula = true
        default: formula = false
        }
        let needsQuotes = bytes.contains {
            $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D
        }
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
        if formula { out.append(UInt8(ascii: "'")) }
        if needsQuotes {
            for byte in bytes {
                if byte == UInt8(ascii: "\"") { out.append(byte) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: bytes)
        }
    }
}
