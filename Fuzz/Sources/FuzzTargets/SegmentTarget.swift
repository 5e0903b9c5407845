@testable import AuditLog

/// A whole segment file, as the only file of a log directory: the header and footer readers (which must give
/// back the bytes they read when re-encoded), then verify, a reader, a query scan and the writer's recovery. A
/// segment that verifies valid must read in full, by the reader and by a query, and the writer opening it must
/// keep it valid and every event in it. Input: one mode byte (bit 0: recompute the header checksum), then the file.
final class SegmentTarget: @unchecked Sendable {
    static let shared = SegmentTarget()
    private let scratch = ScratchDirectory("segment")

    func run(_ input: UnsafeRawBufferPointer) {
        guard input.count > 1 else { return }
        var file = Array(input[1...])
        if input[0] & 1 != 0, let count = loadUInt32(file, at: 28), count <= 64 {
            let end = 32 + 32 * Int(count)
            storeChecksum(of: 0..<end, at: end, in: &file)
        }
        let header = file.withUnsafeBytes { try? SegmentHeader.decode($0) }
        if let header {
            require(header.encode()[...] == file.prefix(header.encodedSize), "segment header re-encodes differently")
        }
        if file.count >= SegmentFooter.size {
            let tail = Array(file.suffix(SegmentFooter.size))
            if let footer = tail.withUnsafeBytes({ try? SegmentFooter.decode($0) }) {
                require(footer.encode() == tail, "segment footer re-encodes differently")
            }
        }

        scratch.empty()
        writeFile(scratch.file(LogFiles.segmentName(baseSeq: header?.baseSeq ?? 0)), file)
        let report = try? AuditLogReader(directory: scratch.path).verify()
        let events = readAll()
        if let report, report.isValid {
            let count = Int(report.treeSize - (report.prunedBelow ?? 0))
            require(
                events?.count == count,
                "verify says valid with \(count) events; the reader: \(String(describing: events?.count))")
            let scanned = scanAll()
            require(scanned == events?.map(\.seq), "a query scan of a valid segment differs from the reader")
        }
        var options = AuditLog.Options(durability: .none)
        options.maxSegmentBytes = 1 << 20
        let opened = try? AuditLog(directory: scratch.path, options: options)
        try? opened?.close()
        if let report, report.isValid {
            require(opened != nil, "the writer refused a segment that verifies valid")
            let after = try? AuditLogReader(directory: scratch.path).verify()
            require(
                after?.isValid == true,
                "the writer's recovery broke a valid segment: \(String(describing: after?.problems))")
            require(readAll() == events, "the writer's recovery changed the events of a valid segment")
        }
    }

    private func readAll() -> [StoredEvent]? {
        guard let reader = try? AuditLogReader(directory: scratch.path).eventIterator() else { return nil }
        var events: [StoredEvent] = []
        do throws(AuditLogError) {
            while let event = try reader.next() { events.append(event) }
        } catch { return nil }
        return events
    }

    private func scanAll() -> [UInt64]? {
        guard let engine = try? AuditLogReader(directory: scratch.path) else { return nil }
        var seqs: [UInt64] = []
        do throws(AuditLogError) {
            try engine.forEach(matching: Query(order: .oldestFirst)) { (event) throws(AuditLogError) in
                seqs.append(event.seq)
                return true
            }
        } catch { return nil }
        return seqs
    }

    static func seeds() -> [[UInt8]] {
        let log = SampleLog(name: "segment-seeds")
        return withExtendedLifetime(log) { log.segments.compactMap { readFile($0.path) }.map { [0] + $0 } }
    }
}
