import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

@Suite("Timestamps")
struct TimestampTests {
    @Test func parsesRFC3339Forms() {
        #expect(RFC3339.parse("2026-11-22T03:13:33.123Z") == 1_795_317_213_123)
        #expect(RFC3339.parse("2026-11-22T05:13:33.123+02:00") == 1_795_317_213_123)
        #expect(RFC3339.parse("2026-11-22t03:13:33.1z") == 1_795_317_213_100)
        #expect(RFC3339.parse("2026-11-22T03:13:33.123999Z") == 1_795_317_213_123)  // truncated to ms
        #expect(RFC3339.parse("2026-11-22T03:13:33Z") == 1_795_317_213_000)
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parse("2023-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("2026-11-22T03:13:33") == nil)
        #expect(RFC3339.parse("2026-11-22T24:00:00Z") == nil)
        #expect(RFC3339.parse("2026-11-22T03:13:60Z") == nil)
        #expect(RFC3339.parse("2026-11-22") == nil)
        #expect(RFC3339.parse("2026-11-22T03:13:33.Z") == nil)
    }

    @Test func formatAndParseAreInverse() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let ms = Int64.random(in: 0...253_402_300_799_999, using: &rng)
            let text = RFC3339.format(milliseconds: ms)
            #expect(text.count == 24)
            #expect(RFC3339.parse(text) == ms, "\(text)")
        }
        #expect(RFC3339.format(milliseconds: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }

    @Test func parsesCalendarDates() {
        #expect(RFC3339.parseDate("2026-11-22") == 1_795_305_600_000)
        #expect(RFC3339.parseDate("2026-13-01") == nil)
    }
}
