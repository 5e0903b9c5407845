import AuditLogTestSupport
import Testing

@testable import AuditLog

@Suite("UTF-8 validation")
struct UTF8Tests {
    @Test func agreesWithTheStandardLibraryOnEdgeCases() {
        let cases: [[UInt8]] = [
            [], [0x41], [0xC2, 0x80], [0xC1, 0xBF], [0xE0, 0x9F, 0x80], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
            [0xED, 0xA0, 0x80], [0xEF, 0xBF, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80],
            [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0x80], [0xC3],
            [0xE2, 0x82], Array("héllo wörld, 😀 emoji and ascii padding".utf8),
        ]
        for bytes in cases {
            let expected = String(validating: bytes, as: Unicode.UTF8.self) != nil
            #expect(bytes.withUnsafeBytes { UTF8Validator.isValid($0) } == expected, "\(bytes)")
        }
    }

    @Test func agreesWithTheStandardLibraryOnRandomBytes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...12, using: &rng)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &rng)
                    ? UInt8.random(in: 0x80...0xF5, using: &rng) : UInt8.random(in: 0...0x7F, using: &rng)
            }
            let expected = String(validating: bytes, as: Unicode.UTF8.self) != nil
            #expect(bytes.withUnsafeBytes { UTF8Validator.isValid($0) } == expected, "\(bytes)")
        }
    }

    /// The ASCII check ORs whole words, the last one overlapping: one byte of 0x80 or more anywhere in texts of
    /// every length up to 40 is seen, and so is its invalidity.
    @Test func oneHighByteAnywhereIsSeen() {
        for count in 1...40 {
            let ascii = [UInt8](repeating: UInt8(ascii: "a"), count: count)
            #expect(ascii.withUnsafeBytes { UTF8Validator.isASCII($0) && UTF8Validator.isValid($0) })
            for position in 0..<count {
                var bytes = ascii
                bytes[position] = 0x80  // a lone continuation byte
                #expect(bytes.withUnsafeBytes { !UTF8Validator.isASCII($0) && !UTF8Validator.isValid($0) })
            }
        }
    }

    /// libcrypto's digest is checked before it is used: one whose output is not 32 bytes is refused (it would have
    /// written past the hash), and the digests of the NIST examples come out right.
    @Test func sha256HasherRefusesOtherDigestsAndMatchesNIST() throws {
        #expect(throws: AuditLogError.self) { try SHA256Hasher(algorithm: "SHA512") }
        #expect(throws: AuditLogError.self) { try SHA256Hasher(algorithm: "NO-SUCH-DIGEST") }
        let hasher = try SHA256Hasher()
        let vectors = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
        for (text, hex) in vectors {
            let digest = Array(text.utf8).withUnsafeBytes { hasher.hash($0) }
            #expect(digest.hex == hex, "SHA-256(\"\(text)\")")
        }
    }
}
