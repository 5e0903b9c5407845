/// Syntax checks for the `ip` field. The text is stored as given, so it round-trips exactly.
enum IPAddress {
    static func isValid(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { isValid(UnsafeRawBufferPointer($0)) }
    }

    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let utf8 = bytes.assumingMemoryBound(to: UInt8.self)
        return utf8.contains(UInt8(ascii: ":")) ? isValidIPv6(utf8[...]) : isValidIPv4(utf8[...])
    }

    /// Dotted quad, four decimal parts 0–255 without leading zeros.
    static func isValidIPv4(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var parts = 0
        var i = s.startIndex
        while parts < 4 {
            let start = i
            var value = 0
            while i < s.endIndex && s[i] >= UInt8(ascii: "0") && s[i] <= UInt8(ascii: "9") && i - start < 3 {
                value = value * 10 + Int(s[i] - UInt8(ascii: "0"))
                i += 1
            }
            let digits = i - start
            guard digits > 0, value <= 255, digits == 1 || s[start] != UInt8(ascii: "0") else { return false }
            parts += 1
            if parts == 4 { break }
            guard i < s.endIndex && s[i] == UInt8(ascii: ".") else { return false }
            i += 1
        }
        return i == s.endIndex
    }

    /// RFC 4291 text form: eight groups of 1–4 hex digits, at most one `::`, optionally ending in an IPv4 quad.
    static func isValidIPv6(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard s.count >= 2, s.count <= 45 else { return false }
        var groups = 0
        var sawDoubleColon = false
        var i = s.startIndex
        if s[i] == UInt8(ascii: ":") {
            guard s[i + 1] == UInt8(ascii: ":") else { return false }
            sawDoubleColon = true
            i += 2
            if i == s.endIndex { return true }
        }
        while i < s.endIndex {
            var j = i
            while j < s.endIndex && hexValue(s[j]) != nil { j += 1 }
            if j < s.endIndex && s[j] == UInt8(ascii: ".") {
                // An embedded IPv4 address must be the last 32 bits.
                guard isValidIPv4(s[i...]) else { return false }
                groups += 2
                break
            }
            guard (1...4).contains(j - i) else { return false }
            groups += 1
            i = j
            if i == s.endIndex { break }
            guard s[i] == UInt8(ascii: ":") else { return false }
            i += 1
            if i < s.endIndex && s[i] == UInt8(ascii: ":") {
                guard !sawDoubleColon else { return false }
                sawDoubleColon = true
                i += 1
                if i == s.endIndex { break }
            } else if i == s.endIndex {
                return false
            }
        }
        return sawDoubleColon ? groups <= 7 : groups == 8
    }
}
