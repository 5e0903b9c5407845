import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// An RFC 9162 verifier written from the recursive definitions (PATH and SUBPROOF), independent of the
/// iterative algorithms the library uses.
enum IndependentVerifier {
    static func split(_ n: UInt64) -> UInt64 {
        var k: UInt64 = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    static func inclusionRoot(
        index m: UInt64, size n: UInt64, leaf: SHA256Hash, proof: inout [SHA256Hash], _ h: MerkleHasher
    ) -> SHA256Hash? {
        if n == 1 { return leaf }
        guard let sibling = proof.popLast() else { return nil }
        let k = split(n)
        if m < k {
            guard let left = inclusionRoot(index: m, size: k, leaf: leaf, proof: &proof, h) else { return nil }
            return h.nodeHash(left, sibling)
        }
        guard let right = inclusionRoot(index: m - k, size: n - k, leaf: leaf, proof: &proof, h) else { return nil }
        return h.nodeHash(sibling, right)
    }

    static func verifyInclusion(_ p: InclusionProof) throws -> Bool {
        let h = try MerkleHasher()
        guard p.leafIndex < p.treeSize else { return false }
        var proof = p.proof
        guard let root = inclusionRoot(index: p.leafIndex, size: p.treeSize, leaf: p.leafHash, proof: &proof, h) else {
            return false
        }
        return proof.isEmpty && root == p.root
    }

    /// Returns (old root, new root) rebuilt from the proof.
    static func consistencyRoots(
        _ m: UInt64, _ n: UInt64, _ complete: Bool, _ oldRoot: SHA256Hash, _ proof: inout [SHA256Hash],
        _ h: MerkleHasher
    ) -> (SHA256Hash, SHA256Hash)? {
        if m == n {
            if complete { return (oldRoot, oldRoot) }
            guard let node = proof.popLast() else { return nil }
            return (node, node)
        }
        guard let sibling = proof.popLast() else { return nil }
        let k = split(n)
        if m <= k {
            guard let (old, new) = consistencyRoots(m, k, complete, oldRoot, &proof, h) else { return nil }
            return (old, h.nodeHash(new, sibling))
        }
        guard let (old, new) = consistencyRoots(m - k, n - k, false, oldRoot, &proof, h) else { return nil }
        return (h.nodeHash(sibling, old), h.nodeHash(sibling, new))
    }

    static func verifyConsistency(_ p: ConsistencyProof) throws -> Bool {
        let h = try MerkleHasher()
        if p.size1 == p.size2 { return p.proof.isEmpty && p.root1 == p.root2 }
        if p.size1 == 0 { return p.proof.isEmpty }
        var proof = p.proof
        guard let (old, new) = consistencyRoots(p.size1, p.size2, true, p.root1, &proof, h) else { return false }
        return proof.isEmpty && old == p.root1 && new == p.root2
    }
}

@Suite("Inclusion and consistency proofs")
struct ProofTests {
    /// Proofs over the vector leaves, built with the library's range decomposition.
    func vectorProofs() throws -> (leaves: [SHA256Hash], hasher: MerkleHasher) {
        let v = try vectors("rfc6962.json")
        let hasher = try MerkleHasher()
        return ((v["leafInputsHex"] as! [String]).map { hasher.leafHash(hexBytes($0)) }, hasher)
    }

    func root(_ range: Range<UInt64>, _ leaves: [SHA256Hash], _ hasher: MerkleHasher) -> SHA256Hash {
        referenceRoot(leaves[Int(range.lowerBound)..<Int(range.upperBound)], hasher)
    }

    @Test func inclusionProofsMatchEveryVector() throws {
        let (leaves, hasher) = try vectorProofs()
        let cases = try vectors("rfc6962.json")["inclusion"] as! [[String: Any]]
        #expect(cases.count > 20)
        for c in cases {
            let index = UInt64(c["leafIndex"] as! Int)
            let size = UInt64(c["treeSize"] as! Int)
            let path = MerkleRanges.inclusionPath(index: index, size: size).map { root($0, leaves, hasher).hex }
            #expect(path == c["proof"] as! [String], "leaf \(index) of \(size)")
            let proof = InclusionProof(
                leafIndex: index, treeSize: size, leafHash: SHA256Hash(hex: c["leafHash"] as! String)!,
                proof: (c["proof"] as! [String]).map { SHA256Hash(hex: $0)! },
                root: SHA256Hash(hex: c["root"] as! String)!, entry: [])
            #expect(proof.isValid())
            #expect(try IndependentVerifier.verifyInclusion(proof))
        }
    }

