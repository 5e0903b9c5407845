import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Exports")
struct ExportTests {
    /// A strict RFC 4180 parser: CRLF records, quoted fields with doubled quotes, no stray quotes.
    static func parseCSV(_ text: String) throws -> [[String]] {
        struct Malformed: Error { var at: Int }
        let bytes = Array(text.utf8)
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\"") && field.isEmpty {
                i += 1
                while true {
                    guard i < bytes.count else { throw Malformed(at: i) }
                    if bytes[i] == UInt8(ascii: "\"") {
                        if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                            field.append(UInt8(ascii: "\""))
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    field.append(bytes[i])
                    i += 1
                }
                guard i < bytes.count, bytes[i] == UInt8(ascii: ",") || bytes[i] == 0x0D else { throw Malformed(at: i) }
            }
            guard i < bytes.count else { throw Malformed(at: i) }
            switch bytes[i] {
            case UInt8(ascii: ","):
                row.append(String(decoding: field, as: UTF8.self))
                field = []
                i += 1
            case 0x0D:
                guard i + 1 < bytes.count, bytes[i + 1] == 0x0A else { throw Malformed(at: i) }
                row.append(String(decoding: field, as: UTF8.self))
                rows.append(row)
                row = []
                field = []
                i += 2
            case UInt8(ascii: "\""), 0x0A:
                throw Malformed(at: i)
            default:
                field.append(bytes[i])
                i += 1
            }
        }
        guard field.isEmpty && row.isEmpty else { throw Malformed(at: i) }
        return rows
    }

    /// The word-at-a-time writers of CSV cells and JSON strings against byte-at-a-time references, on random texts
    /// of the bytes they treat specially, into both kinds of output.
    @Test func csvCellsAndJSONStringsMatchByteAtATimeReferences() {
        func referenceCell(_ bytes: [UInt8]) -> [UInt8] {
            let formula = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D]
                .contains(bytes.first ?? 0)
            let quoted = bytes.contains { [UInt8(ascii: ","), UInt8(ascii: "\""), 0x0A, 0x0D].contains($0) }
            var out: [UInt8] = quoted ? [UInt8(ascii: "\"")] : []
            if formula { out.append(UInt8(ascii: "'")) }
            for byte in bytes {
                if byte == UInt8(ascii: "\"") { out.append(byte) }
                out.append(byte)
            }
            if quoted { out.append(UInt8(ascii: "\"")) }
            return out
        }
        func referenceString(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "\"")]
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
                case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
                case 0x08: out += Array(#"\b"#.utf8)
                case 0x0C: out += Array(#"\f"#.utf8)
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case ..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
            return out
        }
        let alphabet = Array("ab ,\"\n\r\t=+-@\\\u{01}\u{08}\u{1F}é".utf8)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            var cell: [UInt8] = []
            var buffered = ByteBuffer(capacity: 16)
            text.withUnsafeBytes {
                ExportEncoder.appendCSVCell(bytes: $0, to: &cell)
                ExportEncoder.appendCSVCell(bytes: $0, to: &buffered)
            }
            #expect(cell == referenceCell(text), "\(text)")
            #expect(buffered.withUnsafeBytes { Array($0) } == cell)
            var string: [UInt8] = []
            buffered.removeAll()
            text.withUnsafeBytes {
                JSONWriter.appendString($0, to: &string)
                JSONWriter.appendString($0, to: &buffered)
            }
            #expect(string == referenceString(text), "\(text)")
            #expect(buffered.withUnsafeBytes { Array($0) } == string)
        }
    }

    func export(_ events: [StoredEvent], _ format: ExportEncoder.Format) -> String {
        var encoder = ExportEncoder(format: format)
        var out: [UInt8] = []
        encoder.appendHeader(to: &out)
        for e in events { encoder.append(e, to: &out) }
        encoder.appendFooter(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Exports (written straight from records) write exactly what encoding decoded events writes, in every format,
    /// with and without filters that need the decoded event.
    @Test(arguments: ExportEncoder.Format.allCases)
    func recordTranscodingMatchesEncodingDecodedEvents(format: ExportEncoder.Format) throws {
        let dir = try TemporaryDirectory()
        var events = sampleEvents(3000, seed: 11)
        // Strings that need escaping, non-ASCII, every optional field absent, and roles.
        events[5].actor.name = "Zoë \"quoted\" \\ back\u{01}\n\t\u{1F}"
        events[6] = AuditEvent(
            timestamp: events[6].timestamp, actor: .init(type: .service, id: "svc"), action: "x",
            resource: .init(type: "t", id: "i"))
        events[7].actor.roles = ["admin", "ünïcode", ""]
        let log = try AuditLog(directory: dir.path, options: smallOptions())
        _ = try log.append(events)
        _ = try log.redact(.events([5, 9]), reason: "test")
        try log.close()

        let engine = try AuditLogReader(directory: dir.path)
        let middle = events[1500].timestamp
        for query in [
            Query(order: .oldestFirst), Query(order: .newestFirst),
            Query(from: middle - .seconds(60), to: middle + .seconds(60)),
            Query(actions: [events[100].action, events[7].action], order: .newestFirst),
            Query(actorIDs: [events[5].actor.id]),
        ] {
            var expected: [UInt8] = []
            var slow = ExportEncoder(format: format)
            slow.appendHeader(to: &expected)
            try engine.forEach(matching: query) { (stored) throws(AuditLogError) in
                slow.append(stored, to: &expected)
                return true
            }
            slow.appendFooter(to: &expected)
            var actual: [UInt8] = []
            try engine.export(matching: query, format: format) { (bytes) throws(AuditLogError) in
                actual.append(contentsOf: bytes)
                return true
            }
            #expect(!expected.isEmpty)
            #expect(actual == expected, "query \(query)")
        }
    }

    /// A parallel export (part of each block's records transcoded on a second thread) writes exactly what one thread
    /// writes, in every format, in both orders, with filters and redacted records, reports the same summary, and
    /// stops when the writer asks it to. Blocks of 64 KiB hold enough records for the second thread to take part.
    @Test(arguments: ExportEncoder.Format.allCases)
    func parallelExportMatchesOneThread(format: ExportEncoder.Format) throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(4000, seed: 21)
        let log = try AuditLog(directory: dir.path)
        _ = try log.append(events)
        _ = try log.redact(.events([3, 700, 2500]), reason: "test")
        try log.close()
        let reader = try AuditLogReader(directory: dir.path)
        let middle = events[2000].timestamp
        for query in [
            Query(order: .oldestFirst), Query(order: .newestFirst),
            Query(from: middle - .seconds(600), to: middle + .seconds(600), order: .newestFirst),
            Query(actions: [events[100].action, events[7].action]),
        ] {
            func export(parallel: Bool) throws -> ([UInt8], ExportSummary) {
                var bytes: [UInt8] = []
                let summary = try reader.export(matching: query, format: format, parallel: parallel) {
                    (chunk) throws(AuditLogError) in
                    bytes.append(contentsOf: chunk)
                    return true
                }
                return (bytes, summary)
            }
            let (one, oneSummary) = try export(parallel: false)
            let (two, twoSummary) = try export(parallel: true)
            #expect(oneSummary.events > 100, "query \(query)")
            // Compared here, not in #expect: a failed == on two arrays of megabytes has the test library compute their
            // difference, which takes many minutes.
            let common = min(one.count, two.count)
            let differ = (0..<common).first { one[$0] != two[$0] } ?? (one.count == two.count ? nil : common)
            #expect(differ == nil, "query \(query): \(two.count) bytes, \(one.count) expected, differ at \(differ ?? 0)")
            #expect(twoSummary == oneSummary)
        }
        // Stopped after the first or the third chunk (the second thread is at work on the next block then): what
        // was written is a prefix of the whole, ending where an entry ends, and the summary says how much.
        let oldestFirst = Query(order: .oldestFirst)
        var whole: [UInt8] = []
        let wholeSummary = try reader.export(matching: oldestFirst, format: format, parallel: false) {
            (chunk) throws(AuditLogError) in
            whole.append(contentsOf: chunk)
            return true
        }
        for chunks in [1, 3] {
            var first: [UInt8] = []
            var calls = 0
            let stopped = try reader.export(matching: oldestFirst, format: format) { (chunk) throws(AuditLogError) in
                first.append(contentsOf: chunk)
                calls += 1
                return calls < chunks
            }
            #expect(calls == chunks)
            #expect(stopped.events > 0 && stopped.events < events.count)
            let prefix = whole.starts(with: first)
            #expect(stopped.bytes == Int64(first.count) && prefix)
            #expect(stopped.lastSeq.map { $0 < wholeSummary.lastSeq! } == true, "\(stopped) \(wholeSummary)")
            if format == .jsonLines || format == .ocsf || format == .ecs {
                #expect(first.last == UInt8(ascii: "\n") && first.count { $0 == UInt8(ascii: "\n") } == stopped.events)
            }
        }
        // A writer that fails in the middle: its error comes out, nothing is written after it, and the reader
        // exports again.
        var calls = 0
        #expect(throws: AuditLogError.self) {
            try reader.export(matching: oldestFirst, format: format) { (chunk) throws(AuditLogError) in
                calls += 1
                guard calls < 3 else { throw AuditLogError(.io, "disk full (test)") }
                return true
            }
        }
        #expect(calls == 3)
        var again: [UInt8] = []
        try reader.export(matching: oldestFirst, format: format) { (chunk) throws(AuditLogError) in
            again.append(contentsOf: chunk)
            return true
        }
        let same = again == whole  // not inside #expect: see above
        #expect(same, "\(again.count) bytes exported again, \(whole.count) the first time")
    }

    /// The transcoder stops at the first record that does not decode: it reports that record's seq and reason,
    /// and has written the records before it and nothing of it or after it.
    @Test func blockTranscoderStopsAtTheFirstBadRecord() throws {
        let hasher = try MerkleHasher()
        var payload: [UInt8] = []
        var records: [(seq: UInt64, bytes: Range<Int>)] = []
        for (i, event) in sampleEvents(10, seed: 5).enumerated() {
            let start = payload.count
            let salt = [UInt8](repeating: 1, count: RecordCodec.saltSize)
            salt.withUnsafeBytes { RecordCodec.encode(event, seq: UInt64(i), salt: $0, into: &payload) }
            if i == 6 { payload.append(0) }  // a trailing byte: refused by the record walk
            records.append((UInt64(i), start..<payload.count))
        }
        var transcoder = BlockTranscoder(format: .jsonLines, mapping: SIEMMapping(), filter: RecordFilter(Query()))
        var out = ByteBuffer()
        let result = payload.withUnsafeBytes { transcoder.transcode($0, records[...], using: hasher, into: &out) }
        #expect(result.events == 6 && result.lastSeq == 5)
        #expect(result.failure?.seq == 6 && result.failure?.reason.contains("trailing") == true)
        let lines = out.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }.split(separator: "\n")
        #expect(lines.count == 6 && lines.last?.contains(#""seq":5,"#) == true)
    }

    /// On damaged records the transcoder refuses exactly what the decoder refuses, and agrees on the rest.
    @Test func recordTranscodingRefusesWhatDecodingRefuses() throws {
        let hasher = try MerkleHasher()
        var random = SplitMix64(seed: 99)
        var refused = 0
        for event in sampleEvents(300, seed: 12) {
            var record: [UInt8] = []
            let salt = [UInt8](repeating: 7, count: RecordCodec.saltSize)
            salt.withUnsafeBytes { RecordCodec.encode(event, seq: 42, salt: $0, into: &record) }
            for _ in 0..<20 {
                var damaged = record
                let position = Int(random.next() % UInt64(damaged.count))
                damaged[position] = UInt8(truncatingIfNeeded: random.next())
                if random.next() % 4 == 0 { damaged.removeLast(Int(random.next() % UInt64(damaged.count))) }
                damaged.withUnsafeBytes { bytes in
                    let decoded = try? RecordCodec.decode(bytes, into: StoredEvent.self, using: hasher)
                    var json: [UInt8] = [1, 2, 3]
                    let ok = (try? RecordJSON.append(bytes, using: hasher, to: &json)) != nil
                    #expect(ok == (decoded != nil))
                    if let decoded {
                        var expected: [UInt8] = [1, 2, 3]
                        decoded.appendJSON(to: &expected)
                        #expect(json == expected)
                    } else {
                        refused += 1
                        #expect(json == [1, 2, 3])
                    }
                }
            }
        }
        #expect(refused > 1000)
    }

    @Test func csvParsesStrictlyWithEveryColumnInPlace() throws {
        let dir = try TemporaryDirectory()
        var events = sampleEvents(300)
        events[0].userAgent = "quote \" comma , newline \n carriage \r end"
        events[1].actor.name = "Ünïcödé 名前 😀"
        let log = try AuditLog(directory: dir.path)
        try log.append(events)
        try log.close()
        let stored = try readAll(dir.path)
        let rows = try Self.parseCSV(export(stored, .csv))
        #expect(rows.count == 301)
        #expect(rows[0] == ExportEncoder.csvColumns)
        for (row, s) in zip(rows.dropFirst(), stored) {
            #expect(row.count == ExportEncoder.csvColumns.count)
            let cell = Dictionary(uniqueKeysWithValues: zip(ExportEncoder.csvColumns, row))
            #expect(cell["seq"] == String(s.seq))
            #expect(cell["id"] == s.event.id)
            #expect(cell["timestamp"] == s.event.timestamp.rfc3339)
            #expect(cell["actor.id"] == s.event.actor.id)
            #expect(cell["actor.name"] == (s.event.actor.name ?? ""))
            #expect(cell["userAgent"] == (s.event.userAgent ?? ""))
            #expect(cell["before"] == (s.event.before?.text ?? ""))
            #expect(cell["after"] == (s.event.after?.text ?? ""))
            #expect(cell["metadata"] == (s.event.metadata?.text ?? ""))
            #expect(cell["leafHash"] == s.leafHash.hex)
        }
    }

    @Test(arguments: ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd", "=1,2"])
    func formulaCellsAreNeutralized(value: String) throws {
        let event = AuditEvent(
            id: value, timestamp: Timestamp(millisecondsSinceEpoch: 0), actor: .init(type: .user, id: value, name: value),
            action: value,
            resource: .init(type: "t", id: "r"))
        let stored = StoredEvent(seq: 0, leafHash: SHA256Hash(bytes: [UInt8](repeating: 1, count: 32))!, event: event)
        let rows = try Self.parseCSV(export([stored], .csv))
        let cell = Dictionary(uniqueKeysWithValues: zip(ExportEncoder.csvColumns, rows[1]))
        for column in ["id", "actor.id", "actor.name", "action"] {
            #expect(cell[column] == "'" + value, "\(column)")
        }
        #expect(cell["resource.type"] == "t")
    }

    @Test func jsonArrayAndJSONLinesAreValidJSON() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        try log.append(sampleEvents(50))
        try log.close()
        let stored = try readAll(dir.path)
        let array = try JSONSerialization.jsonObject(with: Data(export(stored, .jsonArray).utf8)) as! [[String: Any]]
        #expect(array.count == 50 && (array[7]["seq"] as? Int) == 7)
        #expect((try JSONSerialization.jsonObject(with: Data(export([], .jsonArray).utf8)) as! [Any]).isEmpty)
        let lines = export(stored, .jsonLines).split(separator: "\n")
        #expect(lines.count == 50)
        for (line, s) in zip(lines, stored) { #expect(try EventDecoder().decode(String(line)) == s.event) }
    }

    @Test func exportAndQueryCommandsApplyFilters() throws {
        let dir = try TemporaryDirectory()
        let events = sampleEvents(400)
        let log = try AuditLog(directory: dir.path)
        try log.append(events)
        try log.close()
        let counts = Dictionary(grouping: events, by: \.actor.id).mapValues(\.count)
        let actor = counts.max { $0.value < $1.value }!.key
        let expected = events.enumerated().filter { $0.element.actor.id == actor }
        #expect(expected.count > 6)
        let csv = try runAuditlog(["export", "--dir", dir.path, "--actor", actor, "--format", "csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = try Self.parseCSV(csv.stdout)
        #expect(rows.dropFirst().map { $0[0] } == expected.map { String($0.offset) }, "oldest first")
        let json = try runAuditlog(["query", "--dir", dir.path, "--actor", actor, "--limit", "3", "--format", "json"])
        let page = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        #expect(
            (page["events"] as! [[String: Any]]).map { $0["seq"] as! Int }
                == expected.suffix(3).reversed().map(\.offset))
        let cursor = try #require(page["nextCursor"] as? String)
        let next = try runAuditlog([
            "query", "--dir", dir.path, "--actor", actor, "--limit", "3", "--cursor", cursor, "--format", "jsonl",
        ])
        #expect(next.stdout.split(separator: "\n").count == 3)
        #expect(next.stderr.hasPrefix("next cursor: "))
        let date = events[0].timestamp.rfc3339.prefix(10)
        let day = try runAuditlog([
            "query", "--dir", dir.path, "--from", String(date), "--to", String(date), "--limit", "10000", "--format",
            "jsonl",
        ])
        #expect(
            day.stdout.split(separator: "\n").count
                == events.filter { $0.timestamp.rfc3339.hasPrefix(date) }.count)
        let show = try runAuditlog(["show", "--dir", dir.path, "5"])
        #expect(show.status == 0 && show.stdout.contains("seq ") && show.stdout.contains(events[5].id))
        #expect(try runAuditlog(["query", "--dir", dir.path, "--since", "soon"]).status == 64)
    }
}
