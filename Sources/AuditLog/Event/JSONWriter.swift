/// Writes JSON text into byte buffers: the one writer that event JSON, exports, proofs and reports share, so
/// that strings are escaped the same way everywhere (FORMAT.md, "Canonical JSON").
package enum JSONWriter {
    /// Appends `string` as a JSON string literal: `"` and `\` escaped, control characters as `\n`-style or
    /// `\u00XX` escapes, everything else as raw UTF-8.
    package static func appendString(_ string: String, to out: inout [UInt8]) {
        var s = string
        s.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends valid UTF-8 `bytes` as a JSON string, escaping only what JSON requires. Runs without anything to
    /// escape, nearly all text, are found eight bytes at a time and copied whole.
    package static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendString(bytes: bytes, to: &out)
    }

    static func appendString(bytes: UnsafeRawBufferPointer, to out: inout some ByteOutput) {
        let utf8 = bytes.assumingMemoryBound(to: UInt8.self)
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        while i < utf8.count {
            if i + 8 <= utf8.count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if !mayNeedEscaping(word) {
                    i += 8
                    continue
                }
            }
            let c = utf8[i]
            i += 1
            guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
            out.append(bytes: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i - 1]))
            runStart = i
            appendEscape(c, to: &out)
        }
        out.append(bytes: UnsafeRawBufferPointer(rebasing: bytes[runStart..<utf8.count]))
        out.append(UInt8(ascii: "\""))
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

    private static func appendEscape(_ c: UInt8, to out: inout some ByteOutput) {
        switch c {
        case UInt8(ascii: "\""): out.append(#"\""#)
        case UInt8(ascii: "\\"): out.append(#"\\"#)
        case 0x08: out.append(#"\b"#)
        case 0x0C: out.append(#"\f"#)
        case 0x0A: out.append(#"\n"#)
        case 0x0D: out.append(#"\r"#)
        case 0x09: out.append(#"\t"#)
        default:
            out.append(#"\u00"#)
            out.append(hexDigits[Int(c >> 4)])
            out.append(hexDigits[Int(c & 0xF)])
        }
    }

    /// Appends `"name":`, with a comma first when `comma` is true, in one append.
    package static func appendKey(_ name: StaticString, comma: Bool = false, to out: inout [UInt8]) {
        let length = name.utf8CodeUnitCount
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length + 4) { buffer in
            var i = 0
            if comma {
                buffer[0] = UInt8(ascii: ",")
                i = 1
            }
            buffer[i] = UInt8(ascii: "\"")
            UnsafeMutableRawPointer(buffer.baseAddress! + i + 1).copyMemory(from: name.utf8Start, byteCount: length)
            buffer[i + 1 + length] = UInt8(ascii: "\"")
            buffer[i + 2 + length] = UInt8(ascii: ":")
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<(i + 3 + length)]))
        }
    }

    /// Appends `,"name":"value"` (no comma first when `comma` is false); nothing when `value` is nil.
    package static func appendMember(_ name: StaticString, _ value: String?, comma: Bool = true, to out: inout [UInt8]) {
        guard let value else { return }
        if comma { out.append(UInt8(ascii: ",")) }
        appendKey(name, to: &out)
        appendString(value, to: &out)
    }

    /// Appends an unsigned integer in decimal.
    package static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var v = value
            var i = 20
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i...]))
        }
    }

    /// Appends a signed integer in decimal.
    package static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude, to: &out)
    }

    /// Appends `"YYYY-MM-DDTHH:MM:SS.mmmZ"`.
    package static func appendTimestamp(milliseconds: Int64, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        RFC3339.append(milliseconds: milliseconds, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// Appends a hash as a quoted string of 64 lowercase hex digits.
    package static func appendHash(_ hash: SHA256Hash, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        hash.appendHex(to: &out)
        out.append(UInt8(ascii: "\""))
    }
}
