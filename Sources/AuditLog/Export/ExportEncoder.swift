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
        var entry: [UInt8] = []
        if format == .jsonLines || format == .jsonArray {
            stored.appendJSON(to: &entry)
        } else {
            guard stored.withRecordFields({ encode($0, leafHash: stored.leafHash, to: &entry) }) != nil else {
                return
            }
        }
        append(encoded: entry, to: &out)
    }

    /// The entry of a stored record's fields, without what separates entries (``append(encoded:to:)`` adds that):
    /// straight from the record's bytes, the same bytes ``append(_:to:)`` writes for the decoded record.
    mutating func encode(_ fields: RecordFields, leafHash: SHA256Hash, to out: inout [UInt8]) {
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
    }

    /// Appends an entry from ``encode(_:leafHash:to:)`` with what separates it from the previous one.
    mutating func append(encoded entry: [UInt8], to out: inout [UInt8]) {
        defer { count += 1 }
        if format == .jsonArray {
            if count > 0 { out.append(UInt8(ascii: ",")) }
            out.append(0x0A)
        }
        out.append(contentsOf: entry)
        if format == .jsonLines || format == .ocsf || format == .ecs { out.append(0x0A) }
    }

    /// What comes after the last event: `]` of a JSON array.
    public func appendFooter(to out: inout [UInt8]) {
        if format == .jsonArray { out += Array((count > 0 ? "\n]\n" : "]\n").utf8) }
    }

    /// One CSV row of a record's fields (``csvColumns``), CRLF-terminated.
    private static func appendCSVRow(_ f: RecordFields, leafHash: SHA256Hash, to out: inout [UInt8]) {
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