    @Test func consistencyProofsMatchEveryVector() throws {
        let (leaves, hasher) = try vectorProofs()
        let cases = try vectors("rfc6962.json")["consistency"] as! [[String: Any]]
        #expect(cases.count > 20)
        for c in cases {
            let size1 = UInt64(c["size1"] as! Int)
            let size2 = UInt64(c["size2"] as! Int)
            let path = MerkleRanges.consistencyPath(old: size1, new: size2).map { root($0, leaves, hasher).hex }
            #expect(path == c["proof"] as! [String], "\(size1) -> \(size2)")
            let proof = ConsistencyProof(
                size1: size1, size2: size2, root1: SHA256Hash(hex: c["root1"] as! String)!,
                root2: SHA256Hash(hex: c["root2"] as! String)!,
                proof: (c["proof"] as! [String]).map { SHA256Hash(hex: $0)! })
            #expect(proof.isValid())
            #expect(try IndependentVerifier.verifyConsistency(proof))
        }
    }

    @Test func proofsFromALogVerifyForRandomSeqsAndSizes() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        let events = sampleEvents(2500)
        for chunk in stride(from: 0, to: 2500, by: 100) { try log.append(Array(events[chunk..<chunk + 100])) }
        let leaves = try readAll(dir.path).map(\.leafHash)
        let hasher = try MerkleHasher()
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<60 {
            let size = trial == 0 ? 2500 : UInt64.random(in: 1...2500, using: &rng)
            let seq = UInt64.random(in: 0..<size, using: &rng)
            // In-process (the writer's level files) and from the directory alone (another process).
            for proof in [
                try log.inclusionProof(seq: seq, treeSize: size),
                try AuditLogReader(directory: dir.path).inclusionProof(seq: seq, treeSize: size),
            ] {
                #expect(proof.root == referenceRoot(leaves[..<Int(size)], hasher))
                #expect(proof.leafHash == leaves[Int(seq)])
                #expect(hasher.leafHash(proof.entry) == proof.leafHash)
                #expect(try IndependentVerifier.verifyInclusion(proof), "seq \(seq) of \(size)")
                #expect(proof.isValid())
                #expect(proof.proof.count <= 64 - Int(size).leadingZeroBitCount + 1)
            }
            let old = UInt64.random(in: 0...size, using: &rng)
            let consistency = try log.consistencyProof(from: old, to: size)
            #expect(consistency.root1 == referenceRoot(leaves[..<Int(old)], hasher))
            #expect(try IndependentVerifier.verifyConsistency(consistency), "\(old) -> \(size)")
            #expect(consistency.isValid())
        }
        // A proof that does not match fails both verifiers.
        var bad = try log.inclusionProof(seq: 7)
        bad.leafIndex = 8
        #expect(!bad.isValid())
        #expect(try !IndependentVerifier.verifyInclusion(bad))
        try log.close()
    }

