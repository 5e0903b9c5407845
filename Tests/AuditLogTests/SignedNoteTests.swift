import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Signed notes and checkpoints")
struct SignedNoteTests {
    @Test func thePublishedSignedNoteVerifies() throws {
        let v = try vectors("signed-note.json")
        let key = try NoteVerifierKey(v["verifierKey"] as! String)
        #expect(key.name == v["keyName"] as! String)
        #expect(hexString(key.keyID) == v["keyIdHex"] as! String)
        #expect(hexString(key.publicKey) == v["publicKeyHex"] as! String)
        #expect(key.description == v["verifierKey"] as! String)
        let note = try SignedNote(v["signedNote"] as! String)
        #expect(note.text == v["noteText"] as! String)
        #expect(note.isSigned(by: key))
        // Any change to the text breaks the signature.
        var tampered = note
        tampered.text = "This is an example message!\n"
        #expect(!tampered.isSigned(by: key))
    }

    @Test func signedCheckpointsRoundTripAndOnlyTheirKeyVerifiesThem() throws {
        let signer = try NoteSigner.generate(name: "audit.example.com/log")
        let other = try NoteSigner.generate(name: "audit.example.com/log")
        let checkpoint = Checkpoint(
            origin: "audit.example.com/log", treeSize: 12345, root: SHA256Hash(hex: String(repeating: "5a", count: 32))!
        )
        let signed = try signer.sign(checkpoint.text)
        #expect(
            signed.hasPrefix(
                "audit.example.com/log\n12345\nWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n\n— audit.example.com/log "
            ))
        let note = try SignedNote(signed)
        #expect(try Checkpoint(note.text) == checkpoint)
        #expect(note.isSigned(by: signer.verifierKey))
        #expect(!note.isSigned(by: other.verifierKey))
        // Keys survive their text forms.
        let reparsed = try NoteSigner(signer.privateKeyText)
        #expect(reparsed.verifierKey == signer.verifierKey)
        #expect(try NoteVerifierKey(signer.verifierKey.description) == signer.verifierKey)
        #expect(try SignedNote(try reparsed.sign(checkpoint.text)).isSigned(by: signer.verifierKey))
    }

    @Test func keysWhoseBase64HoldsPlusSignsParse() throws {
        // '+' separates the vkey fields and also occurs in base64: generate until a key has one.
        var seen = 0
        for _ in 0..<400 where seen < 5 {
            let signer = try NoteSigner.generate(name: "log")
            guard
                signer.verifierKey.description.dropFirst(13).contains("+")
                    || signer.privateKeyText.dropFirst(25).contains("+")
            else { continue }
            seen += 1
            #expect(try NoteVerifierKey(signer.verifierKey.description) == signer.verifierKey)
            #expect(try NoteSigner(signer.privateKeyText).verifierKey == signer.verifierKey)
        }
        #expect(seen == 5)
    }

    @Test func malformedKeysAndNotesAreRefused() {
        for text in [
            "", "name+12345678", "name+zzzzzzzz+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            #expect(throws: AuditLogError.self) { _ = try NoteVerifierKey(text) }
        }
        for text in ["no signatures\n", "text\n\nnot a signature\n", "text\n\n— name !!!\n"] {
            #expect(throws: AuditLogError.self) { _ = try SignedNote(text) }
        }
        #expect(throws: AuditLogError.self) { _ = try Checkpoint("origin\n01\nAAAA\n") }
    }

    @Test func base64RoundTripsAndIsStrict() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.decode("Zm9=") == nil)
        #expect(Base64.decode("Zm9") == nil)
        #expect(Base64.decode("Z!==") == nil)
    }
}
