import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Offline verification")
struct VerifyTests {
    /// A signed log of several segments, and a way to copy it for each tamper case.
    final class SignedLog {
        let source = try! TemporaryDirectory()
        let signer = try! NoteSigner.generate(name: "audit.example.com/test")
        let events = sampleEvents(1500)
        let state: LogState

        init() throws {
            var options = smallOptions()
            options.checkpointSigner = signer
            let log = try AuditLog(directory: source.path, options: options)
            for chunk in events.chunked(50) { try log.append(chunk) }
            state = log.state
            try log.close()
        }

        /// A fresh copy of the log directory.
        func copy() throws -> TemporaryDirectory {
            let dir = try TemporaryDirectory()
            for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
                try FileManager.default.copyItem(atPath: source.file(name), toPath: dir.file(name))
            }
            return dir
        }

        var checkpoint: String {
            get throws {
                try signer.sign(Checkpoint(origin: signer.name, treeSize: state.treeSize, root: state.root).text)
            }
        }
    }

    struct BlockLocation {
        var offset: Int
        var header: BlockHeader
        var length: Int { header.totalLength }
    }

    /// The blocks of a segment file.
    func blocks(_ path: String) throws -> [BlockLocation] {
        let base = LogFiles.baseSeq(ofSegmentNamed: (path as NSString).lastPathComponent)!
        let file = try SegmentFile.open(path: path, baseSeq: base)
        let size = try file.source.size()
        var offset = Int64(file.headerSize)
        var result: [BlockLocation] = []
        while case .block(let header) = try file.entry(at: offset, fileSize: size) {
            result.append(BlockLocation(offset: Int(offset), header: header))
            offset += Int64(header.totalLength)
        }
        return result
    }

    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// Rebuilds a block from a new payload, recomputing the frontier, root, lengths and checksums, as an attacker
    /// who knows the format would.
    func reencodeBlock(_ original: BlockLocation, in file: [UInt8], records transform: ([[UInt8]]) -> [[UInt8]]) throws
        -> [UInt8]
    {
        let payload = try payload(of: original, in: file)
        var records: [[UInt8]] = []
        try payload.withUnsafeBytes { raw in
            try BlockDecoder.forEachRecord(
                in: UnsafeRawBufferPointer(rebasing: raw[0..<Int(original.header.uncompressedLength)]), original.header,
                firstSeq: original.header.firstSeq, endSeq: original.header.endSeq
            ) { _, record in records.append(Array(record)) }
        }
        records = transform(records)
        var newPayload: [UInt8] = []
        for record in records {
            newPayload.appendVarint(UInt64(record.count))
            newPayload += record
        }
        // Recompute the frontier from the block's starting frontier (stored in the previous block / header).
        let hasher = try MerkleHasher()
        var frontier = try frontierBefore(original, file)
        for record in records { frontier.append(hasher.leafHash(record), using: hasher) }
        var header = original.header
        header.recordCount = UInt32(records.count)
        header.storedLength = UInt32(newPayload.count)
        header.uncompressedLength = UInt32(newPayload.count)
        header.compression = .none
        header.frontierCount = UInt8(frontier.hashes.count)
        header.root = frontier.root(using: hasher)
        var out: [UInt8] = []
        header.encode(into: &out)
        for hash in frontier.hashes { out += hash.bytes }
        out += newPayload
        out.appendLittleEndian(CRC32C.checksum(out))
        return out
    }

    /// The uncompressed payload of a block of the segment `file`, decoded against the segment's dictionary (its
    /// first block's payload) when it is made of frames.
    func payload(of location: BlockLocation, in file: [UInt8]) throws -> [UInt8] {
        let segment = try file.withUnsafeBytes { try SegmentHeader.decode($0) }
        var dictionary: [UInt8] = []
        if location.header.compression == .frames && location.header.firstSeq != segment.baseSeq {
            let offset = segment.encodedSize
            let first = try file[offset..<offset + 80].withUnsafeBytes { try BlockHeader.decode($0) }
            dictionary = Array(try payload(of: BlockLocation(offset: offset, header: first), in: file).suffix(65_536))
        }
        let block = Array(file[location.offset..<location.offset + location.length])
        var payload: [UInt8] = []
        try block.withUnsafeBytes { raw in
            try dictionary.withUnsafeBytes {
                try BlockDecoder.payload(of: raw, location.header, dictionary: $0, into: &payload)
            }
        }
        return Array(payload[0..<Int(location.header.uncompressedLength)])
    }

    /// The Merkle frontier before a block: from the previous block, or the segment header.
    func frontierBefore(_ location: BlockLocation, _ file: [UInt8]) throws -> MerkleFrontier {
        let header = try file.withUnsafeBytes { try SegmentHeader.decode($0) }
        var frontier = header.frontier
        var offset = header.encodedSize
        while offset < location.offset {
            let h = try file[offset..<offset + 80].withUnsafeBytes { try BlockHeader.decode($0) }
            frontier = file[offset..<offset + h.totalLength].withUnsafeBytes { BlockDecoder.frontier(of: $0, h)! }
            offset += h.totalLength
        }
        return frontier
    }

    func verify(
        _ dir: TemporaryDirectory, _ log: SignedLog, checkpoints: [String] = [], key: NoteVerifierKey? = nil,
        jobs: Int = 2
    ) throws -> VerificationReport {
        try AuditLogReader(directory: dir.path).verify(
            checkpoints: checkpoints.enumerated().map { ("given-\($0.offset)", $0.element) },
            key: key ?? log.signer.verifierKey, jobs: jobs)
    }

    @Test func anUntouchedLogIsValidWithItsRootAndCheckpoints() throws {
        let log = try SignedLog()
        for jobs in [1, 2, 4] {
            let report = try verify(try log.copy(), log, checkpoints: [try log.checkpoint], jobs: jobs)
            #expect(report.isValid, "\(report.problems)")
            #expect(report.treeSize == 1500 && report.root == log.state.root)
            #expect(report.segments.count >= 4)
            #expect(report.checkpoints.count >= 4, "seals, close and the given one")
            #expect(report.checkpoints.allSatisfy { $0.signature == .valid && $0.consistent == true })
            #expect(report.recordBytes > 0)
        }
    }

    @Test(arguments: [
        "record byte", "block header byte", "segment header byte", "record rewritten with checksums",
        "record deleted", "block deleted", "frontier in header",
    ])
    func changesInsideASegmentAreReportedAsModified(tamper: String) throws {
        let log = try SignedLog()
        let dir = try log.copy()
        let segment = try segmentPaths(dir.path)[1]
        var file = try bytes(segment)
        let list = try blocks(segment)
        #expect(list.count >= 3)
        let target = list[1]
        var expectedOffset = Int64(target.offset)
        switch tamper {
        case "record byte":
            file[target.offset + target.length - 20] ^= 0x01
        case "block header byte":
            file[target.offset + 20] ^= 0x80
        case "segment header byte":
            file[30] ^= 0x01
            expectedOffset = -1
        case "record rewritten with checksums":
            let block = try reencodeBlock(target, in: file) { records in
                var r = records
                r[0][RecordCodec.fixedSize + 3] ^= 0x20  // a byte of the id
                return r
            }
            file.replaceSubrange(target.offset..<target.offset + target.length, with: block)
            // The rewritten block is self-consistent; the chain breaks at the next block.
            expectedOffset = Int64(target.offset + block.count)
        case "record deleted":
            let block = try reencodeBlock(target, in: file) { Array($0.dropLast()) }
            file.replaceSubrange(target.offset..<target.offset + target.length, with: block)
            expectedOffset = Int64(list[2].offset - target.length + block.count)
        case "block deleted":
            file.removeSubrange(target.offset..<target.offset + target.length)
        default:
            // A frontier hash in the segment header, checksum recomputed: the tree no longer continues.
            file[40] ^= 0x01
            let end = 32 + 32 * Int(file[28])
            file.replaceSubrange(
                end..<end + 4, with: withUnsafeBytes(of: CRC32C.checksum(Array(file[0..<end])).littleEndian, Array.init)
            )
            // The first block's stored root no longer matches the tree that continues the header.
            expectedOffset = Int64(end + 4)
        }
        try write(file, segment)
        let report = try verify(dir, log)
        #expect(!report.isValid)
        let first = try #require(report.problems.first)
        #expect(first.kind == .modified, "\(tamper): \(report.problems)")
        #expect(first.file == (segment as NSString).lastPathComponent)
        if expectedOffset >= 0 { #expect(first.offset == expectedOffset, "\(tamper): \(first)") }
        #expect(first.seq != nil)
    }

    /// A large segment is verified in two halves on two threads when a thread would otherwise have nothing to
    /// do: the two agree with one thread's walk, finding for finding, on an intact log and on damage placed before,
    /// at, around and after the block where the segment splits (checkpoints on both sides of it).
    @Test(.tags(.slow), .skippedInFastRuns) func aSegmentVerifiedInTwoHalvesFindsWhatOneThreadFinds() throws {
        let dir = try TemporaryDirectory()
        var options = AuditLog.Options(durability: .none)
        options.maxSegmentBytes = 64 << 20
        let signer = try NoteSigner.generate(name: "example.com/halves")
        options.checkpointSigner = signer
        options.checkpointInterval = .zero  // a checkpoint after every commit
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in sampleEvents(48_000, seed: 44).chunked(2_000) { try log.append(chunk) }
        try log.close()
        let segment = try #require(try segmentPaths(dir.path).first)
        #expect(try segmentPaths(dir.path).count == 1)
        let original = try bytes(segment)
        #expect(Int64(original.count) >= SegmentVerifier.minimumBytesToSplit)
        let list = try blocks(segment)
        let split = try #require(list.firstIndex { $0.offset >= original.count / 2 })
        func compare(_ what: String, jobs: Int = 2) throws {
            let reader = try AuditLogReader(directory: dir.path)
            let one = try reader.verify(key: signer.verifierKey, jobs: 1)
            var two = try reader.verify(key: signer.verifierKey, jobs: jobs)
            (two.jobs, two.seconds) = (one.jobs, one.seconds)
            #expect(two == one, "\(what): \(two.problems) != \(one.problems)")
        }
        try compare("intact")
        #expect(try AuditLogReader(directory: dir.path).verify(jobs: 2).isValid)
        let flips: [(String, Int)] = [
            ("a record early in the first half", list[1].offset + list[1].length - 20),
            ("the frontier stored before the split", list[split - 1].offset + BlockHeader.size + 3),
            ("a record of the block before the split", list[split - 1].offset + list[split - 1].length - 20),
            ("a record of the split block", list[split].offset + list[split].length - 20),
            ("the split block's header", list[split].offset + 20),
            ("a record late in the second half", list[list.count - 2].offset + list[list.count - 2].length - 20),
        ]
        for (what, at) in flips {
            var damaged = original
            damaged[at] ^= 0x04
            try write(damaged, segment)
            try compare(what)
        }
        // A block of the second half rewritten with valid checksums; the log cut inside its last block.
        var rewritten = original
        let target = list[split + 2]
        let block = try reencodeBlock(target, in: original) { Array($0.dropFirst()) }
        rewritten.replaceSubrange(target.offset..<target.offset + target.length, with: block)
        try write(rewritten, segment)
        try compare("a block of the second half rewritten")
        try write(Array(original[..<(list[list.count - 1].offset + 100)]), segment)
        try compare("a torn last block")
        try write(original, segment)
        try compare("restored")
        // Sealed (the next commit rolls it): the second half ends at the footer, which names the block count and
        // root the half must agree with. Three jobs for two segments: the first one splits.
        options.maxSegmentBytes = 1 << 20
        let reopened = try AuditLog(directory: dir.path, options: options)
        _ = try reopened.append(sampleEvents(1, seed: 45)[0])
        try reopened.close()
        #expect(try segmentPaths(dir.path).count == 2)
        try compare("sealed", jobs: 3)
        let sealed = try bytes(segment)
        let sealedDamage = [
            ("a footer byte", sealed.count - SegmentFooter.size + 12),
            ("the last block", list[list.count - 1].offset + 30),
        ]
        for (what, at) in sealedDamage {
            var damaged = sealed
            damaged[at] ^= 0x01
            try write(damaged, segment)
            try compare("sealed, \(what)", jobs: 3)
        }
    }

    @Test func aMissingMiddleSegmentIsReported() throws {
        let log = try SignedLog()
        let dir = try log.copy()
        let segments = try segmentPaths(dir.path)
        try FileManager.default.removeItem(atPath: segments[2])
        let report = try verify(dir, log)
        #expect(report.problems.first?.kind == .missingSegment, "\(report.problems)")
        #expect(
            report.problems.first?.seq == LogFiles.baseSeq(ofSegmentNamed: (segments[2] as NSString).lastPathComponent))
    }

    @Test func swappedSegmentsAreReportedAsReordered() throws {
        let log = try SignedLog()
        let dir = try log.copy()
        let segments = try segmentPaths(dir.path)
        let a = try bytes(segments[1])
        try write(try bytes(segments[2]), segments[1])
        try write(a, segments[2])
        let report = try verify(dir, log)
        #expect(report.problems.map(\.kind) == [.reordered, .reordered], "\(report.problems)")
    }

    @Test func aTailCutBelowASignedCheckpointIsTruncated() throws {
        let log = try SignedLog()
        let dir = try log.copy()
        let last = try segmentPaths(dir.path).last!
        let list = try blocks(last)
        var file = try bytes(last)
        file.removeSubrange(list.last!.offset...)
        try write(file, last)
        let report = try verify(dir, log, checkpoints: [try log.checkpoint])
        #expect(
            report.problems.contains { $0.kind == .truncated && $0.message.contains("checkpoint") },
            "\(report.problems)")
        #expect(report.treeSize < 1500)
        // Cut mid-block: the incomplete write is noted, the checkpoint still catches the loss.
        let dir2 = try log.copy()
        var file2 = try bytes(last.replacingOccurrences(of: dir.path, with: dir2.path))
        file2.removeSubrange((list.last!.offset + 50)...)
        try write(file2, dir2.file((last as NSString).lastPathComponent))
        let report2 = try verify(dir2, log, checkpoints: [try log.checkpoint])
        #expect(report2.segments.last!.incompleteTailBytes == 50)
        #expect(report2.problems.map(\.kind).contains(.truncated))
    }

    @Test func aTornTailWithoutCheckpointsIsNotAFailure() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        try log.append(sampleEvents(30))
        try log.close()
        let segment = try segmentPaths(dir.path)[0]
        try write(try bytes(segment) + [0x41, 0x4C, 0x42, 0x4B, 9, 9, 9], segment)
        let report = try AuditLogReader(directory: dir.path).verify()
        #expect(report.isValid)
        #expect(report.segments[0].incompleteTailBytes == 7)
        #expect(report.treeSize == 30)
    }

    @Test func aRolledBackCopyFailsAgainstALaterCheckpoint() throws {
        let log = try SignedLog()
        // An older copy of the same log: the first 600 events, with its own (older) checkpoints.
        let old = try TemporaryDirectory()
        var options = smallOptions()
        options.checkpointSigner = log.signer
        let writer = try AuditLog(directory: old.path, options: options)
        try writer.append(Array(log.events[0..<600]))
        try writer.close()
        // Salts differ, so reuse the source's first segments instead: copy the log and drop its later segments.
        let dir = try log.copy()
        for path in try segmentPaths(dir.path).dropFirst(2) { try FileManager.default.removeItem(atPath: path) }
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".checkpoint") {
            let size = UInt64(name.prefix(20))!
            if size > (LogFiles.baseSeq(ofSegmentNamed: (try segmentPaths(dir.path)[1] as NSString).lastPathComponent)!)
            {
                try FileManager.default.removeItem(atPath: dir.file(name))
            }
        }
        #expect(try verify(dir, log).isValid, "on its own the old copy is consistent")
        let report = try verify(dir, log, checkpoints: [try log.checkpoint])
        #expect(report.problems.map(\.kind) == [.truncated], "\(report.problems)")
        #expect(report.problems[0].message.contains("rolled back"))
    }

    @Test func aRewrittenLogIsInconsistentWithTheCheckpoint() throws {
        let log = try SignedLog()
        // Another log of the same size (new salts, so other leaves), re-signed consistently by an attacker.
        let forged = try TemporaryDirectory()
        let writer = try AuditLog(directory: forged.path, options: smallOptions())
        try writer.append(log.events)
        try writer.close()
        let report = try AuditLogReader(directory: forged.path).verify(
            checkpoints: [("auditor", try log.checkpoint)], key: log.signer.verifierKey)
        #expect(report.problems.map(\.kind) == [.inconsistentWithCheckpoint], "\(report.problems)")
    }

    @Test func checkpointsSignedByAnotherKeyOrForgedAreBadSignatures() throws {
        let log = try SignedLog()
        let dir = try log.copy()
        let other = try NoteSigner.generate(name: log.signer.name)
        let byOther = try other.sign(Checkpoint(origin: log.signer.name, treeSize: 1500, root: log.state.root).text)
        var forged = try log.checkpoint
        let line = forged.split(separator: "\n").last!
        let blob = Base64.decode(line.split(separator: " ").last!)!
        let fake = Base64.encode(Array(blob.prefix(4)) + [UInt8](repeating: 7, count: 64))
        forged = forged.replacingOccurrences(of: String(line.split(separator: " ").last!), with: fake)
        let report = try verify(dir, log, checkpoints: [byOther, forged])
        #expect(report.problems.map(\.kind) == [.badSignature, .badSignature], "\(report.problems)")
        #expect(report.problems[0].message.contains("not signed by"))
        #expect(report.problems[1].message.contains("does not verify"))
        // Without a key nothing can be said about signatures, but the trees still match.
        let unkeyed = try AuditLogReader(directory: dir.path).verify(checkpoints: [("x", byOther)])
        #expect(unkeyed.isValid && unkeyed.checkpoints.allSatisfy { $0.signature == .notChecked })
    }

    @Test func theWriterSignsCheckpointsPeriodicallyAndAtClose() throws {
        let dir = try TemporaryDirectory()
        let signer = try NoteSigner.generate(name: "audit.test/periodic")
        var options = AuditLog.Options(durability: .none)
        options.checkpointSigner = signer
        options.checkpointInterval = .zero  // after every commit
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in sampleEvents(30).chunked(10) { try log.append(chunk) }
        try log.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".checkpoint") }
            .sorted()
        #expect(
            names == [
                "00000000000000000010.checkpoint", "00000000000000000020.checkpoint", "00000000000000000030.checkpoint",
            ])
        let note = try SignedNote(try String(contentsOfFile: dir.file(names[2]), encoding: .utf8))
        #expect(note.isSigned(by: signer.verifierKey))
        #expect(try Checkpoint(note.text).root == (try AuditLogReader(directory: dir.path).state()).root)
        let report = try AuditLogReader(directory: dir.path).verify(key: signer.verifierKey)
        #expect(report.isValid && report.checkpoints.count == 3)
    }

    @Test func aWriterWithASignerCheckpointsTheTreeItOpensOnce() throws {
        let dir = try TemporaryDirectory()
        let unsigned = try AuditLog(directory: dir.path, options: AuditLog.Options(durability: .none))
        try unsigned.append(sampleEvents(8))
        try unsigned.close()
        let checkpoints = {
            try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".checkpoint") }
        }
        #expect(try checkpoints().isEmpty)

        let signer = try NoteSigner.generate(name: "audit.test/open")
        var options = AuditLog.Options(durability: .none)
        options.checkpointSigner = signer
        let log = try AuditLog(directory: dir.path, options: options)
        let note = try SignedNote(try #require(try log.reader.latestCheckpoint()))  // before any append or close
        #expect(try Checkpoint(note.text).treeSize == 8 && note.isSigned(by: signer.verifierKey))
        let modified = { (name: String) in
            try FileManager.default.attributesOfItem(atPath: dir.file(name))[.modificationDate] as? Date
        }
        let written = try modified(try checkpoints()[0])
        try log.close()
        let again = try AuditLog(directory: dir.path, options: options)  // the tree has its checkpoint already
        try again.close()
        #expect(try checkpoints() == ["00000000000000000008.checkpoint"])
        #expect(try modified(try checkpoints()[0]) == written)
    }

    @Test func aCheckpointFollowsTheLastCommitWithinTheIntervalWithoutAnotherCommit() async throws {
        let dir = try TemporaryDirectory()
        let signer = try NoteSigner.generate(name: "audit.test/idle")
        var options = AuditLog.Options()
        options.checkpointSigner = signer
        options.checkpointInterval = .milliseconds(200)
        let log = try AuditLog(directory: dir.path, options: options)
        try await log.append(sampleEvents(5))  // signed at once: the first checkpoint
        try await log.append(sampleEvents(7))  // within the interval of it, and nothing follows
        var latest: String?
        for _ in 0..<100 {
            latest = try log.reader.latestCheckpoint()
            if let latest, try Checkpoint(SignedNote(latest).text).treeSize == 12 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let note = try SignedNote(try #require(latest))
        #expect(try Checkpoint(note.text).treeSize == 12)
        #expect(note.isSigned(by: signer.verifierKey))
        try await log.close()
    }

    @Test(.tags(.slow), .skippedInFastRuns) func everyFlippedByteOfEverySegmentIsReported() throws {
        let dir = try TemporaryDirectory()
        var options = AuditLog.Options(durability: .none)
        options.maxSegmentBytes = 4096
        options.maxBlockBytes = 1024
        let events = sampleEvents(24)
        let log = try AuditLog(directory: dir.path, options: options)
        for chunk in events.chunked(3) { try log.append(chunk) }
        try log.close()
        let original = try readAll(dir.path)
        let segments = try segmentPaths(dir.path)
        #expect(segments.count >= 2)
        var flips = 0
        var wrongData = 0
        for path in segments {
            var bytes = try bytes(path)
            for i in bytes.indices {
                bytes[i] ^= 0x10
                try write(bytes, path)
                let report = try AuditLogReader(directory: dir.path).verify()
                #expect(!report.isValid, "flip at byte \(i) of \((path as NSString).lastPathComponent) not reported")
                // A reader may stop or throw, but must never return something other than what was written.
                if let read = try? readAll(dir.path),
                    read.count > original.count || read != Array(original.prefix(read.count))
                {
                    wrongData += 1
                }
                bytes[i] ^= 0x10
                flips += 1
            }
            try write(bytes, path)
        }
        #expect(flips > 5000)
        #expect(wrongData == 0)
        #expect(try AuditLogReader(directory: dir.path).verify().isValid)
    }

    @Test func verifyCommandExitsZeroOneTwoAndPrintsJSON() throws {
        let log = try SignedLog()
        let dir = try log.copy()
        let vkey = log.signer.verifierKey.description
        let ok = try runAuditlog(["verify", dir.path, "--key", vkey])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("VALID: 1,500 events"))
        let segment = try segmentPaths(dir.path)[1]
        var file = try bytes(segment)
        file[file.count / 2] ^= 0xFF
        try write(file, segment)
        let bad = try runAuditlog(["verify", dir.path, "--key", vkey, "--json"])
        #expect(bad.status == 1)
        let json = try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as! [String: Any]
        #expect(json["valid"] as? Bool == false)
        let problems = json["problems"] as! [[String: Any]]
        #expect(problems.first?["kind"] as? String == "modified")
        #expect(try runAuditlog(["verify"]).status == 2)
        #expect(try runAuditlog(["verify", "/nonexistent/log"]).status == 2)
    }

    @Test func keygenCheckpointProveAndVerifyProofWorkTogether() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.file("log"), options: smallOptions())
        try log.append(sampleEvents(700))
        try log.close()
        let keygen = try runAuditlog(["keygen", "--name", "audit.test/log", "--out", dir.file("k")])
        #expect(keygen.status == 0)
        #expect(
            try runAuditlog(["keygen", "--name", "audit.test/log", "--out", dir.file("k")]).status != 0,
            "never overwrites")
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("k.key"))[.posixPermissions] as! Int
        #expect(mode == 0o600)
        let checkpoint = try runAuditlog([
            "checkpoint", "--dir", dir.file("log"), "--key", dir.file("k.key"), "--out", dir.file("cp"),
        ])
        #expect(checkpoint.status == 0 && checkpoint.stdout.hasPrefix("audit.test/log\n700\n"))
        let prove = try runAuditlog(["prove", "--dir", dir.file("log"), "123"])
        try prove.stdout.write(toFile: dir.file("p.json"), atomically: false, encoding: .utf8)
        let good = try runAuditlog([
            "verify-proof", dir.file("p.json"), "--checkpoint", dir.file("cp"), "--key", dir.file("k.vkey"),
        ])
        #expect(good.status == 0 && good.stdout.contains("VALID: event 123"), "\(good.stdout)\(good.stderr)")
        let consistency = try runAuditlog(["consistency", "--dir", dir.file("log"), "--from", "300"])
        try consistency.stdout.write(toFile: dir.file("c.json"), atomically: false, encoding: .utf8)
        #expect(
            try runAuditlog([
                "verify-proof", dir.file("c.json"), "--checkpoint", dir.file("cp"), "--key", dir.file("k.vkey"),
            ]).status == 0)
        // A proof for another tree size has no matching checkpoint.
        let other = try runAuditlog(["prove", "--dir", dir.file("log"), "123", "--tree-size", "500"])
        try other.stdout.write(toFile: dir.file("p2.json"), atomically: false, encoding: .utf8)
        let mismatch = try runAuditlog([
            "verify-proof", dir.file("p2.json"), "--checkpoint", dir.file("cp"), "--key", dir.file("k.vkey"),
        ])
        #expect(mismatch.status == 1 && mismatch.stdout.contains("no signed checkpoint has tree size 500"))
        // A tampered proof is invalid.
        let tampered = prove.stdout.replacingOccurrences(of: "\"leafIndex\":123", with: "\"leafIndex\":124")
        try tampered.write(toFile: dir.file("p3.json"), atomically: false, encoding: .utf8)
        #expect(
            try runAuditlog([
                "verify-proof", dir.file("p3.json"), "--checkpoint", dir.file("cp"), "--key", dir.file("k.vkey"),
            ]).status == 1)
    }

    @Test("the table of first unredacted records keeps each actor's first record, through growth and hash collisions")
    func firstRecordsByActor() {
        func add(_ id: String, hash: UInt64? = nil, seq: UInt64, to table: inout FirstRecordsByActor) {
            let hash = hash ?? SegmentIndexFiles.actorHash(id)
            var id = id
            id.withUTF8 { table.add(id: UnsafeRawBufferPointer($0), hash: hash, seq: seq, offset: Int64(seq) * 10) }
        }
        var table = FirstRecordsByActor()
        for round in 0..<3 {
            for i in 0..<1000 { add("user_\(i)", seq: UInt64(round * 1000 + i), to: &table) }
        }
        // Ids whose hashes collide (as two ids could in the actor index) are still told apart.
        add("collides-a", hash: 42, seq: 5000, to: &table)
        add("collides-b", hash: 42, seq: 5001, to: &table)
        add("collides-a", hash: 42, seq: 5002, to: &table)
        #expect(table.entries.count == 1002)
        #expect(table.entries.filter { $0.hash == 42 }.map(\.seq) == [5000, 5001])
        for i in 0..<1000 {
            #expect(table.first(id: "user_\(i)")?.seq == UInt64(i))
            #expect(table.first(id: "user_\(i)")?.offset == Int64(i) * 10)
        }
        #expect(table.first(id: "user_1000") == nil)
        var other = FirstRecordsByActor()
        add("user_7", seq: 9, to: &other)
        add("late", seq: 9, to: &other)
        table.add(other)
        #expect(table.first(id: "user_7")?.seq == 7 && table.first(id: "late")?.seq == 9)
        #expect(table.entries.count == 1003)
    }
}
