#if canImport(Glibc)
    import Glibc
#endif

/// The comparison as a text table and as JSON.
public struct Report {
    public let comparison: Comparison

    public init(comparison: Comparison) {
        self.comparison = comparison
    }

    public var table: String {
        let header = ["workload", "unit", "swift-audit-log", "SQLite", "ratio", "limit", "% of limit"]
        var rows = [header]
        for r in comparison.results {
            rows.append([
                r.title, r.unit, format(r.auditlog), r.sqlite.map(format) ?? "-",
                r.ratio.map { format($0) + "x" } ?? "-", r.limit.map(format) ?? "-",
                r.percentOfLimit.map { format($0) + "%" } ?? "-",
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column < 2 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        var out = [line(rows[0]), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.dropFirst().map(line)
        let l = comparison.limits
        out.append("")
        out.append("\(grouped(Int64(comparison.events))) events; \(machine)")
        out.append(
            "limits (one core, same data): LZ4 compress \(format(l.lz4CompressMBps)) MB/s (ratio "
                + "\(format(l.lz4Ratio))), decompress \(format(l.lz4DecompressMBps)) MB/s; SHA-256 "
                + "\(format(l.sha256MBps)) MB/s (\(l.sha256Path), two leaves at a time; EVP "
                + "\(format(l.sha256EVPMBps)) MB/s); write+fdatasync \(format(l.syncedWriteMBps)) MB/s; memcpy "
                + "\(format(l.memcpyMBps)) MB/s")
        out.append(
            "ratio: times better than SQLite (throughput: log/SQLite; time and size: SQLite/log). "
                + "ingest limit: 1/(LZ4+SHA-256 time per record); export limit: memcpy; verify limit: SHA-256 x jobs; "
                + "storage limit: LZ4 alone on the records")
        return out.joined(separator: "\n")
    }

    public var json: String {
        func number(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "null" }
            return String(value)
        }
        let workloads = comparison.results.map { r in
            "    {\"name\": \"\(r.name)\", \"unit\": \"\(r.unit)\", \"auditlog\": \(number(r.auditlog)), "
                + "\"sqlite\": \(number(r.sqlite)), \"limit\": \(number(r.limit)), "
                + "\"higherIsBetter\": \(r.higherIsBetter)}"
        }
        let l = comparison.limits
        return """
            {
              "events": \(comparison.events),
              "machine": "\(machine)",
              "limits": {"lz4CompressMBps": \(number(l.lz4CompressMBps)), "lz4DecompressMBps": \(number(l.lz4DecompressMBps)), \
            "lz4Ratio": \(number(l.lz4Ratio)), "sha256MBps": \(number(l.sha256MBps)), "sha256Path": "\(l.sha256Path)", \
            "sha256EVPMBps": \(number(l.sha256EVPMBps)), \
            "syncedWriteMBps": \(number(l.syncedWriteMBps)), "memcpyMBps": \(number(l.memcpyMBps))},
              "workloads": [
            \(workloads.joined(separator: ",\n"))
              ]
            }

            """
    }

    /// CPU model and core count, from /proc/cpuinfo.
    public var machine: String {
        guard let file = fopen("/proc/cpuinfo", "r") else { return "unknown machine" }
        defer { fclose(file) }
        var model = "unknown CPU"
        var cores = 0
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            if text.hasPrefix("processor") { cores += 1 }
            if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                model = text[text.index(after: colon)...].trimmingCharacters()
            }
        }
        free(line)
        return "\(cores) cores, \(model)"
    }
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\n" || $0 == "\t" }.reversed())
    }
}
