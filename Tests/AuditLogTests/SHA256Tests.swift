import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// SHA-256 with the CPU's SHA extensions against the NIST vectors and against libcrypto's EVP, and the Merkle
/// hashing on both (the tool can be forced onto EVP with AUDITLOG_SHA256=evp).
@Suite("SHA-256 implementations")
struct SHA256Tests {
    let extensions = SHA256Implementation.shaExtensionsAvailable

    /// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
    static let vectors: [(message: [UInt8], digest: String)] = [
        ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            Array(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
                    .utf8),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
        (
            [UInt8](repeating: 0x61, count: 1_000_000),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        ),
        ([0xBD], "68325720aabd7c82f30f554b313d0570c95accbb7dc4b5aae11204c08ffe732b"),
        ([UInt8](repeating: 0, count: 55), "02779466cdec163811d078815c633f21901413081449002f24aa3e80f0b88ef7"),
        ([UInt8](repeating: 0, count: 56), "d4817aa5497628e7c77e6b606107042bbba3130888c5f47a375e6179be789fbb"),
        ([UInt8](repeating: 0, count: 64), "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b"),
    ]

    @Test func theSHAExtensionsGiveTheNISTDigests() throws {
        try #require(extensions, "this CPU has no SHA extensions; the EVP path is the one in use")
        for (message, digest) in Self.vectors {
            #expect(
                message.withUnsafeBytes { SHA256Extensions.hash(prefix: -1, $0) }.hex == digest,
                "\(message.count) bytes")
        }
        // Two at a time, of different lengths.
        for (a, b) in zip(Self.vectors, Self.vectors.reversed()) {
            let (x, y) = a.message.withUnsafeBytes { ra in
                b.message.withUnsafeBytes { rb in SHA256Extensions.hash(prefix: -1, ra, rb) }
            }
            #expect(x.hex == a.digest && y.hex == b.digest)
        }
    }

    /// Random lengths 0–4 KiB (every padding case: around 55, 56, 63 and 64 bytes of a block), with and without the
    /// Merkle prefix byte, one and two at a time, against EVP.
    @Test func theSHAExtensionsAgreeWithEVPOnRandomInputs() throws {
        try #require(extensions, "this CPU has no SHA extensions; the EVP path is the one in use")
        let evp = try SHA256Hasher()
        var generator = SystemRandomNumberGenerator()
        func reference(_ prefix: Int32, _ bytes: [UInt8]) -> SHA256Hash {
            evp.begin()
            if prefix >= 0 { evp.update(byte: UInt8(prefix)) }
            bytes.withUnsafeBytes { evp.update($0) }
            return evp.finish()
        }
        let lengths = Array(0...200) + (0..<300).map { _ in Int.random(in: 0...4096, using: &generator) }
        for (i, length) in lengths.enumerated() {
            let a = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let b = (0..<lengths[(i * 7) % lengths.count]).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for prefix: Int32 in [-1, 0, 1] {
                let one = a.withUnsafeBytes { SHA256Extensions.hash(prefix: prefix, $0) }
                #expect(one == reference(prefix, a), "\(length) bytes, prefix \(prefix)")
                let (x, y) = a.withUnsafeBytes { ra in
                    b.withUnsafeBytes { rb in SHA256Extensions.hash(prefix: prefix, ra, rb) }
                }
                #expect(x == reference(prefix, a) && y == reference(prefix, b), "\(length) and \(b.count) bytes")
            }
        }
    }

    /// Leaves, pairs of leaves, nodes and redacted records hash the same on both implementations.
    @Test func merkleHashingIsTheSameOnBothImplementations() throws {
        let fast = try MerkleHasher(implementation: .shaExtensions)
        let evp = try MerkleHasher(implementation: .evp)
        #expect(evp.implementation == .evp)
        #expect(fast.implementation == (extensions ? .shaExtensions : .evp))
        var records: [[UInt8]] = []
        for (i, event) in sampleEvents(64, seed: 5).enumerated() {
            var record: [UInt8] = []
            RecordCodec.encode(event, seq: UInt64(i), into: &record)
            records.append(record)
        }
        for (a, b) in zip(records, records.dropFirst()) {
            let pair = a.withUnsafeBytes { ra in
                b.withUnsafeBytes { rb in RecordCodec.leafHashes(of: ra, rb, using: fast) }
            }
            #expect(pair.0 == evp.leafHash(a) && pair.1 == evp.leafHash(b))
            #expect(fast.nodeHash(pair.0, pair.1) == evp.nodeHash(pair.0, pair.1))
            let nodes = fast.nodeHashes((pair.0, pair.1), (pair.1, pair.0))
            #expect(nodes.0 == evp.nodeHash(pair.0, pair.1) && nodes.1 == evp.nodeHash(pair.1, pair.0))
        }
        #expect(fast.emptyRoot() == evp.emptyRoot())
    }

    /// A log written with the SHA extensions verifies with EVP forced, and the other way round, to the same root.
    @Test func theToolVerifiesEitherWayToTheSameRoot() throws {
        let dir = try TemporaryDirectory()
        let input = dir.file("events.jsonl")
        try jsonLines(sampleEvents(2500, seed: 8)).write(toFile: input, atomically: true, encoding: .utf8)
        for (name, environment) in [("fast", [String: String]()), ("evp", ["AUDITLOG_SHA256": "evp"])] {
            let ingest = try runAuditlog(["ingest", "--dir", dir.file(name), input], environment: environment)
            #expect(ingest.status == 0, "\(ingest.stderr)")
        }
        var roots: Set<String> = []
        for name in ["fast", "evp"] {
            for environment in [[String: String](), ["AUDITLOG_SHA256": "evp"]] {
                let verify = try runAuditlog(["verify", dir.file(name), "--json"], environment: environment)
                #expect(verify.status == 0, "\(name) \(environment): \(verify.stdout) \(verify.stderr)")
                let report = try JSONSerialization.jsonObject(with: verify.stdoutData) as? [String: Any]
                roots.insert(report?["root"] as? String ?? "none")
            }
        }
        // Different salts make different trees; each log has one root, whichever SHA-256 verified it.
        #expect(roots.count == 2 && !roots.contains("none"), "\(roots)")
    }
}
