/// An instant, to the millisecond, as audit events record it: milliseconds since the Unix epoch, UTC.
///
/// Written as RFC 3339 with three fraction digits, always UTC (`2026-11-22T03:13:33.123Z`). Arithmetic with
/// `Duration` keeps whole milliseconds (finer parts are truncated toward zero).
///
/// ```swift
/// let since = Timestamp.now - .seconds(7 * 86_400)
/// let parsed = Timestamp(rfc3339: "2026-11-22T03:13:33.123+01:00")   // 2026-11-22T02:13:33.123Z
/// ```
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// Parses an RFC 3339 date-time (`2026-11-22T03:13:33.123Z`, offsets such as `+02:00` allowed); digits past
    /// milliseconds are truncated. Nil for anything else.
    public init?(rfc3339 text: String) {
        guard let milliseconds = RFC3339.parse(text) else { return nil }
        millisecondsSinceEpoch = milliseconds
    }

    /// The first instant (00:00:00.000 UTC) of a calendar date written `YYYY-MM-DD`. Nil for anything else.
    public init?(date text: String) {
        guard let milliseconds = RFC3339.parseDate(text) else { return nil }
        millisecondsSinceEpoch = milliseconds
    }

    /// The current time (the system's real-time clock).
    public static var now: Timestamp { Timestamp(millisecondsSinceEpoch: currentTimeMilliseconds()) }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`. Instants outside years 0000–9999 are written as the nearest one inside.
    public var rfc3339: String { RFC3339.format(milliseconds: millisecondsSinceEpoch) }

    public var description: String { rfc3339 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }

    public static func + (a: Timestamp, b: Duration) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: a.millisecondsSinceEpoch &+ b.wholeMilliseconds)
    }

    public static func - (a: Timestamp, b: Duration) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: a.millisecondsSinceEpoch &- b.wholeMilliseconds)
    }

    /// The time from `b` to `a`.
    public static func - (a: Timestamp, b: Timestamp) -> Duration {
        .milliseconds(a.millisecondsSinceEpoch &- b.millisecondsSinceEpoch)
    }
}

extension Duration {
    /// Parses a whole number and a unit: `500ms`, `90s`, `30m`, `24h`, `7d`, `2w`, `1y` (365 days), as the
    /// `auditlog` options and the HTTP API write durations. Nil for anything else.
    public init?(parsing text: String) {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int64(digits) else { return nil }
        let milliseconds: Int64
        switch text.dropFirst(digits.count) {
        case "ms": milliseconds = 1
        case "s": milliseconds = 1000
        case "m": milliseconds = 60_000
        case "h": milliseconds = 3_600_000
        case "d": milliseconds = 86_400_000
        case "w": milliseconds = 7 * 86_400_000
        case "y": milliseconds = 365 * 86_400_000
        default: return nil
        }
        let (total, overflow) = value.multipliedReportingOverflow(by: milliseconds)
        guard !overflow else { return nil }
        self = .milliseconds(total)
    }

    /// The duration in whole milliseconds, truncated toward zero and clamped to `Int64`.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        return ms &+ attoseconds / 1_000_000_000_000_000
    }
}
