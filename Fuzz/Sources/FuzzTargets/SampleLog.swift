import AuditLogSampleData

@testable import AuditLog

/// A small real log (written by the library, small segments and blocks, one actor redacted): the source of the
/// seeds of the binary formats and the fixture of the index target.
final class SampleLog {
    let directory: ScratchDirectory
    /// Every event as stored, by seq.
    let events: [StoredEvent]

    init(name: String) {
        directory = ScratchDirectory(name)
        var options = AuditLog.Options(durability: .none)
        options.maxSegmentBytes = 4 << 10
        options.maxBlockBytes = 2 << 10
        var generator = SampleEventGenerator(seed: 7, userCount: 6, apiKeyCount: 2)
        do throws(AuditLogError) {
            let log = try AuditLog(directory: directory.path, options: options)
            for _ in 0..<12 { _ = try log.append(generator.events(10)) }
            _ = try log.redact(.actor(SampleEventGenerator.userID(1)), reason: "erasure request")
            _ = try log.append(generator.events(10))
            try log.close()
            var events: [StoredEvent] = []
            let reader = try AuditLogReader(directory: directory.path).eventIterator()
            while let event = try reader.next() { events.append(event) }
            self.events = events
        } catch {
            require(false, "cannot write the sample log: \(error)")
            self.events = []
        }
    }

    /// The segment files, oldest first.
    var segments: [(baseSeq: UInt64, path: String)] {
        (try? LogFiles.segments(in: directory.path)) ?? []
    }

    /// Every block of every segment, whole (header, frontier, payload, checksum), with the dictionary its frames
    /// are decoded against (empty for a segment's first block).
    var blocks: [(bytes: [UInt8], dictionary: [UInt8])] {
        var out: [(bytes: [UInt8], dictionary: [UInt8])] = []
        for segment in segments {
            guard let file = try? SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq),
                var walker = try? SegmentWalker(file: file, checking: .blocks)
            else { continue }
            while case .block(let header, _)? = try? walker.next() {
                out.append((Array(walker.block[0..<header.totalLength]), (try? file.dictionary(for: header)) ?? []))
            }
        }
        return out
    }
}
