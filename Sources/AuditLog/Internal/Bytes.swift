#if canImport(Glibc)
    import Glibc
#endif

// Little-endian integers and LEB128 varints, appended to byte arrays and read from buffers.
// FORMAT.md, "Conventions", defines both encodings.

extension ByteOutput {
    @inline(__always)
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(bytes: $0) }
    }

    /// Appends `value` as an unsigned LEB128 varint (7 bits per byte, least significant first).
    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }
}

extension Array where Element == UInt8 {

    /// Appends a varint byte count followed by the UTF-8 bytes of `string`.
    @inline(__always)
    mutating func appendLengthPrefixed(_ string: String) {
        var s = string
        s.withUTF8 { utf8 in
            appendVarint(UInt64(utf8.count))
            append(contentsOf: utf8)
        }
    }

    /// Appends raw bytes with one copy (`append(contentsOf:)` of a raw buffer goes element by element).
    @inline(__always)
    package mutating func append(bytes: UnsafeRawBufferPointer) {
        append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// Overwrites the little-endian integer at `offset`.
    @inline(__always)
    mutating func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }
}

/// Number of bytes of the varint encoding of `value`.
@inline(__always)
func varintSize(_ value: UInt64) -> Int {
    var v = value
    var n = 1
    while v >= 0x80 {
        v >>= 7
        n += 1
    }
    return n
}

/// Why a buffer could not be decoded, and where.
struct DecodeFailure: Error {
    enum Kind: Equatable {
        /// The bytes break the format.
        case malformed
        /// The bytes carry a format version this library does not read.
        case unsupportedVersion
    }

    var reason: String
    var offset: Int
    var kind = Kind.malformed

    init(reason: String, offset: Int, kind: Kind = .malformed) {
        self.reason = reason
        self.offset = offset
        self.kind = kind
    }
}

/// A bounds-checked reader over a byte buffer. Every read past the end throws; nothing traps.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var position: Int

    init(_ buffer: UnsafeRawBufferPointer, position: Int = 0) {
        self.buffer = buffer
        self.position = position
    }

    var remaining: Int { buffer.count - position }
    var isAtEnd: Bool { position >= buffer.count }

    @inline(__always)
    private func need(_ count: Int, _ what: StaticString) throws(DecodeFailure) {
        if count > buffer.count - position {
            throw DecodeFailure(reason: "truncated \(what)", offset: position)
        }
    }

    @inline(__always)
    mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type, _ what: StaticString) throws(DecodeFailure) -> T {
        try need(MemoryLayout<T>.size, what)
        let value = T(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return value
    }

    @inline(__always)
    mutating func readByte(_ what: StaticString) throws(DecodeFailure) -> UInt8 {
        try need(1, what)
        let value = buffer[position]
        position += 1
        return value
    }

    /// Reads a LEB128 varint and insists on its shortest encoding, so every value has exactly one encoding.
    @inline(__always)
    mutating func readVarint(_ what: StaticString) throws(DecodeFailure) -> UInt64 {
        // One byte, the usual case (lengths under 128).
        if position < buffer.count, buffer[position] < 0x80 {
            position += 1
            return UInt64(buffer[position - 1])
        }
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < buffer.count else { throw DecodeFailure(reason: "truncated \(what)", offset: start) }
            let byte = buffer[position]
            position += 1
            if shift == 63 && byte > 1 { throw DecodeFailure(reason: "\(what) overflows 64 bits", offset: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 {
                    throw DecodeFailure(reason: "\(what) is not minimally encoded", offset: start)
                }
                return result
            }
            shift += 7
        }
    }

    @inline(__always)
    mutating func readBytes(_ count: Int, _ what: StaticString) throws(DecodeFailure) -> UnsafeRawBufferPointer {
        try need(count, what)
        let slice = UnsafeRawBufferPointer(start: buffer.baseAddress.map { $0 + position }, count: count)
        position += count
        return slice
    }

    /// Reads a varint length and that many bytes.
    mutating func readLengthPrefixed(_ what: StaticString) throws(DecodeFailure) -> UnsafeRawBufferPointer {
        let start = position
        let length = try readVarint(what)
        guard length <= UInt64(remaining) else { throw DecodeFailure(reason: "truncated \(what)", offset: start) }
        return try readBytes(Int(length), what)
    }

    /// Reads a varint length and that many bytes of valid UTF-8.
    mutating func readString(_ what: StaticString) throws(DecodeFailure) -> String {
        let start = position
        let bytes = try readLengthPrefixed(what)
        guard let string = UTF8Validator.string(bytes) else {
            throw DecodeFailure(reason: "\(what) is not valid UTF-8", offset: start)
        }
        return string
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes are those of `literal`.
    @inline(__always)
    func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && (count == 0 || memcmp(baseAddress!, literal.utf8Start, count) == 0)
    }

    /// Whether these bytes are `other`'s.
    @inline(__always)
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        count == other.count && (count == 0 || memcmp(baseAddress!, other.baseAddress!, count) == 0)
    }
}
