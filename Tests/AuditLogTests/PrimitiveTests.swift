import AuditLogSampleData
import AuditLogTestSupport
import CLZ4
import CLZ4Decode
import Testing

@testable import AuditLog

@Suite("Checksums and primitives")
struct PrimitiveTests {
    /// JSON string escaping (which looks at eight bytes at a time) against a plain byte-by-byte escaper, with the
    /// characters that need escaping at every position around the eight-byte steps.
    @Test func jsonStringEscapingMatchesAPlainEscaper() {
        func plain(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for c in bytes {
                switch c {
                case 0x22: out += Array(#"\""#.utf8)
                case 0x5C: out += Array(#"\\"#.utf8)
                case 0x08: out += Array(#"\b"#.utf8)
                case 0x0C: out += Array(#"\f"#.utf8)
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case ..<0x20: out += Array(#"\u00"#.utf8) + Array(String(Int(c) | 0x100, radix: 16).utf8.suffix(2))
                default: out.append(c)
                }
            }
            return out + [0x22]
        }
        // Every byte value that can stand alone in UTF-8, and multi-byte characters (bytes of 0x80 and more).
        let pieces: [[UInt8]] = (0..<0x80).map { [UInt8($0)] } + ["é", "😀", "ü", "\u{7F}"].map { Array($0.utf8) }
        var random = SplitMix64(seed: 5)
        for length in 0..<40 {
            for _ in 0..<200 {
                var bytes: [UInt8] = []
                while bytes.count < length {
                    // Mostly plain letters, so that runs with nothing to escape are long enough to be skipped.
                    bytes += random.next() % 4 == 0 ? pieces[Int(random.next() % UInt64(pieces.count))] : [0x61]
                }
                var out: [UInt8] = []
                bytes.withUnsafeBytes { JSONWriter.appendString($0, to: &out) }
                #expect(out == plain(bytes), "\(bytes)")
            }
        }
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        // 32 zero bytes (RFC 3720 B.4).
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func crc32cCanContinueAcrossChunks() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let whole = CRC32C.checksum(data)
        let first = data[..<333].withUnsafeBytes { CRC32C.checksum($0) }
        let both = data[333...].withUnsafeBytes { CRC32C.checksum($0, continuing: first) }
        #expect(both == whole)
    }

    /// The hardware kernel cuts inputs of 768 bytes and more into three lanes (3 x 256 or 3 x 2,048 bytes) and
    /// joins their CRCs: lengths around each cut, at every alignment of the start, against the table-driven code.
    @Test func hardwareAndSoftwareCRC32CAgree() {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<(64 << 10) + 64).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var lengths = [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4097, 64 << 10]
        for cut in [768, 6144, 6144 + 768, 2 * 6144, 10 * 6144 + 3 * 768] {
            lengths += [cut - 9, cut - 1, cut, cut + 1, cut + 13]
        }
        lengths += (0..<40).map { _ in Int.random(in: 0...(64 << 10), using: &rng) }
        bytes.withUnsafeBytes { all in
            for length in lengths {
                let start = Int.random(in: 0...63, using: &rng)
                let raw = UnsafeRawBufferPointer(rebasing: all[start..<start + length])
                let seed = UInt32.random(in: 0...UInt32.max, using: &rng)
                #expect(
                    CRC32C.checksum(raw, continuing: seed) == CRC32C.softwareChecksum(raw, continuing: seed),
                    "length \(length) from \(start)")
            }
        }
        #if arch(x86_64)
            #expect(CRC32C.hardwareAvailable, "x86-64 CPUs have SSE4.2: the hardware kernel must be the one compared")
        #endif
        Array("123456789".utf8).withUnsafeBytes { #expect(CRC32C.softwareChecksum($0) == 0xE306_9283) }
    }

    @Test func sha256OfAbcMatchesFIPS180() throws {
        let hasher = try SHA256Hasher()
        let digest = Array("abc".utf8).withUnsafeBytes { hasher.hash($0) }
        #expect(digest.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func lz4RoundTripsAndRefusesGarbage() {
        let input = Array(String(repeating: "audit event payload ", count: 200).utf8)
        var compressed = [UInt8](repeating: 0, count: LZ4.compressBound(input.count))
        let n = input.withUnsafeBytes { src in compressed.withUnsafeMutableBytes { LZ4.compress(src, into: $0) } }
        let count = try! #require(n)
        #expect(count < input.count / 5)
        var output = [UInt8](repeating: 0, count: input.count)
        let ok = compressed[..<count].withUnsafeBytes { src in
            output.withUnsafeMutableBytes { LZ4.decompress(src, into: $0) }
        }
        #expect(ok && output == input)
        let garbage: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x00]
        let bad = garbage.withUnsafeBytes { src in output.withUnsafeMutableBytes { LZ4.decompress(src, into: $0) } }
        #expect(!bad)
    }

    /// The prefix decoder (`Sources/CLZ4Decode`) against liblz4's whole decoder: on real streams of JSON-like,
    /// repetitive and random data its prefixes are the input's; on mutated streams it never reads or writes out of
    /// bounds (the buffers are exact), and whenever both decoders accept a stream it gives liblz4's bytes; an
    /// offset-0 match is refused before the prefix and the block read whole instead.
    @Test func lz4PrefixDecoderAgreesWithLiblz4() {
        var rng = SplitMix64(seed: 77)
        func text(_ kind: Int, _ count: Int) -> [UInt8] {
            switch kind {
            case 0:  // JSON-like records
                var out: [UInt8] = []
                while out.count < count {
                    let n = rng.next() % 500
                    out += Array(
                        #"{"actor":{"id":"user_\#(n)","type":"user"},"action":"prompt.update","n":\#(rng.next() % 7)}"#
                            .utf8)
                }
                return Array(out.prefix(count))
            case 1: return (0..<count).map { UInt8(truncatingIfNeeded: $0 % Int(1 + rng.next() % 9)) }  // short periods
            default: return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }  // incompressible
            }
        }
        func compress(_ input: [UInt8]) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: LZ4.compressBound(input.count))
            let n = input.withUnsafeBytes { src in out.withUnsafeMutableBytes { LZ4.compress(src, into: $0) } }!
            return Array(out[..<n])
        }
        func prefix(_ stream: [UInt8], _ target: Int, capacity: Int) -> [UInt8]? {
            var out = [UInt8](repeating: 0xAA, count: capacity)
            let n = stream.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { LZ4.decompress(src, prefix: target, into: $0) }
            }
            return n.map { Array(out[..<$0]) }
        }
        func whole(_ stream: [UInt8], capacity: Int) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: capacity)
            let ok = stream.withUnsafeBytes { src in out.withUnsafeMutableBytes { LZ4.decompress(src, into: $0) } }
            return ok ? out : nil
        }
        var agreed = 0
        for trial in 0..<600 {
            let input = text(trial % 3, 1 + Int(rng.next() % 20_000))
            let stream = compress(input)
            for _ in 0..<4 {
                let target = 1 + Int(rng.next() % UInt64(input.count))
                let got = prefix(stream, target, capacity: input.count)
                let same = got.map { $0.prefix(target).elementsEqual(input.prefix(target)) } ?? false
                #expect(same, "trial \(trial): the first \(target) of \(input.count) bytes differ")
            }
            // Mutations: a few bytes changed anywhere, or the stream cut.
            var mutated = stream
            if trial % 5 == 4 {
                mutated = Array(stream.prefix(Int(rng.next() % UInt64(stream.count))))
            } else {
                for _ in 0..<(1 + rng.next() % 3) where !mutated.isEmpty {
                    mutated[Int(rng.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            let target = 1 + Int(rng.next() % UInt64(input.count))
            if let p = prefix(mutated, target, capacity: input.count), let w = whole(mutated, capacity: input.count) {
                #expect(p.elementsEqual(w.prefix(p.count)), "mutated trial \(trial): the prefix decoder differs")
                agreed += 1
            }
        }
        #expect(agreed > 50)
        // 4 literals "abcd", then a match of 4 at offset 0, then the last literals: refused by the prefix decoder,
        // so the block is read whole (liblz4, on a zeroed buffer); the answer is the whole read's.
        let offsetZero: [UInt8] = [0x40] + Array("abcd".utf8) + [0x00, 0x00] + [0x50] + Array("efghi".utf8)
        let viaPrefix = prefix(offsetZero, 5, capacity: 13)
        #expect(viaPrefix == whole(offsetZero, capacity: 13))
        let direct = offsetZero.withUnsafeBytes { src in
            var out = [UInt8](repeating: 0, count: 13)
            return out.withUnsafeMutableBytes {
                auditlog_lz4_decode_prefix(
                    src.baseAddress!.assumingMemoryBound(to: UInt8.self), src.count,
                    $0.baseAddress!.assumingMemoryBound(to: UInt8.self), 13, 5)
            }
        }
        #expect(direct == Int64(AUDITLOG_LZ4_OFFSET_ZERO))
    }

    /// The frame decoder of format version 2 (`auditlog_lz4_decode_with_dictionary`) against liblz4's
    /// `LZ4_decompress_safe_usingDict`: frames compressed against dictionaries of 0 to 64 KiB (``LZ4Dictionary``,
    /// whose state each frame copies) decode to their input; mutated frames are refused or decode as liblz4 does;
    /// an offset-0 match, a match reaching past the dictionary, a short or long output and bytes after the last
    /// sequence are refused.
    @Test func lz4DictionaryDecoderAgreesWithLiblz4() {
        var rng = SplitMix64(seed: 78)
        func records(_ count: Int) -> [UInt8] {
            var out: [UInt8] = []
            while out.count < count {
                out += Array(
                    #"{"actor":{"id":"user_\#(rng.next() % 500)","type":"user"},"action":"prompt.update","ip":"10.\#(rng.next() % 256).1.\#(rng.next() % 256)"}"#
                        .utf8)
            }
            return Array(out.prefix(count))
        }
        func ours(_ frame: [UInt8], _ dictionary: [UInt8], size: Int) -> [UInt8]? {
            var out = [UInt8](repeating: 0xAA, count: size)
            let ok = frame.withUnsafeBytes { src in
                dictionary.withUnsafeBytes { dict in
                    out.withUnsafeMutableBytes { LZ4.decompress(src, dictionary: dict, into: $0) }
                }
            }
            return ok ? out : nil
        }
        func liblz4(_ frame: [UInt8], _ dictionary: [UInt8], size: Int) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: size)
            let n = frame.withUnsafeBytes { src in
                dictionary.withUnsafeBytes { dict in
                    out.withUnsafeMutableBytes {
                        LZ4_decompress_safe_usingDict(
                            src.baseAddress!.assumingMemoryBound(to: CChar.self),
                            $0.baseAddress!.assumingMemoryBound(to: CChar.self),
                            Int32(src.count), Int32(size), dict.baseAddress?.assumingMemoryBound(to: CChar.self),
                            Int32(dict.count))
                    }
                }
            }
            return n == Int32(size) ? out : nil
        }
        let scratch = LZ4Dictionary.Scratch()
        var agreed = 0
        var usedDictionary = 0
        for trial in 0..<300 {
            let dictionaryBytes = records([0, 100, 4096, 65_536, 90_000][trial % 5])
            let dictionary = dictionaryBytes.withUnsafeBytes { LZ4Dictionary(payload: $0) }
            let kept = Array(dictionary.bytes)
            #expect(kept == Array(dictionaryBytes.suffix(65_536)))
            let input = records(1 + Int(rng.next() % 6000))
            var out = [UInt8](repeating: 0, count: LZ4.compressBound(input.count))
            let n = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dictionary.compress(src, into: $0, scratch: scratch) }
            }
            let frame = Array(out[..<n!])
            #expect(ours(frame, kept, size: input.count) == input, "trial \(trial)")
            // A prefix (what a query needs of the frame holding its record) is the input's.
            let target = 1 + Int(rng.next() % UInt64(input.count))
            var prefix = [UInt8](repeating: 0xAA, count: input.count)
            let prefixOK = frame.withUnsafeBytes { src in
                kept.withUnsafeBytes { dict in
                    prefix.withUnsafeMutableBytes { LZ4.decompress(src, dictionary: dict, into: $0, prefix: target) }
                }
            }
            #expect(prefixOK && prefix[..<target] == input[..<target], "trial \(trial): prefix of \(target)")
            #expect(liblz4(frame, kept, size: input.count) == input)
            // Against a dictionary, a frame refers to it: smaller than alone, and it does not decode without it.
            var alone = [UInt8](repeating: 0, count: LZ4.compressBound(input.count))
            let m = input.withUnsafeBytes { src in alone.withUnsafeMutableBytes { LZ4.compress(src, into: $0) } }!
            if kept.count >= 4096 && input.count > 500 && frame.count < m && ours(frame, [], size: input.count) == nil {
                usedDictionary += 1
            }

            var mutated = frame
            for _ in 0..<(1 + rng.next() % 3) {
                mutated[Int(rng.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if let a = ours(mutated, kept, size: input.count) {
                #expect(a == liblz4(mutated, kept, size: input.count), "mutated trial \(trial): the decoders differ")
                agreed += 1
            }
            // The output size must be exact, and nothing may follow the last sequence.
            #expect(ours(frame, kept, size: input.count + 1) == nil)
            if input.count > 1 { #expect(ours(frame, kept, size: input.count - 1) == nil) }
            #expect(ours(frame + [0], kept, size: input.count) == nil)
        }
        #expect(usedDictionary > 80)
        #expect(agreed > 0)
        // A match of 4 at offset 0, and one reaching 3 bytes before a 2-byte dictionary: refused.
        let offsetZero: [UInt8] = [0x40] + Array("abcd".utf8) + [0x00, 0x00] + [0x50] + Array("efghi".utf8)
        #expect(ours(offsetZero, [], size: 13) == nil)
        let pastDictionary: [UInt8] = [0x00, 0x03, 0x00] + [0x50] + Array("efghi".utf8)
        #expect(ours(pastDictionary, Array("xy".utf8), size: 9) == nil)
        #expect(ours(pastDictionary, Array("xyz".utf8), size: 9) == Array("xyzxefghi".utf8))
    }

    /// A mapped file's part is asked for once, then again only when the kernel may have dropped it (``AskedParts``):
    /// each part keeps its own time, and of racing callers exactly one asks.
    @Test func mappedPartsAreAskedForAgainOnceStale() async {
        let parts = AskedParts(count: 3)
        let t: UInt32 = 1_000
        #expect(parts.shouldAsk(1, now: t))
        #expect(!parts.shouldAsk(1, now: t))
        #expect(!parts.shouldAsk(1, now: t + AskedParts.fresh - 1))
        #expect(parts.shouldAsk(2, now: t + 1))
        #expect(parts.shouldAsk(1, now: t + AskedParts.fresh))
        #expect(!parts.shouldAsk(1, now: t + AskedParts.fresh + 1))
        #expect(!parts.shouldAsk(2, now: t + AskedParts.fresh))
        #expect(parts.shouldAsk(0, now: AskedParts.now()))
        let askers = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<1_000).filter { parts.shouldAsk(2, now: t + 100 + UInt32($0 / 500) * 50) }.count }
            }
            return await group.reduce(0, +)
        }
        #expect(askers == 2)  // one at t + 100, one at t + 150, however the tasks interleave
    }

    @Test func varintsAreMinimalAndRoundTrip() throws {
        for value: UInt64 in [0, 1, 127, 128, 300, 16383, 16384, UInt64(UInt32.max), .max] {
            var bytes: [UInt8] = []
            bytes.appendVarint(value)
            #expect(bytes.count == varintSize(value))
            let decoded = try bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                return try r.readVarint("value")
            }
            #expect(decoded == value)
        }
        // 0x80 0x00 encodes 0 in two bytes: refused.
        #expect(throws: DecodeFailure.self) {
            try [UInt8]([0x80, 0x00]).withUnsafeBytes { raw in
                var r = ByteReader(raw)
                _ = try r.readVarint("value")
            }
        }
    }

    @Test func byteSearchFindsEveryOccurrenceANaiveSearchFinds() {
        var rng = SplitMix64(seed: 42)
        var hits: [Range<Int>] = []
        for round in 0..<400 {
            // A small alphabet, so that needles occur often, overlap and sit at both ends.
            let haystack = (0..<Int(rng.next() % 300)).map { _ in UInt8(ascii: "a") + UInt8(rng.next() % 3) }
            let needles = (0..<Int(1 + rng.next() % 3)).map { _ in
                (0..<Int(1 + rng.next() % 20)).map { _ in UInt8(ascii: "a") + UInt8(rng.next() % 3) }
            }
            var expected: [Range<Int>] = []
            for needle in needles where needle.count <= haystack.count {
                for i in 0...(haystack.count - needle.count) where haystack[i..<i + needle.count].elementsEqual(needle)
                {
                    expected.append(i..<i + needle.count)
                }
            }
            haystack.withUnsafeBytes { ByteSearch.occurrences(of: needles, in: $0, into: &hits) }
            #expect(hits.map(\.lowerBound) == hits.map(\.lowerBound).sorted(), "round \(round)")
            #expect(
                hits.sorted { ($0.lowerBound, $0.upperBound) < ($1.lowerBound, $1.upperBound) }
                    == expected.sorted { ($0.lowerBound, $0.upperBound) < ($1.lowerBound, $1.upperBound) },
                "round \(round)")
        }
    }
}
