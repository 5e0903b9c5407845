/// Syntax checks for the `ip` field. The text is stored as given, so it round-trips exactly.
enum IPAddress {
    static func isValid(_ text: String) -> Bool {
        text.contains(":") ? isValidIPv6(Array(text.utf8)[...]) : isValidIPv4(Array(text.utf8)[...])
    }

    /// Dotted quad, four decimal parts 0–255 without leading zeros.
    static func isValidIPv4(_ s: ArraySlice<UInt8>) -> Bool {
        let parts = s.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
            if part.count > 1 && part.first == UInt8(ascii: "0") { return false }
            guard part.reduce(0, { $0 * 10 + Int($1 - 48) }) <= 255 else { return false }
        }
        return true
    }

    /// RFC 4291 text form: eight groups of 1–4 hex digits, at most one `::`, optionally ending in an IPv4 quad.
    static func isValidIPv6(_ s: ArraySlice<UInt8>) -> Bool {
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
                i = s.endIndex
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
