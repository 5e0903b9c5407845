import AuditLogSampleData

@testable import AuditLog

/// The block index (`.idx`) and actor index (`.aix`) readers, through the queries that use them. A small log is
/// written once; each input replaces one of its index files, a fresh query engine runs six queries, and the
/// file is put back. Input: one mode byte (bits 0–1: which file; bit 2: recompute the entries' checksums), then
/// the file.
///
/// Whatever the index says, every event a query returns must be the true event at its seq and match the query.
/// With checksums left as they are, the damaged index must not change the answer at all. With recomputed
/// checksums an index can misdirect (a forged index is not tamper-evident; verification never reads indexes,
/// FORMAT.md "Indexes"), so there only the first property is required.
final class IndexTarget: @unchecked Sendable {
    static let shared = IndexTarget()
    private let log = SampleLog(name: "index")
    private let files: [String]
    private let originals: [[UInt8]]
    private let queries: [Query]
    private let expected: [[UInt64]]

    private init() {
        let segments = log.segments
        require(segments.count >= 3, "the sample log has \(segments.count) segments")
        let dir = log.directory.path
        files = [
            SegmentIndexFiles.blockIndexPath(directory: dir, baseSeq: segments[0].baseSeq),
            SegmentIndexFiles.actorIndexPath(directory: dir, baseSeq: segments[1].baseSeq),
            SegmentIndexFiles.blockIndexPath(directory: dir, baseSeq: segments[segments.count - 1].baseSeq),
        ]
        originals = files.map { readFile($0) ?? [] }
        let events = log.events
        let busy = events[3].event.actor.id
        let redacted = SampleEventGenerator.userID(1)
        let (from, to) = (events[events.count / 5].event.timestamp, events[events.count * 3 / 4].event.timestamp)
        queries = [
            Query(actorIDs: [busy], order: .oldestFirst, limit: 10_000),
            Query(actorIDs: [redacted, "nobody"], limit: 10_000),
            Query(from: from, to: to, order: .oldestFirst, limit: 10_000),
            Query(from: from, to: to, actorIDs: [busy], limit: 10_000),
            // Field filters, which the block filters answer.
            Query(actions: [events[7].event.action], projectIDs: [events[7].event.project?.id ?? "", "none"], limit: 10_000),
            Query(
                from: from, resourceTypes: [events[11].event.resource.type], sources: [events[11].event.source ?? ""],
                order: .oldestFirst, limit: 10_000),
        ]
        expected = queries.map { query in
            let seqs = events.filter { Self.matches($0, query) }.map(\.seq)
            return query.order == .oldestFirst ? seqs : seqs.reversed()
        }
        require(expected.allSatisfy { !$0.isEmpty }, "a query of the index target matches nothing")
    }

    static func matches(_ stored: StoredEvent, _ query: Query) -> Bool {
        query.matches(stored.event)
    }

    func run(_ input: UnsafeRawBufferPointer) {
        guard input.count >= 1 else { return }
        let which = Int(input[0] & 3) % files.count
        let fixChecksums = input[0] & 4 != 0
        var bytes = Array(input[1...])
        if fixChecksums { Self.storeChecksums(in: &bytes, actorIndex: which == 1) }
        writeFile(files[which], bytes)
        defer { writeFile(files[which], originals[which]) }

        guard let engine = try? AuditLogReader(directory: log.directory.path) else {
            return require(false, "the query engine does not open with a damaged index")
        }
        for (query, expected) in zip(queries, expected) {
            do throws(AuditLogError) {
                let page = try engine.events(matching: query)
                for stored in page.events {
                    require(
                        Int(stored.seq) < log.events.count && stored == log.events[Int(stored.seq)],
                        "a query returned an event that is not the one stored at seq \(stored.seq)")
                    require(Self.matches(stored, query), "a query returned seq \(stored.seq), which it does not match")
                }
                if !fixChecksums {
                    require(
                        page.events.map(\.seq) == expected, "an index failing its checksums changed a query's answer")
                }
            } catch {
                require(fixChecksums, "an index failing its checksums made a query fail: \(error)")
            }
        }
    }

    /// Recomputes the checksums of the entries of a `.idx` (each entry's length says where the next starts), or
    /// of the pairs of a `.aix`.
    static func storeChecksums(in bytes: inout [UInt8], actorIndex: Bool) {
        if actorIndex {
            if bytes.count >= 32 { storeChecksum(of: 32..<bytes.count, at: 24, in: &bytes) }
            return
        }
        var position = 0
        while let length = loadUInt32(bytes, at: position).map(Int.init), length >= 48, position + length <= bytes.count
        {
            storeChecksum(of: position + 8..<position + length, at: position + 4, in: &bytes)
            position += length
        }
    }

    func seeds() -> [[UInt8]] {
        originals.enumerated().flatMap { which, bytes in [[UInt8(which)] + bytes, [UInt8(which) | 4] + bytes] }
    }
}
