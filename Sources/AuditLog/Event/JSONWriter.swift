/// Writes JSON text into byte buffers: the one writer that event JSON, exports, proofs and reports share, so
/// that strings are escaped the same way everywhere (FORMAT.md, "Canonical JSON").
package enum JSONWriter {
    /// Appends `string` as a JSON string literal: `"` and `\` escaped, control characters as `\n`-style or
    /// `\u00XX` escapes, everything else as raw UTF-8.
    package static func appendString(_ string: String, to out: inout [UInt8]) {
        var s = string
        s.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends valid UTF-8 `bytes` as a JSON string, escaping only what JSON requires.
    package static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let utf8 = bytes.assumingMemoryBound(to: UInt8.self)
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        for i in 0..<utf8.count {
            let c = utf8[i]
            guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
            runStart = i + 1
            out.append(UInt8(ascii: "\\"))
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(c)
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                out.append(contentsOf: "u00".utf8)
                out.append(hexDigits[Int(c >> 4)])
                out.append(hexDigits[Int(c & 0xF)])
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `"name":`.
    package static func appendKey(_ name: StaticString, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
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
