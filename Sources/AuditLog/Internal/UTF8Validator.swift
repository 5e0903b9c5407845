/// UTF-8 validation and string creation for the hot paths (JSON scanning, record decoding).
///
/// `String(validating:as:)` spends most of its time in generic-metadata lookups when called from here
/// (ingest profile, `perf record` on `auditlog ingest`: 29% of the time); this validator is plain code with an
/// ASCII fast path, and `String(decoding:as:)` on an already valid buffer is cheap.
enum UTF8Validator {
    /// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
    @inline(__always)
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        isASCII(bytes) || isValidBeyondASCII(bytes)
    }

    /// Whether every byte is below 0x80: the words of the text OR-ed together (the last one overlapping), the
    /// common case of short identifiers checked without a loop per byte.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        let highs: UInt64 = 0x8080_8080_8080_8080
        guard n >= 8 else {
            var any: UInt8 = 0
            for byte in bytes { any |= byte }
            return any < 0x80
        }
        var any: UInt64 = bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        var i = 0
        while i + 8 <= n {
            any |= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        return any & highs == 0
    }

    private static func isValidBeyondASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let n = bytes.count
        var i = 0
        @inline(__always) func continuation(_ k: Int) -> Bool {
            k < n && base.load(fromByteOffset: k, as: UInt8.self) & 0xC0 == 0x80
        }
        while i < n {
            while i + 8 <= n && base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
            }
            guard i < n else { return true }
            let b0 = base.load(fromByteOffset: i, as: UInt8.self)
            switch b0 {
            case 0x00..<0x80:
                i += 1
            case 0xC2..<0xE0:
                guard continuation(i + 1) else { return false }
                i += 2
            case 0xE0..<0xF0:
                guard i + 2 < n, continuation(i + 2) else { return false }
                let b1 = base.load(fromByteOffset: i + 1, as: UInt8.self)
                let low: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
                let high: UInt8 = b0 == 0xED ? 0x9F : 0xBF
                guard b1 >= low && b1 <= high else { return false }
                i += 3
            case 0xF0..<0xF5:
                guard i + 3 < n, continuation(i + 2), continuation(i + 3) else { return false }
                let b1 = base.load(fromByteOffset: i + 1, as: UInt8.self)
                let low: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
                guard b1 >= low && b1 <= high else { return false }
                i += 4
            default:
                return false
            }
        }
        return true
    }

    /// A string of `bytes` if they are valid UTF-8.
    @inline(__always)
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard isValid(bytes) else { return nil }
        return string(trusted: bytes)
    }

    /// A string of bytes already known to be valid UTF-8.
    @inline(__always)
    static func string(trusted bytes: UnsafeRawBufferPointer) -> String {
        guard let base = bytes.baseAddress else { return "" }
        return String(
            decoding: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count),
            as: UTF8.self)
    }
}
