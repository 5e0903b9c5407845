/// Writes JSON text into byte buffers: the one writer that event JSON, exports, proofs and reports share, so
/// that strings are escaped the same way everywhere (FORMAT.md, "Canonical JSON").
package enum JSONWriter {
    /// Appends `string` as a JSON string literal: `"` and `\` escaped, control characters as `\n`-style or
    /// `\u00XX` escapes, everything else as raw UTF-8.
    package static func appendString(_ string: String, to out: inout some ByteOutput) {
        var s = string
        s.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends valid UTF-8 `bytes` as a JSON string, escaping only what JSON requires. Written in place (room
    /// for the worst case, every byte a six-byte escape, is made once); runs of eight bytes without anything to
    /// escape, nearly all text, are copied as one word.
    package static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout some ByteOutput) {
        let n = bytes.count
        // Room for the worst case, every byte a six-byte escape, and for a word stored past the end.
        out.append(capacity: 6 * n + 2 + 8) { p in
            p[0] = UInt8(ascii: "\"")
            var o = 1
            var i = 0
            while i + 8 <= n {
                let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if !mayNeedEscaping(UInt64(littleEndian: word)) {
                    UnsafeMutableRawPointer(p + o).storeBytes(of: word, as: UInt64.self)
                    o += 8
                    i += 8
                    continue
                }
                for k in i..<i + 8 { o += storeEscaped(bytes[k], at: p + o) }
                i += 8
            }
            let rest = n - i
            if rest > 0 {
                // The last bytes in the low end of a word padded with spaces (nothing to escape): stored whole
                // when none of them needs escaping, the padding then not counted.
                var last: UInt64
                if n >= 8 {
                    last = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
                    last >>= 8 * UInt64(8 - rest)
                } else {
                    last = 0
                    for k in 0..<rest { last |= UInt64(bytes[k]) << (8 * UInt64(k)) }
                }
                last |= 0x2020_2020_2020_2020 << (8 * UInt64(rest))
                if !mayNeedEscaping(last) {
                    UnsafeMutableRawPointer(p + o).storeBytes(of: UInt64(littleEndian: last), as: UInt64.self)
                    o += rest
                } else {
                    for k in i..<n { o += storeEscaped(bytes[k], at: p + o) }
                }
            }
            p[o] = UInt8(ascii: "\"")
            return o + 1
        }
    }

    /// Stores `c`, escaped if JSON requires it, at `p`; returns the bytes stored (1, 2 or 6).
    @inline(__always)
    private static func storeEscaped(_ c: UInt8, at p: UnsafeMutablePointer<UInt8>) -> Int {
        guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else {
            p[0] = c
            return 1
        }
        p[0] = UInt8(ascii: "\\")
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): p[1] = c
        case 0x08: p[1] = UInt8(ascii: "b")
        case 0x0C: p[1] = UInt8(ascii: "f")
        case 0x0A: p[1] = UInt8(ascii: "n")
        case 0x0D: p[1] = UInt8(ascii: "r")
        case 0x09: p[1] = UInt8(ascii: "t")
        default:
            p[1] = UInt8(ascii: "u")
            p[2] = UInt8(ascii: "0")
            p[3] = UInt8(ascii: "0")
            p[4] = HexDigits.digit(c >> 4)
            p[5] = HexDigits.digit(c & 0xF)
            return 6
        }
        return 2
    }

    /// Whether any of the eight bytes of `word` is a control character, `"` or `\` (may be true for other bytes
    /// too, never false for those).
    @inline(__always)
    static func mayNeedEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // A byte below 0x20 (bytes of 0x80 and more, UTF-8 beyond ASCII, are left out by `& ~word`).
        let control = (word &- ones &* 0x20) & ~word & highs
        // A byte equal to `"` or `\`: zero after the XOR.
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let equal = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash) & highs
        return control | equal != 0
    }

    /// Appends `"name":`, with a comma first when `comma` is true, in one append.
    @inline(__always)
    package static func appendKey(_ name: StaticString, comma: Bool = false, to out: inout some ByteOutput) {
        let length = name.utf8CodeUnitCount
        out.append(capacity: length + 4) { p in
            var i = 0
            if comma {
                p[0] = UInt8(ascii: ",")
                i = 1
            }
            p[i] = UInt8(ascii: "\"")
            (p + i + 1).update(from: name.utf8Start, count: length)
            p[i + 1 + length] = UInt8(ascii: "\"")
            p[i + 2 + length] = UInt8(ascii: ":")
            return i + 3 + length
        }
    }

    /// Appends `,"name":"value"` (no comma first when `comma` is false); nothing when `value` is nil.
    package static func appendMember(
        _ name: StaticString, _ value: String?, comma: Bool = true, to out: inout some ByteOutput
    ) {
        guard let value else { return }
        appendKey(name, comma: comma, to: &out)
        appendString(value, to: &out)
    }

    /// Appends an unsigned integer in decimal, two digits at a time.
    package static func appendDecimal(_ value: UInt64, to out: inout some ByteOutput) {
        out.append(capacity: 20) { DecimalDigits.store(value, at: $0) }
    }

    /// Appends a signed integer in decimal.
    package static func appendDecimal(_ value: Int64, to out: inout some ByteOutput) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude, to: &out)
    }

    /// Appends `"YYYY-MM-DDTHH:MM:SS.mmmZ"`.
    package static func appendTimestamp(milliseconds: Int64, to out: inout some ByteOutput) {
        out.append(capacity: 26) { p in
            p[0] = UInt8(ascii: "\"")
            RFC3339.store(milliseconds: milliseconds, at: p + 1)
            p[25] = UInt8(ascii: "\"")
            return 26
        }
    }

    /// Appends a hash as a quoted string of 64 lowercase hex digits.
    package static func appendHash(_ hash: SHA256Hash, to out: inout some ByteOutput) {
        out.append(capacity: 66) { p in
            p[0] = UInt8(ascii: "\"")
            hash.withUnsafeBytes { HexDigits.store($0, at: p + 1) }
            p[65] = UInt8(ascii: "\"")
            return 66
        }
    }
}
