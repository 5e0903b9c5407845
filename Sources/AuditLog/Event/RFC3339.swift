/// RFC 3339 date-times <-> milliseconds since the Unix epoch (UTC, proleptic Gregorian calendar). The public face
/// is ``Timestamp``; the record codec and the exporters use these directly on raw milliseconds.
enum RFC3339 {
    /// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`, always UTC with three fraction digits.
    static func format(milliseconds: Int64) -> String {
        var bytes = [UInt8]()
        append(milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Milliseconds RFC 3339 can write: years 0000 through 9999.
    static let representable: ClosedRange<Int64> = -62_167_219_200_000...253_402_300_799_999

    /// Appends the RFC 3339 form. Values outside ``representable`` (which validation and the record decoder
    /// refuse) are clamped to it rather than trapping.
    static func append(milliseconds: Int64, to out: inout some ByteOutput) {
        out.append(capacity: length) { p in
            store(milliseconds: milliseconds, at: p)
            return length
        }
    }

    /// Bytes of the form ``append(milliseconds:to:)`` writes.
    static let length = 24

    /// Stores the ``length`` bytes of the RFC 3339 form at `p`.
    @inline(__always)
    static func store(milliseconds value: Int64, at p: UnsafeMutablePointer<UInt8>) {
        let milliseconds = min(max(value, representable.lowerBound), representable.upperBound)
        let ms = Int(milliseconds.floorMod(1000))
        let seconds = milliseconds.floorDiv(1000)
        let days = seconds.floorDiv(86_400)
        let secondOfDay = Int(seconds.floorMod(86_400))
        let (year, month, day) = civil(fromDays: days)
        let y = Int(year)
        DecimalDigits.storePair(y / 100, at: p)
        DecimalDigits.storePair(y % 100, at: p + 2)
        p[4] = UInt8(ascii: "-")
        DecimalDigits.storePair(month, at: p + 5)
        p[7] = UInt8(ascii: "-")
        DecimalDigits.storePair(day, at: p + 8)
        p[10] = UInt8(ascii: "T")
        DecimalDigits.storePair(secondOfDay / 3600, at: p + 11)
        p[13] = UInt8(ascii: ":")
        DecimalDigits.storePair(secondOfDay / 60 % 60, at: p + 14)
        p[16] = UInt8(ascii: ":")
        DecimalDigits.storePair(secondOfDay % 60, at: p + 17)
        p[19] = UInt8(ascii: ".")
        p[20] = UInt8(ascii: "0") + UInt8(ms / 100)
        DecimalDigits.storePair(ms % 100, at: p + 21)
        p[23] = UInt8(ascii: "Z")
    }

    /// Parses an RFC 3339 date-time (`2026-11-22T03:13:33.123Z`, `…+02:00`); digits past milliseconds are
    /// truncated. Returns nil, with no partial result, for anything else.
    static func parse(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    static func parse(_ s: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        func number(_ count: Int) -> Int? {
            guard i + count <= s.count else { return nil }
            var value = 0
            for _ in 0..<count {
                let c = s[i]
                guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(c - UInt8(ascii: "0"))
                i += 1
            }
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < s.count && s[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
            let day = number(2)
        else { return nil }
        guard i < s.count, s[i] == UInt8(ascii: "T") || s[i] == UInt8(ascii: "t") || s[i] == UInt8(ascii: " ")
        else { return nil }
        i += 1
        guard let hour = number(2), expect(UInt8(ascii: ":")), let minute = number(2), expect(UInt8(ascii: ":")),
            let second = number(2)
        else { return nil }
        var ms = 0
        if i < s.count && s[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < s.count && s[i] >= UInt8(ascii: "0") && s[i] <= UInt8(ascii: "9") {
                if digits < 3 { ms = ms * 10 + Int(s[i] - UInt8(ascii: "0")) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { ms *= 10 }
        }
        guard i < s.count else { return nil }
        var offsetMinutes = 0
        switch s[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = s[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = number(2), expect(UInt8(ascii: ":")), let om = number(2), oh < 24, om < 60 else {
                return nil
            }
            offsetMinutes = sign * (oh * 60 + om)
        default:
            return nil
        }
        guard i == s.count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60,
            second < 60
        else { return nil }
        let days = self.days(fromCivil: Int64(year), month, day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(ms)
    }

    /// Parses a calendar date `YYYY-MM-DD` to the milliseconds of its first instant (UTC).
    static func parseDate(_ text: String) -> Int64? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 10, utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-") else { return nil }
        guard let year = Int(text.prefix(4)), let month = Int(text.dropFirst(5).prefix(2)),
            let day = Int(text.suffix(2)), (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        return days(fromCivil: Int64(year), month, day) * 86_400_000
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    private static func days(fromCivil year: Int64, _ month: Int, _ day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDiv(400)
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int, Int) {
        let z = days + 719_468
        let era = z.floorDiv(146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }

    fileprivate func floorMod(_ d: Int64) -> Int64 { self - floorDiv(d) * d }
}
