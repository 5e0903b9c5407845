import CCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every block, footer and segment
/// header (FORMAT.md, "Checksums"). Uses the CPU's crc32 instruction where there is one (checksums were ~30% of
/// a query's time with the table-driven code, `perf record` of `auditlog query --repeat`), else slicing-by-8.
enum CRC32C {
    static let hardwareAvailable = auditlog_crc32c_hw_available() == 1

    /// The CRC-32C of `bytes`, continuing from `crc` (the CRC of the bytes before them; 0 to start).
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard hardwareAvailable, let base = bytes.baseAddress else { return softwareChecksum(bytes, continuing: crc) }
        return auditlog_crc32c_hw(crc, base, bytes.count)
    }

    private static let tables: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            table[i] = crc
        }
        for i in 0..<256 {
            var crc = table[i]
            for slice in 1..<8 {
                crc = table[Int(crc & 0xFF)] ^ (crc >> 8)
                table[slice * 256 + i] = crc
            }
        }
        return table
    }()

    /// The table-driven CRC-32C, for CPUs without the instruction (and to cross-check it in tests).
    static func softwareChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard var p = bytes.baseAddress else { return crc }
        var remaining = bytes.count
        var c = ~crc
        tables.withUnsafeBufferPointer { t in
            while remaining >= 8 {
                let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(c)
                c =
                    t[7 * 256 + Int(word & 0xFF)] ^ t[6 * 256 + Int((word >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((word >> 16) & 0xFF)] ^ t[4 * 256 + Int((word >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((word >> 32) & 0xFF)] ^ t[2 * 256 + Int((word >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((word >> 48) & 0xFF)] ^ t[Int(word >> 56)]
                p += 8
                remaining -= 8
            }
            while remaining > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                remaining -= 1
            }
        }
        return ~c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
