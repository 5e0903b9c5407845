/// Decimal and hexadecimal digits written from tables, two at a time, for the writers on hot paths (exports,
/// event JSON): a constant string's bytes, with neither the lazy initialization nor the bounds checks of an array.
enum DecimalDigits {
    /// "00" through "99".
    private static let pairs: StaticString = """
        000102030405060708091011121314151617181920212223242526272829303132333435363738394041424344454647\
        484950515253545556575859606162636465666768697071727374757677787980818283848586878889909192939495\
        96979899
        """

    /// Stores the two digits of `value` (0 through 99) at `p`.
    @inline(__always)
    static func storePair(_ value: Int, at p: UnsafeMutablePointer<UInt8>) {
        let pair = UnsafeRawPointer(pairs.utf8Start).loadUnaligned(fromByteOffset: 2 * value, as: UInt16.self)
        UnsafeMutableRawPointer(p).storeBytes(of: pair, as: UInt16.self)
    }

    /// Stores `value` in decimal at `p` (at most 20 digits); returns the number of digits.
    @inline(__always)
    static func store(_ value: UInt64, at p: UnsafeMutablePointer<UInt8>) -> Int {
        var digits = 1
        var v = value
        while v >= 10 {
            v /= 10
            digits += 1
        }
        v = value
        var i = digits
        while v >= 100 {
            let pair = Int(v % 100)
            v /= 100
            i -= 2
            storePair(pair, at: p + i)
        }
        if v >= 10 {
            storePair(Int(v), at: p)
        } else {
            p[0] = UInt8(ascii: "0") + UInt8(v)
        }
        return digits
    }
}

enum HexDigits {
    /// "00" through "ff".
    private static let pairs: StaticString = """
        000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\
        303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\
        606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f\
        909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
        c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef\
        f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
        """

    /// The lowercase hex digit of `value` (0 through 15).
    @inline(__always)
    static func digit(_ value: UInt8) -> UInt8 {
        UnsafeRawPointer(pairs.utf8Start).load(fromByteOffset: 2 * Int(value) + 1, as: UInt8.self)
    }

    /// Stores the lowercase hex digits of `bytes`, two per byte, at `p`.
    @inline(__always)
    static func store(_ bytes: UnsafeRawBufferPointer, at p: UnsafeMutablePointer<UInt8>) {
        let table = UnsafeRawPointer(pairs.utf8Start)
        let out = UnsafeMutableRawPointer(p)
        for i in 0..<bytes.count {
            let pair = table.loadUnaligned(fromByteOffset: 2 * Int(bytes[i]), as: UInt16.self)
            out.storeBytes(of: pair, toByteOffset: 2 * i, as: UInt16.self)
        }
    }
}