    @Test func levelFilesAreRebuiltWhenMissingAndCutWithTheLog() throws {
        let dir = try TemporaryDirectory()
        var log: AuditLog? = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in sampleEvents(1200).chunked(100) { try log!.append(chunk) }
        try log!.close()
        log = nil
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("merkle-") }
            .sorted()
        #expect(names == ["merkle-08.hashes", "merkle-09.hashes", "merkle-10.hashes"])
        let original = try names.map { try Data(contentsOf: URL(fileURLWithPath: dir.file($0))) }
        #expect(original.map(\.count) == [4 * 32, 2 * 32, 1 * 32])
        func levels() throws -> [Data?] {
            names.map { try? Data(contentsOf: URL(fileURLWithPath: dir.file($0))) }
        }
        func remove(_ removed: [String]) throws {
            for name in removed { try FileManager.default.removeItem(atPath: dir.file(name)) }
        }
        // After a crash (no TAIL: the last close was not clean), open rebuilds them.
        try remove(names + ["TAIL"])
        try AuditLog(directory: dir.path).close()
        #expect(try levels() == original.map { Optional($0) })
        // After a clean close, open leaves them alone; a level is checked and rebuilt the first time it is used,
        // here by a proof through the writer.
        try remove(names)
        try AuditLog(directory: dir.path).close()
        #expect(try levels() == [nil, nil, nil])
        var reopened: AuditLog? = try AuditLog(directory: dir.path)
        #expect(try IndependentVerifier.verifyInclusion(try reopened!.inclusionProof(seq: 3)))
        #expect(try levels() == original.map { Optional($0) })
        #expect(try reopened!.consistencyProof(from: 1024).isValid())
        try reopened!.close()
        // Or by an append that completes a subtree at that level: short and missing levels are rebuilt before it,
        // and the files end as those rebuilt from the records at an open after a crash.
        try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file(names[0]))).truncate(atOffset: 32)
        try remove(Array(names[1...]))
        reopened = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in sampleEvents(900, seed: 2).chunked(100) { try reopened!.append(chunk) }
        try reopened!.close()
        reopened = nil
        let grown = names + ["merkle-11.hashes"]
        let appended = try grown.map { try Data(contentsOf: URL(fileURLWithPath: dir.file($0))) }
        #expect(appended.map(\.count) == [8 * 32, 4 * 32, 2 * 32, 1 * 32])
        try remove(grown + ["TAIL"])
        try AuditLog(directory: dir.path).close()
        #expect(try grown.map { try Data(contentsOf: URL(fileURLWithPath: dir.file($0))) } == appended)
        // Stored hashes that are wrong are detected and not used.
        try Data(repeating: 0xAB, count: 4 * 32).write(to: URL(fileURLWithPath: dir.file("merkle-08.hashes")))
        let proof = try AuditLogReader(directory: dir.path).inclusionProof(seq: 3)
        #expect(try IndependentVerifier.verifyInclusion(proof))
        #expect(proof.root == (try AuditLogReader(directory: dir.path).statistics()).state.root)
    }

    @Test func theCurrentStateIgnoresATornLastBlock() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        try log.append(sampleEvents(10))
        let before = log.state
        try log.append(sampleEvents(5, seed: 2))
        #expect(try AuditLogReader(directory: dir.path).state().treeSize == 15)
        try log.close()
        // The last block's header is intact but its body is not (a write in progress, as another process may
        // see it): its root must not count.
        let path = try segmentPaths(dir.path)[0]
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try AuditLogReader(directory: dir.path).state() == before)
    }

    /// Proofs, the log state and sequential reads start their walks where the block index says a block lies, but
    /// only after the segment's own headers agree: a missing, damaged, shifted, cut or foreign index changes nothing.
    @Test func proofsStateAndSeeksDoNotTrustTheBlockIndex() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path, options: smallOptions(durability: .none))
        for chunk in sampleEvents(600).chunked(20) { try log.append(chunk) }
        try log.close()
        let indexes = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".idx") }
            .sorted().map(dir.file)
        #expect(indexes.count >= 3)
        let original = try indexes.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let seqs: [UInt64] = [0, 1, 57, 123, 299, 300, 451, 598, 599]
        func answers() throws -> [String] {
            let reader = try AuditLogReader(directory: dir.path)
            var out = ["\(try reader.state())"]
            for seq in seqs {
                let proof = try reader.inclusionProof(seq: seq)
                #expect(try IndependentVerifier.verifyInclusion(proof))
                out.append("\(proof)")
                out.append("\(try reader.inclusionProof(seq: seq / 2, treeSize: seq + 1))")
                out.append("\(try reader.consistencyProof(from: seq + 1))")
                // A sequential read from `seq` starts at the block the index names, too.
                let iterator = try reader.eventIterator(from: seq)
                var read: [String] = []
                while read.count < 25, let event = try iterator.next() { read.append("\(event.seq) \(event.leafHash)") }
                #expect(read.first?.hasPrefix("\(seq) ") == true)
                out.append(read.joined(separator: ","))
            }
            return out
        }
        let reference = try answers()
        #expect(reference[0].contains("600"))
        func write(_ transform: (Int, Data) -> Data?) throws {
            for (i, path) in indexes.enumerated() {
                if let data = transform(i, original[i]) {
                    try data.write(to: URL(fileURLWithPath: path))
                } else {
                    try? FileManager.default.removeItem(atPath: path)
                }
            }
        }
        /// `data` with every entry's block offset (bytes 24..<32 of an entry) moved by `delta`.
        func shifted(_ data: Data, by delta: Int64) -> Data {
            var bytes = Array(data)
            var position = 0
            while position + 48 <= bytes.count {
                let length = bytes[position..<position + 4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                var offset = Int64(0)
                for k in 0..<8 { offset |= Int64(bytes[position + 24 + k]) << (8 * k) }
                offset += delta
                for k in 0..<8 { bytes[position + 24 + k] = UInt8(truncatingIfNeeded: offset >> (8 * k)) }
                position += max(length, 48)
            }
            return Data(bytes)
        }
        let damages: [(String, (Int, Data) -> Data?)] = [
            ("missing", { _, _ in nil }),
            ("cut in half", { _, data in data.prefix(data.count / 2) }),
            ("offsets moved forward", { _, data in shifted(data, by: 37) }),
            ("offsets moved back", { _, data in shifted(data, by: -1) }),
            ("another segment's", { i, _ in original[(i + 1) % original.count] }),
            ("random bytes", { _, data in Data((0..<data.count).map { _ in UInt8.random(in: 0...255) }) }),
            ("an entry's first seq changed", { _, data in
                var bytes = Array(data)
                if bytes.count > 8 { bytes[8] ^= 0x01 }
                return Data(bytes)
            }),
        ]
        for (name, damage) in damages {
            try write(damage)
            #expect(try answers() == reference, "\(name)")
        }
        try write { i, data in data }
        #expect(try answers() == reference)
    }

    @Test func proofRequestsOutsideTheLogAreRefused() throws {
        let dir = try TemporaryDirectory()
        let log = try AuditLog(directory: dir.path)
        try log.append(sampleEvents(10))
        #expect { _ = try log.inclusionProof(seq: 10) } throws: { ($0 as! AuditLogError).code == .invalidArgument }
        #expect { _ = try log.inclusionProof(seq: 1, treeSize: 11) } throws: {
            ($0 as! AuditLogError).code == .invalidArgument
        }
        #expect { _ = try log.consistencyProof(from: 5, to: 4) } throws: {
            ($0 as! AuditLogError).code == .invalidArgument
        }
        try log.close()
    }
}
