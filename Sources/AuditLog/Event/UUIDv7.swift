/// UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so generated ids sort by time.
package enum UUIDv7 {
    package static func generate(milliseconds: Int64) -> String {
        var bytes = (try? SecureRandom.bytes(16)) ?? [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, milliseconds))
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
            text.append(HexDigits.digit(byte >> 4))
            text.append(HexDigits.digit(byte & 0xF))
        }
        return String(decoding: text, as: UTF8.self)
    }
}
