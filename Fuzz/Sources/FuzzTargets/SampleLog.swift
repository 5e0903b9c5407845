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
            let reader = try LogReader(directory: directory.path)
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

    /// Every block of every segment, whole (header, frontier, payload, checksum).
    var blocks: [[UInt8]] {
        var out: [[UInt8]] = []
        for segment in segments {
            guard let file = try? SegmentFile.open(path: segment.path, baseSeq: segment.baseSeq),
                let size = try? file.fd.size()
            else { continue }
            var offset = Int64(file.headerSize)
            var buffer: [UInt8] = []
            while case .block(let header)? = try? file.entry(at: offset, fileSize: size) {
                guard (try? file.readBlock(header, at: offset, into: &buffer)) == .some(nil) else { break }
                out.append(Array(buffer[0..<header.totalLength]))
                offset += Int64(header.totalLength)
            }
        }
        return out
    }
}
