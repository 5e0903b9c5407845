/// A strict RFC 8259 JSON scanner over UTF-8 bytes, built for the ingest path (Foundation's parsers reach
/// ~40 MB/s on these events; the JSONL target is 150 MB/s).
///
/// It reads event fields straight into Swift values and copies nested values (`before`, `after`,
/// `metadata`) into their canonical text form (see ``JSONText``) without building a tree.
struct JSONScanner {
    struct SyntaxError: Error {
        var reason: String
        var offset: Int
    }

    let bytes: UnsafeRawBufferPointer
    var position = 0
    let maxDepth: Int
    /// The keys of the objects being copied (``copyCanonicalValue(into:depth:)``), as ranges of its output.
    var keyRanges: [Range<Int>] = []

    init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    @inline(__always)
    mutating func skipWhitespace() {
        // Compact JSON has none: one comparison.
        if position < bytes.count && bytes[position] > 0x20 { return }
        while position < bytes.count {
            let c = bytes[position]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            position += 1
        }
    }

    /// The next non-whitespace byte, not consumed; nil at the end.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    func error(_ reason: String) -> SyntaxError {
        SyntaxError(reason: reason, offset: position)
    }

    /// Describes the byte at the current position for "expected X, found Y" messages.
    func found() -> String {
        guard position < bytes.count else { return "end of input" }
        switch bytes[position] {
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        case let c where c >= 0x20 && c < 0x7F: return "'\(Character(Unicode.Scalar(c)))'"
        case let c: return "byte 0x\(String(c, radix: 16))"
        }
    }

    @inline(__always)
    mutating func consume(_ c: UInt8) -> Bool {
        if peek() == c {
            position += 1
            return true
        }
        return false
    }

    @inline(__always)
    mutating func expect(_ c: UInt8, _ what: StaticString) throws(SyntaxError) {
        // The byte usually comes at once, without whitespace.
        if position < bytes.count && bytes[position] == c {
            position += 1
            return
        }
        guard consume(c) else { throw error("expected \(what), found \(found())") }
    }

    /// Consumes `null` if it comes next.
    mutating func consumeNull() throws(SyntaxError) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    mutating func literal(_ word: StaticString) throws(SyntaxError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
            memcmp(bytes.baseAddress! + position, word.utf8Start, count) == 0
        else { throw error("invalid literal") }
        position += count
    }

    // MARK: Strings

    /// Reads a string value. The caller has checked that a `"` comes next.
    mutating func readString() throws(SyntaxError) -> String {
        var out: [UInt8] = []
        try readString(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads a string value, appending its unescaped UTF-8 to `out`. The caller has checked that a `"` comes next.
    mutating func readString(into out: inout some ByteOutput) throws(SyntaxError) {
        position += 1
        let start = position
        // Fast path: no escapes, so the bytes between the quotes are the string.
        let run = plainRun()
        if run.end < bytes.count, bytes[run.end] == UInt8(ascii: "\"") {
            let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<run.end])
            guard run.ascii || UTF8Validator.isValid(slice) else {
                throw SyntaxError(reason: "string is not valid UTF-8", offset: start)
            }
            out.append(bytes: slice)
            position = run.end + 1
            return
        }
        position = start
        let mark = out.count
        try readStringSlow(into: &out)
        guard out.withUnsafeBytes({ UTF8Validator.isValid(UnsafeRawBufferPointer(rebasing: $0[mark...])) }) else {
            throw SyntaxError(reason: "string is not valid UTF-8", offset: start)
        }
    }

    /// Where the run of bytes from `position` on that need no escaping ends: at the first `"`, `\\` or control
    /// character, or at the end of input; and whether the run is all ASCII (then it needs no UTF-8 check). Eight
    /// bytes at a time.
    @inline(__always)
    func plainRun() -> (end: Int, ascii: Bool) {
        var i = position
        let n = bytes.count
        var high: UInt64 = 0
        while i + 8 <= n {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if JSONWriter.mayNeedEscaping(word) { break }
            high |= word
            i += 8
        }
        while i < n {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
            high |= UInt64(c)
            i += 1
        }
        return (i, high & 0x8080_8080_8080_8080 == 0)
    }

    /// Reads a key of at most 16 bytes of plain ASCII (no escapes), the usual case, as its bytes packed into two
    /// little-endian words and its length; nil, with nothing consumed, for any other key. The caller has checked
    /// that a `"` comes next.
    @inline(__always)
    mutating func readShortKey() -> (UInt64, UInt64, Int)? {
        let start = position + 1
        if start + 16 <= bytes.count {
            // Eight bytes at a time: the closing quote, and nothing before it that a short plain key lacks.
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            let words = (
                UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self)),
                UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
            )
            @inline(__always) func quotes(_ w: UInt64) -> UInt64 {
                let x = w ^ (ones &* 0x22)
                return (x &- ones) & ~x & highs
            }
            @inline(__always) func specials(_ w: UInt64) -> UInt64 {
                let x = w ^ (ones &* 0x5C)
                return ((x &- ones) & ~x | (w &- ones &* 0x20) | w) & highs
            }
            let q0 = quotes(words.0)
            let count: Int
            var low = words.0
            var high: UInt64 = 0
            if q0 != 0 {
                count = q0.trailingZeroBitCount / 8
                let mask: UInt64 = count == 0 ? 0 : ~0 >> (64 - 8 * UInt64(count))
                guard specials(words.0) & mask & highs == 0 else { return nil }
                low &= mask
            } else {
                let q1 = quotes(words.1)
                guard q1 != 0 else { return nil }
                count = 8 + q1.trailingZeroBitCount / 8
                let mask: UInt64 = count == 8 ? 0 : ~0 >> (64 - 8 * UInt64(count - 8))
                guard specials(words.0) == 0, specials(words.1) & mask & highs == 0 else { return nil }
                high = words.1 & mask
            }
            position = start + count + 1
            return (low, high, count)
        }
        let limit = Swift.min(bytes.count, start + 17)
        var end = start
        while end < limit {
            let c = bytes[end]
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { return nil }
            end += 1
        }
        guard end < limit else { return nil }
        let count = end - start
        var low: UInt64 = 0
        var high: UInt64 = 0
        if start + 16 <= bytes.count {
            low = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self))
            high = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
            if count < 8 {
                low &= (1 << (8 * UInt64(count))) - 1
                high = 0
            } else if count < 16 {
                high &= (1 << (8 * UInt64(count - 8))) - 1
            }
        } else {
            for i in 0..<count {
                let byte = UInt64(bytes[start + i])
                if i < 8 { low |= byte << (8 * UInt64(i)) } else { high |= byte << (8 * UInt64(i - 8)) }
            }
        }
        position = end + 1
        return (low, high, count)
    }

    /// Reads an object key and passes its UTF-8 bytes to `body` without creating a string when the key has no
    /// escapes (the usual case). The caller has checked that a `"` comes next.
    mutating func readKey<T>(_ body: (UnsafeRawBufferPointer) -> T) throws(SyntaxError) -> T {
        let start = position + 1
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                position = i + 1
                return body(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
            }
            if c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { break }
            i += 1
        }
        var key = try readString()
        return key.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes string content after the opening quote (escapes resolved) into `out`, consuming the closing quote.
    mutating func readStringSlow(into out: inout some ByteOutput) throws(SyntaxError) {
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let c = bytes[position]
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw error("unterminated string") }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                            bytes[position + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw error("unpaired UTF-16 surrogate in \\u escape")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("unpaired UTF-16 surrogate in \\u escape")
                    }
                    appendUTF8(scalar, to: &out)
                default:
                    throw error("invalid escape sequence")
                }
            default:
                if c < 0x20 { throw error("control character in string (escape it)") }
                out.append(c)
            }
        }
    }

    private mutating func hex4() throws(SyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = hexValue(bytes[position]) else { throw error("invalid \\u escape") }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    // MARK: Numbers

    /// Validates a number and returns its byte range (the literal is kept as written).
    mutating func readNumber() throws(SyntaxError) -> Range<Int> {
        let start = position
        func digit() -> Bool {
            position < bytes.count && bytes[position] >= UInt8(ascii: "0") && bytes[position] <= UInt8(ascii: "9")
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard digit() else { throw error("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if digit() { throw error("invalid number (leading zero)") }
        } else {
            while digit() { position += 1 }
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digit() else { throw error("invalid number") }
            while digit() { position += 1 }
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-"))
            {
                position += 1
            }
            guard digit() else { throw error("invalid number") }
            while digit() { position += 1 }
        }
        return start..<position
    }

    /// Reads an integer without fraction or exponent; nil if the number has either or does not fit 64 bits.
    /// Reads a number whose value is a whole number: plain digits, or a fraction or exponent form with a whole
    /// value (`75.0`, `1.5e3`; JSON Schema counts them as integers) up to 2^53.
    mutating func readInteger() throws(SyntaxError) -> Int64? {
        let range = try readNumber()
        var value: Int64 = 0
        var negative = false
        for i in range {
            let c = bytes[i]
            if c == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                guard let double = Double(text), double.isFinite, double == double.rounded(.towardZero),
                    abs(double) <= 9_007_199_254_740_992
                else { return nil }
                return Int64(double)
            }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = a
        }
        return negative ? -value : value
    }
}

private func appendUTF8(_ scalar: UInt32, to out: inout some ByteOutput) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | (scalar >> 6)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | (scalar >> 12)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        out.append(UInt8(0xF0 | (scalar >> 18)))
        out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}

#if canImport(Glibc)
    import Glibc
#endif
